#!/usr/bin/env node
// `npm run build`: the library (tsc: dist/{protocol,node,channels,client} with declarations,
// declaration maps and source maps pointing at the shipped src/), the command line bundle
// (scripts/build-cli.mjs: dist/cli/index.js) and the demo page (scripts/build-demo.mjs).
//   --clean     (prepack) removes dist/ first, so the tarball holds only what this build made.
//   --if-stale  (the test helpers) builds only when a file under src/ is newer than the CLI
//               bundle, and runs what tsc emitted despite type errors (`npm run typecheck`
//               reports those). Run it under a lock when several processes may call it.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const ifStale = args.includes("--if-stale");

function newest(dir) {
  let t = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    t = Math.max(t, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return t;
}

if (ifStale) {
  const outputs = ["dist/cli/index.js", "dist/cli/demo/public/app.js", "dist/node/index.js"].map((f) => join(root, f));
  const built = outputs.every((f) => existsSync(f)) ? Math.min(...outputs.map((f) => statSync(f).mtimeMs)) : 0;
  if (built > newest(join(root, "src"))) process.exit(0);
}
if (args.includes("--clean")) rmSync(join(root, "dist"), { recursive: true, force: true });
const run = (...argv) => execFileSync(process.execPath, argv, { cwd: root, stdio: ifStale ? "pipe" : "inherit" });
try {
  run(join(root, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.build.json");
} catch (error) {
  if (!ifStale) process.exit(1);
  console.warn(`tsc reported errors: ${String(error.stdout ?? error).slice(0, 500)}`);
}
run(join(root, "scripts", "build-cli.mjs"));
run(join(root, "scripts", "build-demo.mjs"));
