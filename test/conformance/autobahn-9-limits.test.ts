/**
 * Autobahn section 9 (limits and performance) without a clock: the messages of 9.1-9.6 at the
 * suite's sizes and framing (test/helpers/autobahn-cases.ts) fed to the engine, plus our own
 * limits (1009) at the same sizes. The timing of 9.7/9.8 (round trips) is the wire suite's.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { autobahnFragments, limitCases } from "../helpers/autobahn-cases.js";
import { cframe, OP } from "../helpers/frames.js";
import { echoServer, runCase } from "./harness.js";

describe("Autobahn 9.1-9.6: large messages, fragmented or chopped", () => {
  for (const c of limitCases()) {
    it(`${c.id}: ${c.description}`, () => {
      const payload = c.payload();
      const op = c.binary ? OP.BINARY : OP.TEXT;
      const frames = c.fragmentSize
        ? autobahnFragments(op, payload, c.fragmentSize, { mask: true })
        : [cframe(op, payload)];
      let s: ReturnType<typeof echoServer>;
      if (c.chop) {
        s = echoServer({ maxPayload: 0 });
        const f = frames[0]!;
        for (let at = 0; at < f.length; at += c.chop) s.feed(f.subarray(at, at + c.chop));
      } else {
        s = runCase(frames, "frames", { maxPayload: 0, maxFragments: 0 });
      }
      const ev = s.events[0];
      assert.ok(ev?.type === (c.binary ? "binary" : "text"), `event ${ev?.type}`);
      const got = ev.type === "text" ? ev.bytes : ev.type === "binary" ? ev.data : new Uint8Array();
      assert.ok(Buffer.from(got).equals(payload), "received payload differs");
    });
  }
});

describe("not an Autobahn case: 1000 text messages of 0-4096 bytes in one stream, echoed in order", () => {
  it("like 9.7.x, without the round trips", () => {
    const frames = Array.from({ length: 1000 }, (_, i) => cframe(1, "x".repeat((i * 37) % 4097)));
    const s = runCase(frames, "frames");
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
  it("9.3.1's 65,537 frames exceed the default 4096 fragments: 1009", () => {
    const frames = autobahnFragments(OP.TEXT, Buffer.alloc(4 * 1024 * 1024, 0x2a), 64, { mask: true });
    const s = runCase(frames, "frames");
    const last = s.events.at(-1);
    assert.ok(last?.type === "close" && last.code === 1009);
  });
});
