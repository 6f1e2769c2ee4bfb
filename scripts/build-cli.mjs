#!/usr/bin/env node
// Bundles the command line (src/cli/index.ts) into dist/cli/index.js with esbuild, so that the
// published package has no runtime dependencies while `npx wirecable ...` still works from the
// tarball alone:
//   - commander, pino, prom-client and the broker clients (ioredis, pg: src/cli/bundled-peers.ts)
//     are inside the bundle; their license notices go to dist/cli/THIRD_PARTY_LICENSES.md;
//   - the library itself (src/node, src/channels, src/client, src/protocol) stays external: the
//     bundle imports dist/'s own modules, so the CLI runs exactly the code library users get;
//   - split into chunks: what a command imports lazily (the demo server, pino, prom-client, the
//     broker clients) is its own file (dist/cli/chunk-*.js), loaded when that command runs, so
//     `wirecable echo` holds no more heap than the library does (a bigger heap makes each of the
//     mark-compacts that 1 MiB messages trigger cost more: +50% CPU per message when `echo` held
//     every command's code);
//   - not minified, no source map: stack traces read as code.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const src = join(root, "src");
const outfile = join(root, "dist", "cli", "index.js");
const LIBRARY = /^(node|channels|client|protocol)\//;

/** Relative imports that leave src/cli for the library become imports of dist/'s modules. */
const libraryExternal = {
  name: "library-external",
  setup(b) {
    b.onResolve({ filter: /^\.\.?\// }, (args) => {
      const target = relative(src, resolve(args.resolveDir, args.path)).split(sep).join("/");
      if (!LIBRARY.test(target)) return undefined;
      return { path: `../${target}`, external: true };
    });
  },
};

const result = await build({
  entryPoints: [join(src, "cli", "index.ts")],
  outdir: dirname(outfile),
  entryNames: "[name]",
  // in dist/cli itself: the library imports (../node/index.js...) are relative to it
  chunkNames: "[name]-[hash]",
  splitting: true,
  bundle: true,
  format: "esm",
  platform: "node",
  target: ["node20"],
  // pg loads pg-native only when asked for it (pg.native); never here.
  external: ["pg-native"],
  plugins: [libraryExternal],
  // Bundled CommonJS packages call require() for node: built-ins; ESM has none of its own (every
  // chunk is a module of its own and gets this line).
  banner: {
    js: 'import { createRequire as __wirecableRequire } from "node:module";\nconst require = __wirecableRequire(import.meta.url);',
  },
  legalComments: "none",
  metafile: true,
  logLevel: "warning",
});

/** Every package (name@version, license, its notice) whose code is in the bundle. */
const packages = new Map();
for (const input of Object.keys(result.metafile.inputs)) {
  const m = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
  if (m === null) continue;
  const dir = join(root, input.slice(0, m.index + m[0].length));
  if (packages.has(dir)) continue;
  const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  packages.set(dir, {
    name: pkg.name,
    version: pkg.version,
    license: typeof pkg.license === "string" ? pkg.license : JSON.stringify(pkg.license ?? "unknown"),
    text: licenseText(dir),
  });
}
const sorted = [...packages.values()].sort((a, b) => a.name.localeCompare(b.name));
const missing = sorted.filter((p) => p.text === undefined);
if (missing.length > 0) {
  console.error(`build-cli: no license text found for ${missing.map((p) => p.name).join(", ")}`);
  process.exit(1);
}
const lines = [
  "# Third-party software in dist/cli/index.js",
  "",
  "The wirecable command line is bundled with the following packages (`npm run build`,",
  "scripts/build-cli.mjs). Their licenses follow.",
  "",
];
for (const p of sorted) {
  lines.push(`## ${p.name}@${p.version} (${p.license})`, "");
  lines.push(p.text, "");
}
writeFileSync(join(root, "dist", "cli", "THIRD_PARTY_LICENSES.md"), lines.join("\n"));
const size = readFileSync(outfile).length;
const chunks = readdirSync(dirname(outfile)).filter((f) => f.endsWith(".js") && f !== "index.js").length;
console.log(
  `cli: dist/cli/index.js ${size} bytes + ${chunks} chunks, ${sorted.length} bundled packages (licenses: dist/cli/THIRD_PARTY_LICENSES.md)`,
);

/** The package's LICENSE (or COPYING, NOTICE) file; else the License section of its README (pg-types, pgpass). */
function licenseText(dir) {
  const files = readdirSync(dir);
  const notice = files.find((f) => /^(licen[cs]e|copying|notice)(\.|$)/i.test(f));
  if (notice !== undefined) return readFileSync(join(dir, notice), "utf8").trim();
  const readme = files.find((f) => /^readme(\.|$)/i.test(f));
  if (readme === undefined) return undefined;
  const m = /^#+ *licen[cs]e *\n([\s\S]*?)(?=^#+ |(?![\s\S]))/im.exec(readFileSync(join(dir, readme), "utf8"));
  return m === null || m[1].trim() === "" ? undefined : m[1].trim();
}
