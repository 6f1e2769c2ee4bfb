/** Autobahn section 6: UTF-8 handling, including fail-fast (6.4). */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { concat, fromHex, hex, utf8 } from "../helpers/bytes.js";
import { cframe, frame } from "../helpers/frames.js";
import { echoServer, expectCase } from "./harness.js";

const nothing = new Uint8Array(0);
const HELLO = utf8("Hello-µ@ßöäüàá-UTF-8!!");
const INVALID = fromHex("cebae1bdb9cf83cebcceb5eda080656469746564"); // κόσμε + ED A0 80 (surrogate) + "edited"

describe("Autobahn 6.1-6.3: valid and invalid text", () => {
  it("6.1.1: empty text message", () => expectCase([cframe(1)], frame(1)));
  it("6.1.2: 3 empty fragments", () => {
    expectCase([cframe(1, "", { fin: false }), cframe(0, "", { fin: false }), cframe(0)], frame(1));
  });
  it("6.1.3: empty, empty, then non-empty fragment", () => {
    expectCase(
      [cframe(1, "", { fin: false }), cframe(0, "", { fin: false }), cframe(0, "middle frame payload")],
      frame(1, "middle frame payload"),
    );
  });
  it("6.2.1: valid UTF-8 in one fragment", () => expectCase([cframe(1, HELLO)], frame(1, HELLO)));
  it("6.2.2: valid UTF-8 in 2 fragments split on a code point boundary", () => {
    expectCase([cframe(1, HELLO.subarray(0, 6), { fin: false }), cframe(0, HELLO.subarray(6))], frame(1, HELLO));
  });
  it("6.2.3: valid UTF-8 in 1-octet fragments", () => {
    const frames = Array.from(HELLO, (_, i) =>
      cframe(i === 0 ? 1 : 0, HELLO.subarray(i, i + 1), { fin: i === HELLO.length - 1 }),
    );
    expectCase(frames, frame(1, HELLO));
  });
  it("6.2.4: valid UTF-8 (κόσμε) in 1-octet fragments, splitting code points", () => {
    const k = fromHex("cebae1bdb9cf83cebcceb5");
    const frames = Array.from(k, (_, i) => cframe(i === 0 ? 1 : 0, k.subarray(i, i + 1), { fin: i === k.length - 1 }));
    expectCase(frames, frame(1, k));
  });
  it("6.3.1: invalid UTF-8 text fails with 1007", () => expectCase([cframe(1, INVALID)], nothing, 1007));
  it("6.3.2: invalid UTF-8 text in 1-octet fragments fails with 1007", () => {
    const frames = Array.from(INVALID, (_, i) =>
      cframe(i === 0 ? 1 : 0, INVALID.subarray(i, i + 1), { fin: i === INVALID.length - 1 }),
    );
    expectCase(frames, nothing, 1007);
  });
});

describe("Autobahn 6.4: fail fast on invalid UTF-8", () => {
  const PART1 = fromHex("cebae1bdb9cf83cebcceb5");
  const PART2 = fromHex("f4908080"); // > U+10FFFF
  const PART3 = fromHex("656469746564");

  function closedAfter(chunks: Uint8Array[]): number {
    const s = echoServer();
    for (let i = 0; i < chunks.length; i++) {
      s.feed(chunks[i]);
      if (s.engine.transportShouldClose) return i;
    }
    return -1;
  }

  it("6.4.1: 3 fragments, the 2nd makes it invalid: closed 1007 before the 3rd arrives", () => {
    const at = closedAfter([
      cframe(1, PART1, { fin: false }),
      cframe(0, PART2, { fin: false }),
      cframe(0, PART3, { fin: true }),
    ]);
    assert.equal(at, 1);
  });
  it("6.4.2: 3 fragments, invalid at the 2nd fragment's first byte (F4 then 90)", () => {
    const at = closedAfter([
      cframe(1, fromHex("cebae1bdb9cf83cebcceb5f4"), { fin: false }),
      cframe(0, fromHex("90"), { fin: false }),
      cframe(0, fromHex("8080656469746564"), { fin: true }),
    ]);
    assert.equal(at, 1);
  });
  it("6.4.3: one frame in 3 chops: closed as soon as the invalid chop arrives", () => {
    const f = cframe(1, concat([PART1, PART2, PART3]));
    const headerLen = f.length - PART1.length - PART2.length - PART3.length;
    const a = headerLen + PART1.length;
    const b = a + PART2.length;
    const at = closedAfter([f.subarray(0, a), f.subarray(a, b), f.subarray(b)]);
    assert.equal(at, 1);
  });
  it("6.4.4: one frame, the invalid byte alone in the 2nd chop (90 after F4)", () => {
    const f = cframe(1, concat([PART1, PART2, PART3]));
    const headerLen = f.length - PART1.length - PART2.length - PART3.length;
    const a = headerLen + PART1.length + 1; // ... F4 | 90 | 80 80 ...
    const at = closedAfter([f.subarray(0, a), f.subarray(a, a + 1), f.subarray(a + 1)]);
    assert.equal(at, 1);
    const s = echoServer();
    s.feed(f.subarray(0, a));
    s.feed(f.subarray(a, a + 1));
    assert.equal(hex(s.output().subarray(0, 1)), "88");
    assert.equal((s.output()[2] << 8) | s.output()[3], 1007);
  });
});

describe("Autobahn 6.5-6.22: code point classes", () => {
  const valid: Array<[string, string]> = [
    ["6.5.1", "cebae1bdb9cf83cebcceb5"],
    ["6.6.11", "cebae1bdb9cf83cebcceb5"],
    ["6.7.1 U+0000", "00"],
    ["6.7.2 U+0080", "c280"],
    ["6.7.3 U+0800", "e0a080"],
    ["6.7.4 U+10000", "f0908080"],
    ["6.9.1 U+007F", "7f"],
    ["6.9.2 U+07FF", "dfbf"],
    ["6.9.3 U+FFFF", "efbfbf"],
    ["6.9.4 U+10FFFF", "f48fbfbf"],
    ["6.11.1 U+D7FF", "ed9fbf"],
    ["6.11.2 U+E000", "ee8080"],
    ["6.11.3 U+FFFD", "efbfbd"],
    ["6.23.1 U+FFFE (noncharacter, valid)", "efbfbe"],
  ];
  const invalid: Array<[string, string]> = [
    ["6.8.1 5-byte sequence", "f888808080"],
    ["6.8.2 6-byte sequence", "fc8480808080"],
    ["6.10.1 U+110000", "f4908080"],
    ["6.12.1 lone continuation", "80"],
    ["6.12.8 continuation run", "808080808080"],
    ["6.13.1 lone lead followed by space", "c020"],
    ["6.14.1 truncated 2-byte", "c0"],
    ["6.14.3 truncated 3-byte", "e080"],
    ["6.15.1 concatenated truncations", "c0e080f08080"],
    ["6.16.1 FE", "fe"],
    ["6.16.2 FF", "ff"],
    ["6.17.1 overlong slash (2 bytes)", "c0af"],
    ["6.17.2 overlong slash (3 bytes)", "e080af"],
    ["6.18.1 maximum overlong (2 bytes)", "c1bf"],
    ["6.19.1 surrogate U+D800", "eda080"],
    ["6.19.5 surrogate U+DFFF", "edbfbf"],
    ["6.20.1 surrogate pair", "eda080edb080"],
  ];
  for (const [name, h] of valid) {
    it(`${name}: valid, echoed`, () => expectCase([cframe(1, fromHex(h))], frame(1, fromHex(h))));
  }
  for (const [name, h] of invalid) {
    it(`${name}: invalid, 1007`, () => expectCase([cframe(1, fromHex(h))], nothing, 1007));
  }
});
