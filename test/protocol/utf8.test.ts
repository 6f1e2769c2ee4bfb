import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { isValidUtf8, Utf8Validator } from "../../src/protocol/utf8.js";
import { fromHex } from "../helpers/bytes.js";

const fatal = new TextDecoder("utf-8", { fatal: true });
function reference(bytes: Uint8Array): boolean {
  try {
    fatal.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** Index of the first byte at which the validator fails, or -1. */
function failIndex(bytes: Uint8Array): number {
  const v = new Utf8Validator();
  for (let i = 0; i < bytes.length; i++) if (!v.push(bytes, i, i + 1)) return i;
  return -1;
}

describe("UTF-8 validation", () => {
  it("agrees with a fatal TextDecoder on random bytes and random strings", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (b) => assert.equal(isValidUtf8(b), reference(b))));
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (s) => {
        const b = new TextEncoder().encode(s);
        assert.equal(isValidUtf8(b), true);
      }),
    );
  });

  it("gives the same verdict however the bytes are split", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.array(fc.nat(40)), (b, cuts) => {
        const v = new Utf8Validator();
        const points = [...new Set(cuts.filter((c) => c < b.length))].sort((x, y) => x - y);
        let ok = true;
        let at = 0;
        for (const end of [...points, b.length]) {
          ok = ok && v.push(b, at, end);
          at = end;
        }
        assert.equal(ok && v.complete, reference(b));
      }),
    );
  });

  it("fails fast at the first byte that can never become valid (Autobahn 6.x)", () => {
    const cases: Array<[string, number]> = [
      ["c0 80", 0], // overlong lead C0
      ["c1 bf", 0],
      ["f5 80 80 80", 0], // F5-FF never used
      ["ff", 0],
      ["80", 0], // lone continuation
      ["e0 80 80", 1], // overlong 3-byte: E0 needs A0-BF
      ["ed a0 80", 1], // surrogate D800
      ["f0 80 80 80", 1], // overlong 4-byte
      ["f4 90 80 80", 1], // above U+10FFFF
      ["ce ba e1 bd b9 cf 83 ce bc ce b5 f4 90 80 80 65 64 69 74 65 64", 12], // Autobahn 6.4.x payload
      ["e2 82 41", 2], // truncated sequence then ASCII
    ];
    for (const [h, at] of cases) assert.equal(failIndex(fromHex(h)), at, h);
  });

  it("accepts boundary code points and reports incomplete tails", () => {
    for (const h of [
      "00",
      "7f",
      "c2 80",
      "df bf",
      "e0 a0 80",
      "ed 9f bf",
      "ee 80 80",
      "ef bf bf",
      "f0 90 80 80",
      "f4 8f bf bf",
    ]) {
      assert.equal(isValidUtf8(fromHex(h)), true, h);
    }
    const v = new Utf8Validator();
    assert.equal(v.push(fromHex("e2 82")), true);
    assert.equal(v.complete, false);
    assert.equal(v.push(fromHex("ac")), true);
    assert.equal(v.complete, true);
    assert.equal(isValidUtf8(fromHex("e2 82")), false);
  });
});
