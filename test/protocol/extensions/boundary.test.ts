/**
 * src/protocol/extensions stays pure: no node:* import, nothing outside src/protocol, no regular
 * expressions in header-value parsing (the compressor is injected, see deflate-codec.ts).
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, it } from "node:test";

const dir = resolve(import.meta.dirname, "../../../src/protocol/extensions");
const files = readdirSync(dir).filter((f) => f.endsWith(".ts"));

describe("src/protocol/extensions boundary", () => {
  it("has files to check", () => {
    assert.ok(files.length >= 3);
  });
  for (const file of files) {
    it(`${file}: imports only ../ and ./ modules of src/protocol, no node:*, no regex`, () => {
      const source = readFileSync(join(dir, file), "utf8");
      for (const m of source.matchAll(/from\s+"([^"]+)"/g)) {
        const spec = m[1]!;
        assert.ok(spec.startsWith("./") || (spec.startsWith("../") && !spec.startsWith("../../")), `${file}: ${spec}`);
      }
      assert.doesNotMatch(source, /\bimport\(|require\(/, `${file}: dynamic import`);
      assert.doesNotMatch(source, /new RegExp|\.test\(|\.match\(|\.replace\(\//, `${file}: regex use`);
    });
  }
});
