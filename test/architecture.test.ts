/**
 * The layering rules of docs/DEVELOPING.md, checked on the sources:
 * - src/protocol (the sans-I/O engine) imports nothing from node:* and nothing outside itself;
 * - src/client (bundled for browsers) imports nothing from node:*;
 * - src/channels knows nothing of frames: it does not import the engine's frame modules;
 * - the engine and the Node layer have no runtime dependencies (no bare package imports).
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { test } from "node:test";

const root = resolve(import.meta.dirname, "..");

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (name.endsWith(".ts")) out.push(p);
  }
  return out;
}

/** Every module specifier imported or re-exported by a file (static and dynamic). */
function imports(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const found: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"\n;]*?from\s*["']([^"']+)["']/g)) found.push(m[1]!);
  for (const m of text.matchAll(/(?:^|\n)\s*import\s*["']([^"']+)["']/g)) found.push(m[1]!);
  for (const m of text.matchAll(/import\(\s*["']([^"']+)["']\s*\)/g)) found.push(m[1]!);
  return found;
}

function violations(dir: string, bad: (spec: string, file: string) => boolean): string[] {
  const out: string[] = [];
  for (const file of sources(join(root, dir))) {
    for (const spec of imports(file)) if (bad(spec, file)) out.push(`${relative(root, file)} imports ${spec}`);
  }
  return out;
}

test("the protocol engine is sans-I/O: no node:* and nothing outside src/protocol", () => {
  const found = violations("src/protocol", (spec, file) => {
    if (spec.startsWith("node:")) return true;
    if (!spec.startsWith(".")) return true; // no runtime dependencies
    return !resolve(join(file, ".."), spec).startsWith(join(root, "src/protocol"));
  });
  assert.deepEqual(found, []);
});

test("the reconnecting client is browser-safe: no node:* imports", () => {
  assert.deepEqual(
    violations("src/client", (spec) => spec.startsWith("node:")),
    [],
  );
});

test("the Node layer has no runtime dependencies beyond node:* and our own modules", () => {
  assert.deepEqual(
    violations("src/node", (spec) => !spec.startsWith("node:") && !spec.startsWith(".")),
    [],
  );
});

test("channels know nothing of frames: no frame-level engine modules", () => {
  const frameModules = ["frame-parser", "frame-encoder", "frame-sender", "mask", "engine"];
  assert.deepEqual(
    violations("src/channels", (spec) => frameModules.some((m) => spec.endsWith(`/protocol/${m}.js`))),
    [],
  );
});
