import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";

test("src/protocol/legacy is sans-I/O: imports only relative modules inside src/protocol", () => {
  const dir = new URL("../../../src/protocol/legacy/", import.meta.url);
  const files = readdirSync(dir).filter((f) => f.endsWith(".ts"));
  assert.ok(files.length >= 8);
  let seen = 0;
  for (const file of files) {
    const source = readFileSync(new URL(file, dir), "utf8");
    for (const match of source.matchAll(/^\s*(?:import|export)[^;]*?from\s+"([^"]+)"/gms)) {
      const specifier = match[1];
      seen++;
      assert.ok(specifier.startsWith("./") || specifier.startsWith("../"), `${file} imports ${specifier}`);
      assert.ok(!specifier.startsWith("../../"), `${file} reaches outside src/protocol: ${specifier}`);
    }
    assert.doesNotMatch(source, /\brequire\(|import\(/, `${file} loads modules dynamically`);
  }
  assert.ok(seen > 20, "the import scan found the imports");
});
