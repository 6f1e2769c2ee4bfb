// src/client must bundle for browsers: no `node:*` import in any of its files, no import
// outside src/client and the shared wire module (src/cable) except from the Node entry
// (node.ts), and esbuild's browser build of index.ts succeeds.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, it } from "node:test";
import { build } from "esbuild";

const root = join(import.meta.dirname, "..", "..");
const clientDir = join(root, "src", "client");
const cableDir = join(root, "src", "cable");

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;

describe("src/client is isomorphic", () => {
  const files = walk(clientDir);

  it("has files to check", () => {
    assert.ok(files.length >= 10);
  });

  for (const file of files) {
    const name = relative(root, file);
    it(`${name}: no node:* import, nothing outside src/client and src/cable`, () => {
      const text = readFileSync(file, "utf8");
      for (const m of text.matchAll(IMPORT)) {
        const spec = m[1] ?? m[2]!;
        assert.ok(!spec.startsWith("node:"), `${name} imports ${spec}`);
        if (spec.startsWith(".") && !name.endsWith("src/client/node.ts")) {
          const target = join(file, "..", spec);
          assert.ok(
            target.startsWith(clientDir) || target.startsWith(cableDir),
            `${name} imports ${spec}, outside src/client and src/cable`,
          );
        }
      }
    });
  }

  it("bundles for the browser platform from index.ts", async () => {
    const result = await build({
      entryPoints: [join(clientDir, "index.ts")],
      bundle: true,
      write: false,
      platform: "browser",
      format: "esm",
      target: ["es2022"],
      logLevel: "silent",
      metafile: true,
      absWorkingDir: root,
    });
    const inputs = Object.keys(result.metafile.inputs);
    assert.ok(
      inputs.every((i) => i.startsWith("src/client/") || i.startsWith("src/cable/")),
      inputs.join(", "),
    );
    assert.ok(result.outputFiles[0]!.text.includes("actioncable-v1-json"));
  });
});
