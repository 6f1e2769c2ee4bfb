/** Autobahn section 10: auto-fragmentation (10.1.1), on the sending side with fragmentSize. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { concat } from "../helpers/bytes.js";
import { cframe, decodeFrames } from "../helpers/frames.js";
import { testEngine } from "../protocol/helpers/engine-run.js";
import { runCase } from "./harness.js";

describe("Autobahn 10 auto-fragmentation", () => {
  it("10.1.1: a 65536-byte text message, echoed with fragmentSize 1300: fragments of 1300, reassembled intact", () => {
    const payload = new Uint8Array(65536).fill(0x2a);
    const s = runCase([cframe(1, payload)], "whole", { fragmentSize: 1300 });
    const frames = decodeFrames(s.output());
    assert.equal(frames.length, Math.ceil(65536 / 1300));
    assert.equal(frames[0].opcode, 1);
    assert.ok(frames.slice(1).every((f) => f.opcode === 0));
    assert.ok(frames.slice(0, -1).every((f) => !f.fin && f.payload.length === 1300));
    assert.equal(frames.at(-1)?.fin, true);
    assert.deepEqual(concat(frames.map((f) => f.payload)), payload);
    // And a peer reassembles it.
    const client = testEngine({ role: "client" });
    client.receiveData(s.output());
    const [ev] = client.takeEvents();
    assert.ok(ev.type === "text" && ev.bytes.length === 65536);
  });

  it("a message of exactly fragmentSize is one frame; one byte more makes two", () => {
    const e = testEngine({ role: "server", fragmentSize: 1300 });
    e.sendBinary(new Uint8Array(1300));
    assert.equal(decodeFrames(concat(e.takeOutput())).length, 1);
    e.sendBinary(new Uint8Array(1301));
    assert.equal(decodeFrames(concat(e.takeOutput())).length, 2);
  });

  it("control frames are never fragmented", () => {
    const e = testEngine({ role: "server", fragmentSize: 10 });
    e.ping("x".repeat(100));
    e.close(1000, "y".repeat(100));
    const frames = decodeFrames(concat(e.takeOutput()));
    assert.deepEqual(
      frames.map((f) => [f.opcode, f.fin]),
      [
        [9, true],
        [8, true],
      ],
    );
  });
});
