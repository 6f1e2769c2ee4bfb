/**
 * Autobahn section 9 (limits and performance) reduced to what can be checked without a clock:
 * large messages, large fragmented messages, chopped delivery, many small messages; plus our
 * own limits (1009) at the same sizes.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { cframe } from "../helpers/frames.js";
import { echoServer, runCase } from "./harness.js";

function echoOf(frames: Uint8Array[], options = {}) {
  const s = runCase(frames, "frames", options);
  return s;
}

describe("Autobahn 9.1/9.2 large messages", () => {
  for (const [n, size] of [
    ["1", 64 * 1024],
    ["2", 256 * 1024],
    ["3", 1024 * 1024],
    ["4", 4 * 1024 * 1024],
  ] as const) {
    it(`9.1.${n}: text message of ${size} bytes is echoed intact`, () => {
      const payload = new Uint8Array(size).fill(0x2a);
      const s = echoOf([cframe(1, payload)]);
      const ev = s.events[0];
      assert.ok(ev.type === "text" && ev.bytes.length === size);
      assert.equal(s.output().length, 10 + size);
    });
    it(`9.2.${n}: binary message of ${size} bytes is echoed intact`, () => {
      const payload = new Uint8Array(size).map((_, i) => i);
      const s = echoOf([cframe(2, payload)]);
      assert.deepEqual(s.output().subarray(10), payload);
    });
  }
});

describe("Autobahn 9.3/9.4 fragmented messages", () => {
  for (const [n, frag] of [
    ["1", 64],
    ["3", 1024],
    ["5", 65536],
  ] as const) {
    it(`9.3.${n}: 1 MiB text in fragments of ${frag} bytes`, () => {
      const size = 1024 * 1024;
      const payload = new Uint8Array(size).fill(0x61);
      const frames = [];
      for (let at = 0; at < size; at += frag) {
        frames.push(cframe(at === 0 ? 1 : 0, payload.subarray(at, at + frag), { fin: at + frag >= size }));
      }
      const s = echoOf(frames, { maxFragments: 0 });
      const ev = s.events[0];
      assert.ok(ev.type === "text" && ev.bytes.length === size);
    });
  }
});

describe("Autobahn 9.5/9.6 chopped delivery", () => {
  for (const chop of [64, 128, 256, 512, 1024, 2048]) {
    it(`9.5: 1 MiB text delivered in chops of ${chop} bytes`, () => {
      const f = cframe(1, new Uint8Array(1024 * 1024).fill(0x62));
      const s = echoServer();
      for (let at = 0; at < f.length; at += chop) s.feed(f.subarray(at, at + chop));
      const ev = s.events[0];
      assert.ok(ev.type === "text" && ev.bytes.length === 1024 * 1024);
    });
  }
});

describe("Autobahn 9.7/9.8 many small messages", () => {
  it("9.7.x: 1000 text messages of 0-4096 bytes, one stream, echoed in order", () => {
    const frames = Array.from({ length: 1000 }, (_, i) => cframe(1, "x".repeat((i * 37) % 4097)));
    const s = echoOf(frames);
    assert.equal(s.events.length, 1000);
    s.events.forEach((ev, i) => {
      assert.ok(ev.type === "text" && ev.bytes.length === (i * 37) % 4097);
    });
  });
});

describe("limits at Autobahn sizes (1009)", () => {
  it("a 4 MiB message against maxPayload 1 MiB is refused from its header", () => {
    const f = cframe(2, new Uint8Array(4 * 1024 * 1024));
    const s = echoServer({ maxPayload: 1024 * 1024 });
    s.feed(f.subarray(0, 14));
    const last = s.events.at(-1);
    assert.ok(last?.type === "close" && last.code === 1009);
  });
  it("1 MiB in 64-byte fragments exceeds the default 4096 fragments: 1009", () => {
    const frames = [];
    for (let at = 0; at < 1024 * 1024; at += 64) frames.push(cframe(at === 0 ? 1 : 0, "a".repeat(64), { fin: false }));
    const s = echoOf(frames);
    const last = s.events.at(-1);
    assert.ok(last?.type === "close" && last.code === 1009);
  });
});
