// header-tokens latin1/fromLatin1: the ASCII fast path (TextEncoder) and the Latin-1 byte loop
// must give the same bytes as a per-code-unit encode, for ASCII, obs-text and cons strings.
// listHasToken scans in place: it must agree with splitting the list (splitList) and comparing
// lowercased elements, for any list. isValueByte/isDigit (the head parser's byte checks) agree
// with isFieldValue and the ABNF on every byte.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  asciiLower,
  fromLatin1,
  isDigit,
  isFieldValue,
  isValueByte,
  latin1,
  listHasToken,
  splitList,
} from "../../../src/protocol/handshake/header-tokens.js";

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

describe("header-tokens: listHasToken", () => {
  const reference = (value: string, token: string) =>
    splitList(value).some((element) => asciiLower(element) === asciiLower(token));

  it("finds tokens case-insensitively among OWS-trimmed elements", () => {
    assert.equal(listHasToken("keep-alive, Upgrade", "upgrade"), true);
    assert.equal(listHasToken(" \tUPGRADE\t ", "upgrade"), true);
    assert.equal(listHasToken(",,websocket,", "WebSocket"), true);
    assert.equal(listHasToken("upgraded, xupgrade, up grade", "upgrade"), false);
    assert.equal(listHasToken("", "upgrade"), false);
    assert.equal(listHasToken(undefined, "upgrade"), false);
    assert.equal(listHasToken("\u0130pgrade", "ipgrade"), false); // only A-Z fold
  });

  it("agrees with splitList + asciiLower on any list", () => {
    const piece = fc.constantFrom(
      "upgrade",
      "Upgrade",
      "UPGRADE",
      "websocket",
      " ",
      "\t",
      ",",
      "x",
      "é",
      "up",
      "grade",
    );
    fc.assert(
      fc.property(
        fc.array(piece, { maxLength: 12 }),
        fc.constantFrom("upgrade", "websocket", "Up", "x"),
        (parts, token) => {
          const value = parts.join("");
          assert.equal(listHasToken(value, token), reference(value, token), JSON.stringify([value, token]));
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe("header-tokens: byte checks", () => {
  it("isValueByte accepts exactly the bytes isFieldValue accepts; isDigit exactly 0-9", () => {
    for (let b = 0; b < 256; b++) {
      assert.equal(isValueByte(b), isFieldValue(String.fromCharCode(b)), `byte ${b}`);
      assert.equal(isDigit(b), "0123456789".includes(String.fromCharCode(b)), `byte ${b}`);
    }
    assert.equal(isValueByte(0x7f), false);
    assert.equal(isValueByte(0x09), true);
    assert.equal(isValueByte(0xff), true);
  });
});
