/** Limits: maxPayload checked on announced lengths before buffering, running totals, maxFragments. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { concat, fromHex } from "../helpers/bytes.js";
import { cframe, decodeFrames } from "../helpers/frames.js";
import { plain, run, testEngine } from "./helpers/engine-run.js";

function closeCode(output: string): number | undefined {
  const f = decodeFrames(Buffer.from(output, "hex")).find((x) => x.opcode === 8);
  return f ? (f.payload[0] << 8) | f.payload[1] : undefined;
}

describe("limits", () => {
  it("a 2^40-byte announced length fails with 1009 before any payload byte", () => {
    const header = fromHex("82 ff 00 00 01 00 00 00 00 00 37 fa 21 3d");
    const e = testEngine({ role: "server" });
    e.receiveData(header);
    const events = e.takeEvents().map(plain);
    assert.deepEqual(events[0], { type: "error", code: "MESSAGE_TOO_BIG" });
    assert.equal(events.at(-1)?.code, 1009);
    e.receiveData(new Uint8Array(1 << 16)); // ignored, nothing buffered
    assert.deepEqual(e.takeEvents(), []);
  });

  it("the check happens on the header alone, even with no payload bytes sent", () => {
    const r = run([fromHex("82 fe 04 01 00 00 00 00")], { maxPayload: 1024 });
    assert.equal(closeCode(r.output), 1009);
  });

  it("maxPayload counts the running total across fragments", () => {
    const bytes = concat([
      cframe(2, new Uint8Array(600), { fin: false }),
      cframe(0, new Uint8Array(400), { fin: false }),
      cframe(0, new Uint8Array(100)),
    ]);
    const over = run([bytes], { maxPayload: 1000 });
    assert.equal(closeCode(over.output), 1009);
    const exact = run([bytes], { maxPayload: 1100 });
    assert.equal(exact.events[0].type, "binary");
  });

  it("a message of exactly maxPayload passes; one byte more fails", () => {
    assert.equal(run([cframe(2, new Uint8Array(100))], { maxPayload: 100 }).events[0].type, "binary");
    assert.equal(closeCode(run([cframe(2, new Uint8Array(101))], { maxPayload: 100 }).output), 1009);
  });

  it("many empty fragments: maxFragments ends it with 1009", () => {
    const parts = [cframe(1, "", { fin: false })];
    for (let i = 0; i < 5000; i++) parts.push(cframe(0, "", { fin: false }));
    const r = run([concat(parts)], { maxFragments: 4096 });
    assert.equal(closeCode(r.output), 1009);
    assert.equal(r.events[0].code, "TOO_MANY_FRAGMENTS");
    const ok = run([concat([cframe(1, "", { fin: false }), cframe(0, "", { fin: false }), cframe(0, "x")])], {
      maxFragments: 3,
    });
    assert.deepEqual(ok.events, [{ type: "text", data: "x" }]);
  });

  it("0 disables the limits", () => {
    const r = run([cframe(2, new Uint8Array(70000))], { maxPayload: 0, maxFragments: 0 });
    assert.equal(r.events[0].type, "binary");
  });

  it("one-byte chunks of a 64 KiB message give the same message", () => {
    const payload = new Uint8Array(65536).map((_, i) => i & 0xff);
    const bytes = cframe(2, payload);
    const e = testEngine({ role: "server" });
    for (let i = 0; i < bytes.length; i++) e.receiveData(bytes.slice(i, i + 1));
    const [ev] = e.takeEvents();
    assert.ok(ev.type === "binary");
    assert.deepEqual(ev.data, payload);
  });

  it("limits never throw: an oversized frame inside a fragmented text message closes 1009", () => {
    const bytes = concat([cframe(1, "ab", { fin: false }), cframe(0, new Uint8Array(2000))]);
    assert.doesNotThrow(() => run([bytes], { maxPayload: 1000 }));
    assert.equal(closeCode(run([bytes], { maxPayload: 1000 }).output), 1009);
  });
});
