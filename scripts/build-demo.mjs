#!/usr/bin/env node
// Builds the demo chat page served by `wirecable serve` into dist/cli/demo/public/:
//   app.js      src/cli/demo/web/app.ts + wirecable/client, bundled and minified by esbuild
//   index.html, style.css and favicon.svg, copied
// platform "browser" makes any node:* import a build error (the page must stay isomorphic).
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const web = join(root, "src", "cli", "demo", "web");
const outdir = join(root, "dist", "cli", "demo", "public");
mkdirSync(outdir, { recursive: true });

await build({
  entryPoints: [join(web, "app.ts")],
  outfile: join(outdir, "app.js"),
  bundle: true,
  minify: true,
  format: "iife",
  platform: "browser",
  target: ["es2022"],
  legalComments: "none",
  logLevel: "warning",
});
for (const file of ["index.html", "style.css", "favicon.svg"]) copyFileSync(join(web, file), join(outdir, file));

const app = readFileSync(join(outdir, "app.js"));
console.log(`demo page: dist/cli/demo/public/app.js ${app.length} bytes, ${gzipSync(app).length} gzipped`);
