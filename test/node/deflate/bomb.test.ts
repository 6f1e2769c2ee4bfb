/**
 * Decompression is bounded WHILE inflating: maxPayload applies to the inflated size, and a bomb
 * (1 GiB of zeros in ~1 MiB) stops at the limit, long before its input is consumed.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import zlib from "node:zlib";
import { Inflater } from "../../../src/node/deflate/zlib-streams.js";
import { ProtocolError } from "../../../src/protocol/errors.js";
import { DEFLATE_TAIL } from "../../../src/protocol/extensions/index.js";
import { msg, sessionPair } from "./helpers.js";

const MiB = 1024 * 1024;

/**
 * 1 GiB of zeros as raw DEFLATE: one sync-flushed segment of 1 MiB zeros (~1 KiB, starts with a
 * literal, so it does not depend on earlier output) repeated 1024 times.
 */
function bomb(): Buffer {
  const segment = zlib.deflateRawSync(Buffer.alloc(MiB), { level: 9, finishFlush: zlib.constants.Z_SYNC_FLUSH });
  const parts = new Array<Buffer>(1024).fill(segment);
  const whole = Buffer.concat(parts);
  return whole.subarray(0, whole.length - 4); // as on the wire: tail stripped (RFC 7692 7.2.1)
}

const isTooBig = (e: unknown) => e instanceof ProtocolError && e.code === "MESSAGE_TOO_BIG" && e.closeCode === 1009;

describe("decompression bomb", () => {
  const payload = bomb();

  it("the payload really is 1 GiB of zeros in about 1 MiB", () => {
    assert.ok(payload.length < 1.2 * MiB, `payload ${payload.length}`);
    // Inflate a prefix only, to check the ratio without spending 1 GiB.
    const prefix = zlib.inflateRawSync(payload.subarray(0, 10 * 1024), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    assert.ok(prefix.length > 9 * MiB, `prefix inflates to ${prefix.length}`);
  });

  for (const preset of ["dedicated", "shared"] as const) {
    it(`fails with MESSAGE_TOO_BIG 1009 at a 1 MiB limit (${preset})`, async () => {
      const p = sessionPair({ preset }, { preset });
      const before = process.memoryUsage().arrayBuffers;
      try {
        await assert.rejects(Promise.resolve(p.server.processIncoming(msg(payload, { rsv1: true }), MiB)), isTooBig);
        // Far less than the 1 GiB it would take unbounded (GC may not have run: a loose bound).
        const grown = process.memoryUsage().arrayBuffers - before;
        assert.ok(grown < 64 * MiB, `arrayBuffers grew by ${grown}`);
      } finally {
        p.close();
      }
    });
  }

  it("stops zlib as soon as the output passes the limit: most of the input is never read", async () => {
    const inflater = new Inflater(15);
    await assert.rejects(inflater.run([payload, DEFLATE_TAIL], MiB), isTooBig);
    // ~1 KiB of input per MiB of output: the limit is reached after a few KiB of input.
    assert.ok(inflater.stream.bytesWritten < 64 * 1024, `consumed ${inflater.stream.bytesWritten} bytes`);
    assert.equal(inflater.usable, false);
  });

  it("stops at the engine's default 64 MiB too, having read a small part of the input", async () => {
    const inflater = new Inflater(15);
    await assert.rejects(inflater.run([payload, DEFLATE_TAIL], 64 * MiB), isTooBig);
    assert.ok(inflater.stream.bytesWritten < payload.length / 8, `consumed ${inflater.stream.bytesWritten}`);
  });

  it("applies the limit to the inflated size exactly: limit passes, limit + 1 fails", async () => {
    const data = Buffer.alloc(100_000, 0x61);
    const p = sessionPair({ preset: "dedicated", threshold: 0 });
    try {
      const compressed = await p.client.processOutgoing(msg(data));
      assert.ok(compressed.data.length < 1000);
      const ok = await p.server.processIncoming(compressed, 100_000);
      assert.equal(ok.data.byteLength, 100_000);
    } finally {
      p.close();
    }
    const q = sessionPair({ preset: "dedicated", threshold: 0 });
    try {
      const compressed = await q.client.processOutgoing(msg(data));
      await assert.rejects(Promise.resolve(q.server.processIncoming(compressed, 99_999)), isTooBig);
    } finally {
      q.close();
    }
  });

  it("0 means no limit", async () => {
    const data = Buffer.alloc(3 * MiB);
    const p = sessionPair({ preset: "shared" });
    try {
      const compressed = await p.client.processOutgoing(msg(data));
      assert.equal((await p.server.processIncoming(compressed, 0)).data.byteLength, 3 * MiB);
    } finally {
      p.close();
    }
  });
});
