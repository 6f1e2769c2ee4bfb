// sha1 and base64: known vectors (FIPS 180 / RFC 3174 / RFC 4648) and cross-checks against node:crypto.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import fc from "fast-check";
import { decodeBase64, encodeBase64 } from "../../../src/protocol/handshake/base64.js";
import { sha1 } from "../../../src/protocol/handshake/sha1.js";
import { hex } from "../../helpers/bytes.js";

const ascii = (s: string) => new TextEncoder().encode(s);

describe("sha1", () => {
  it("matches the FIPS 180 / RFC 3174 vectors", () => {
    assert.equal(hex(sha1(ascii(""))), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    assert.equal(hex(sha1(ascii("abc"))), "a9993e364706816aba3e25717850c26c9cd0d89d");
    assert.equal(
      hex(sha1(ascii("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))),
      "84983e441c3bd26ebaae4aa1f95129e5e54670f1",
    );
    assert.equal(hex(sha1(ascii("a".repeat(1_000_000)))), "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
    assert.equal(
      hex(sha1(ascii("The quick brown fox jumps over the lazy dog"))),
      "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12",
    );
  });

  it("agrees with node:crypto at every length around the block and padding boundaries", () => {
    for (let n = 0; n <= 200; n++) {
      const data = new Uint8Array(n);
      for (let i = 0; i < n; i++) data[i] = (i * 31 + n) & 255;
      assert.equal(hex(sha1(data)), createHash("sha1").update(data).digest("hex"), `length ${n}`);
    }
  });

  it("agrees with node:crypto on random inputs", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1000 }), (data) => {
        assert.equal(hex(sha1(data)), createHash("sha1").update(data).digest("hex"));
      }),
    );
  });
});

describe("base64", () => {
  it("matches the RFC 4648 section 10 vectors", () => {
    const vectors: Array<[string, string]> = [
      ["", ""],
      ["f", "Zg=="],
      ["fo", "Zm8="],
      ["foo", "Zm9v"],
      ["foob", "Zm9vYg=="],
      ["fooba", "Zm9vYmE="],
      ["foobar", "Zm9vYmFy"],
    ];
    for (const [plain, encoded] of vectors) {
      assert.equal(encodeBase64(ascii(plain)), encoded);
      assert.deepEqual(decodeBase64(encoded), ascii(plain));
    }
  });

  it("round-trips and agrees with Buffer", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (data) => {
        const s = encodeBase64(data);
        assert.equal(s, Buffer.from(data).toString("base64"));
        assert.deepEqual(decodeBase64(s), data);
      }),
    );
  });

  it("rejects invalid input with null", () => {
    for (const bad of ["Zg=", "Zg", "Z===", "====", "Zm9v YmFy", "Zm9v\nYmFy", "Zm=v", "Zm9-", "Zm9_", "é123"]) {
      assert.equal(decodeBase64(bad), null, bad);
    }
  });
});
