/**
 * src/protocol/extensions parses header values without regular expressions (ReDoS), and loads
 * no module at run time (the compressor is injected, see deflate-codec.ts). What it may import is
 * the layer test's (test/architecture.test.ts).
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, it } from "node:test";

const dir = resolve(import.meta.dirname, "../../../src/protocol/extensions");
const files = readdirSync(dir).filter((f) => f.endsWith(".ts"));

describe("src/protocol/extensions: no regular expressions", () => {
  it("has files to check", () => {
    assert.ok(files.length >= 3);
  });
  for (const file of files) {
    it(`${file}: no regex, no dynamic import`, () => {
      const source = readFileSync(join(dir, file), "utf8");
      assert.doesNotMatch(source, /\bimport\(|require\(/, `${file}: dynamic import`);
      assert.doesNotMatch(source, /new RegExp|\.test\(|\.match\(|\.replace\(\//, `${file}: regex use`);
    });
  }
});
