/** Autobahn section 6: UTF-8 handling, including fail-fast (6.4). */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { utf8Vectors } from "../helpers/autobahn-cases.js";
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
      if (s.engine.host.closeTransportCalls > 0) return i;
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

describe("Autobahn 6.5-6.23: the suite's UTF-8 test vectors (valid: echoed; invalid: 1007)", () => {
  it("the vectors are numbered and built as case6_x_x.py builds them", () => {
    const vectors = utf8Vectors();
    const byId = new Map(vectors.map((v) => [v.id, v.payload.toString("hex")]));
    assert.equal(vectors.length, 132);
    assert.equal(vectors[0]!.id, "6.5.1");
    assert.equal(vectors.at(-1)!.id, "6.23.7");
    assert.equal(byId.get("6.5.5"), "cebae1bdb9cf83cebcceb5");
    assert.equal(byId.get("6.12.8")!.length / 2, 63); // xrange(0x80, 0xbf)
    assert.equal(byId.get("6.13.5"), "fc20");
    assert.equal(byId.get("6.20.4"), "edafbf");
    assert.equal(byId.get("6.22.34"), "f48fbfbf");
    assert.equal(byId.get("6.23.5"), "efbfbd");
  });
  for (const v of utf8Vectors()) {
    it(`${v.id}: ${v.group}: ${v.payload.toString("hex")}`, () =>
      v.valid
        ? expectCase([cframe(1, v.payload)], frame(1, v.payload))
        : expectCase([cframe(1, v.payload)], nothing, 1007));
  }
});
