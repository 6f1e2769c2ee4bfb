/** The head parser's strings: Latin-1 decoding at every length, the known names' table. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { decode, KNOWN_BY_LENGTH, sameLatin1 } from "../../../src/protocol/handshake/head-strings.js";

describe("head strings", () => {
  it("decode is Latin-1 at any length and offset, short (reused code arrays) and long (property)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.nat(80), (bytes, cut) => {
        const start = cut % (bytes.length + 1);
        const high = bytes.subarray(start).some((b) => b >= 0x80);
        const text = decode(bytes, start, bytes.length, high);
        assert.equal(text, Buffer.from(bytes.subarray(start)).toString("latin1"));
        assert.ok(sameLatin1(text, bytes, start, bytes.length));
      }),
    );
    // A short string decoded after another of the same length keeps its own characters.
    const first = decode(Uint8Array.from([0x61, 0x62]), 0, 2, false);
    decode(Uint8Array.from([0x79, 0x7a]), 0, 2, false);
    assert.equal(first, "ab");
  });

  it("sameLatin1 tells a different length or byte apart", () => {
    const bytes = Uint8Array.from([0x48, 0x6f, 0x73, 0x74]);
    assert.equal(sameLatin1("Host", bytes, 0, 4), true);
    assert.equal(sameLatin1("Hos", bytes, 0, 4), false);
    assert.equal(sameLatin1("Hosx", bytes, 0, 4), false);
  });

  it("knows each name at its length, in both spellings; secrets and keys are never reused", () => {
    const byLower = new Map(KNOWN_BY_LENGTH.flat().map((k) => [k.lower, k]));
    for (const [length, names] of KNOWN_BY_LENGTH.entries()) {
      for (const known of names ?? []) {
        assert.equal(known.canonical.length, length);
        assert.equal(known.canonical.toLowerCase(), known.lower);
        assert.equal(Buffer.from(known.lowerBytes).toString("latin1"), known.lower);
        assert.equal(Buffer.from(known.canonicalBytes).toString("latin1"), known.canonical);
      }
    }
    assert.equal(byLower.get("host")?.reuse, true);
    for (const name of ["sec-websocket-key", "cookie", "authorization"]) assert.equal(byLower.get(name)?.reuse, false);
  });
});
