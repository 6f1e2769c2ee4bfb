// header-tokens latin1/fromLatin1: the ASCII fast path (TextEncoder) and the Latin-1 byte loop
// must give the same bytes as a per-code-unit encode, for ASCII, obs-text and cons strings.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { fromLatin1, latin1 } from "../../../src/protocol/handshake/header-tokens.js";

const reference = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

describe("header-tokens: latin1", () => {
  it("encodes ASCII heads, obs-text and the empty string byte for byte", () => {
    const head = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n";
    for (const s of ["", "a", head, `${head}\r\n`, "caf\xe9", "\x80", `${"x".repeat(100)}\xff`, "\x7f\x00\t"]) {
      assert.deepEqual(latin1(s), reference(s), JSON.stringify(s));
    }
  });

  it("round-trips any Latin-1 string through fromLatin1", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 300 }), (codes) => {
        const s = String.fromCharCode(...codes);
        const bytes = latin1(s);
        assert.deepEqual([...bytes], codes);
        assert.equal(fromLatin1(bytes), s);
      }),
    );
  });
});
