import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import fc from "fast-check";
import { md5 } from "../../../src/protocol/legacy/md5.js";
import { hex } from "../../helpers/bytes.js";

test("md5: RFC 1321 appendix A.5 test suite", () => {
  const suite: Array<[string, string]> = [
    ["", "d41d8cd98f00b204e9800998ecf8427e"],
    ["a", "0cc175b9c0f1b6a831c399e269772661"],
    ["abc", "900150983cd24fb0d6963f7d28e17f72"],
    ["message digest", "f96b697d7cb7938d525a2f31aaf161d0"],
    ["abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"],
    ["ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "d174ab98d277d9f5a5611c2c9f419d9f"],
    [
      "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
      "57edf4a22be3c955ac49da2e2107b67a",
    ],
  ];
  for (const [input, digest] of suite) assert.equal(hex(md5(new TextEncoder().encode(input))), digest, input);
});

test("md5: agrees with node:crypto on arbitrary inputs (padding boundaries 55, 56, 64 included)", () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 300 }),
        fc.constantFrom(55, 56, 63, 64, 119, 120).map((n) => new Uint8Array(n).fill(n)),
      ),
      (bytes) => {
        assert.equal(hex(md5(bytes)), createHash("md5").update(bytes).digest("hex"));
      },
    ),
  );
});
