#!/usr/bin/env node
// Builds the browser bundle of wirecable/client with esbuild:
//   dist/browser/wirecable-client.min.js      IIFE, global `WirecableClient` (a <script> tag)
//   dist/browser/wirecable-client.esm.min.js  ESM (<script type="module"> / import)
// platform "browser" makes any `node:*` import a build error: src/client must stay isomorphic.
// Prints the minified and gzipped sizes (docs/client.md quotes them).
import { mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const outdir = join(root, "dist", "browser");
mkdirSync(outdir, { recursive: true });

const common = {
  entryPoints: [join(root, "src", "client", "index.ts")],
  bundle: true,
  minify: true,
  platform: "browser",
  // ES2022: class private fields and methods natively (Chrome 94, Firefox 93, Safari 15.4).
  target: ["es2022"],
  legalComments: "none",
  logLevel: "warning",
};

const outputs = [
  { file: "wirecable-client.min.js", format: "iife", globalName: "WirecableClient" },
  { file: "wirecable-client.esm.min.js", format: "esm" },
];

for (const { file, ...options } of outputs) {
  const outfile = join(outdir, file);
  await build({ ...common, ...options, outfile });
  const bytes = readFileSync(outfile);
  const gz = gzipSync(bytes, { level: 9 }).length;
  console.log(
    `${file}: ${bytes.length} bytes minified (${(bytes.length / 1024).toFixed(1)} KiB), ${gz} bytes gzipped (${(gz / 1024).toFixed(1)} KiB)`,
  );
}
