/**
 * The zlib codec through negotiated sessions: round trips with and without context takeover at
 * every window size, cross-checks against zlib used directly, order under load, the shared
 * limiter's bound, pools, freeing idle compressors, close.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import zlib from "node:zlib";
import fc from "fast-check";
import { ZlibLimiter } from "../../../src/node/deflate/limiter.js";
import { freeIdleZlibStreams, ZlibCodec, zlibPoolStats } from "../../../src/node/deflate/zlib-codec.js";
import { ProtocolError } from "../../../src/protocol/errors.js";
import { DEFLATE_TAIL } from "../../../src/protocol/extensions/index.js";
import { sleep } from "../../helpers/time.js";
import { msg, same, sessionPair } from "./helpers.js";

function sample(i: number): Uint8Array {
  // Mix compressible JSON and incompressible bytes, of varying sizes.
  if (i % 3 === 0) return new Uint8Array(randomBytes(1 + ((i * 37) % 3000)));
  const json = JSON.stringify({ id: i, user: `user-${i % 7}`, items: Array.from({ length: i % 40 }, (_, k) => k) });
  return new TextEncoder().encode(json.repeat(1 + (i % 5)));
}

/** Codec options of a connection that agreed on no context takeover either way. */
const NO_CONTEXT = {
  deflateWindowBits: 15,
  deflateNoContextTakeover: true,
  inflateWindowBits: 15,
  inflateNoContextTakeover: true,
};

/** A limiter that counts the jobs it is given (thread-pool work; one-shot zlib calls bypass it). */
function countingLimiter(): { limiter: ZlibLimiter; jobs: { count: number } } {
  const limiter = new ZlibLimiter(4);
  const jobs = { count: 0 };
  const run = limiter.run.bind(limiter);
  limiter.run = <T>(job: () => Promise<T>) => {
    jobs.count++;
    return run(job);
  };
  return { limiter, jobs };
}

const settings = (concurrency = 4, idleTimeout = 0) => ({
  level: 6,
  memLevel: 8,
  limiter: new ZlibLimiter(concurrency),
  idleTimeout,
});

describe("zlib codec round trips", () => {
  for (const takeover of [true, false]) {
    for (let bits = 8; bits <= 15; bits++) {
      it(`window ${bits}, ${takeover ? "with" : "without"} context takeover, both directions`, async () => {
        const options = {
          preset: "dedicated" as const,
          threshold: 0,
          serverMaxWindowBits: bits,
          clientMaxWindowBits: bits,
          serverNoContextTakeover: !takeover,
          clientNoContextTakeover: !takeover,
        };
        const p = sessionPair(options, options);
        try {
          assert.equal(p.response.server_max_window_bits, String(bits));
          for (let i = 0; i < 30; i++) {
            const data = sample(i);
            const down = await p.server.processOutgoing(msg(data));
            assert.equal(down.rsv1, true);
            same((await p.client.processIncoming(down, 0)).data, data);
            const up = await p.client.processOutgoing(msg(data));
            same((await p.server.processIncoming(up, 0)).data, data);
          }
        } finally {
          p.close();
        }
      });
    }
  }

  it("without context takeover, every message inflates alone with plain zlib", async () => {
    const p = sessionPair({ preset: "shared", threshold: 0 });
    try {
      for (let i = 0; i < 20; i++) {
        const data = sample(i);
        const out = await p.server.processOutgoing(msg(data));
        const alone = zlib.inflateRawSync(Buffer.concat([out.data, DEFLATE_TAIL]), {
          finishFlush: zlib.constants.Z_SYNC_FLUSH,
        });
        same(alone, data);
      }
    } finally {
      p.close();
    }
  });

  it("window 8 is negotiated but compressed with 9, which a 9-bit zlib inflater reads", async () => {
    const codec = new ZlibCodec(
      { deflateWindowBits: 8, deflateNoContextTakeover: false, inflateWindowBits: 8, inflateNoContextTakeover: false },
      settings(),
    );
    const peer = zlib.createInflateRaw({ windowBits: 9 });
    try {
      for (let i = 0; i < 10; i++) {
        const data = sample(i);
        const out = await codec.deflate(data);
        const inflated = await new Promise<Buffer>((resolve, reject) => {
          const parts: Buffer[] = [];
          const onData = (c: Buffer) => parts.push(c);
          peer.on("data", onData);
          peer.once("error", reject);
          peer.write(out);
          peer.flush(() => {
            peer.off("data", onData);
            resolve(Buffer.concat(parts));
          });
        });
        same(inflated, data);
      }
    } finally {
      codec.close();
      peer.close();
    }
  });

  it("arbitrary compressed payloads inflate or fail with a ProtocolError, never anything else", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), fc.boolean(), async (bytes, shared) => {
        const preset = shared ? "shared" : "dedicated";
        const p = sessionPair({ preset }, { preset });
        try {
          const out = await Promise.resolve(p.server.processIncoming(msg(bytes, { rsv1: true }), 4096)).then(
            (m) => m,
            (e: unknown) => e,
          );
          if (out instanceof Error) {
            assert.ok(out instanceof ProtocolError, String(out));
            assert.ok(out.code === "EXTENSION_ERROR" || out.code === "MESSAGE_TOO_BIG", out.code);
          } else {
            assert.ok((out as { data: Uint8Array }).data.byteLength <= 4096);
          }
        } finally {
          p.close();
        }
      }),
      { numRuns: 300 },
    );
  });

  it("corrupt input fails with EXTENSION_ERROR 1007", async () => {
    const p = sessionPair({ preset: "dedicated" });
    try {
      await assert.rejects(
        Promise.resolve(p.server.processIncoming(msg(Uint8Array.of(0xff, 0xff, 0xff, 0xff), { rsv1: true }), 0)),
        (e: unknown) => (e as { code?: string }).code === "EXTENSION_ERROR",
      );
    } finally {
      p.close();
    }
  });
});

describe("zlib codec order, concurrency and memory", () => {
  it("keeps order for many overlapping calls on one connection (context takeover)", async () => {
    const p = sessionPair({ preset: "dedicated", threshold: 0 });
    try {
      const inputs = Array.from({ length: 500 }, (_, i) => sample(i));
      // Fire every send without waiting, as an engine under load would.
      const sent = await Promise.all(inputs.map((d) => p.server.processOutgoing(msg(d))));
      const received = await Promise.all(sent.map((m) => p.client.processIncoming(m, 0)));
      for (const [i, m] of received.entries()) same(m.data, inputs[i]!);
    } finally {
      p.close();
    }
  });

  it("never runs more zlib jobs than the limiter allows, across connections", async () => {
    const limiter = new ZlibLimiter(2);
    let peak = 0;
    const run = limiter.run.bind(limiter);
    limiter.run = <T>(job: () => Promise<T>) =>
      run(() => {
        peak = Math.max(peak, limiter.active);
        return job();
      });
    const codecs = Array.from(
      { length: 20 },
      () =>
        new ZlibCodec(
          {
            deflateWindowBits: 15,
            deflateNoContextTakeover: false,
            inflateWindowBits: 15,
            inflateNoContextTakeover: false,
          },
          { level: 6, memLevel: 8, limiter, idleTimeout: 0 },
        ),
    );
    try {
      await Promise.all(codecs.flatMap((c) => Array.from({ length: 10 }, (_, i) => c.deflate(sample(i)))));
      assert.ok(peak >= 1 && peak <= 2, `peak ${peak}`);
      assert.equal(limiter.active, 0);
    } finally {
      for (const c of codecs) c.close();
    }
  });

  it("shared preset: connections own no zlib stream; the pool stays within the concurrency", async () => {
    freeIdleZlibStreams();
    const pairs = Array.from({ length: 50 }, () =>
      sessionPair({ preset: "shared", threshold: 0, concurrency: 3 }, { preset: "shared", concurrency: 3 }),
    );
    try {
      await Promise.all(
        pairs.map(async (p, i) => {
          const out = await p.server.processOutgoing(msg(sample(i)));
          await p.client.processIncoming(out, 0);
          await p.server.processIncoming(await p.client.processOutgoing(msg(sample(i + 1))), 0);
        }),
      );
      const stats = zlibPoolStats();
      // Two deflate pools (server and client settings) and one inflate pool, each <= 3 idle.
      assert.ok(stats.deflate <= 6, `deflate idle ${stats.deflate}`);
      assert.ok(stats.inflate <= 3, `inflate idle ${stats.inflate}`);
      freeIdleZlibStreams();
      const after = zlibPoolStats();
      assert.deepEqual([after.deflate, after.inflate], [0, 0]);
    } finally {
      for (const p of pairs) p.close();
    }
  });

  it("no context takeover: short messages skip the pool (one-shot zlib), long ones use it", async () => {
    const { limiter, jobs } = countingLimiter();
    const codec = new ZlibCodec(NO_CONTEXT, { ...settings(), limiter });
    try {
      const short = Buffer.from(JSON.stringify({ text: "y".repeat(1000) }));
      const out = await codec.deflate(short);
      assert.deepEqual([...out.subarray(-4)], [0, 0, 0xff, 0xff]); // sync-flushed, as the pool's
      same(zlib.inflateRawSync(out, { finishFlush: zlib.constants.Z_SYNC_FLUSH }), short);
      same(await codec.inflate([out.subarray(0, 10), out.subarray(10)], 0), short);
      assert.equal(jobs.count, 0);
      const long = randomBytes(20_000); // above the one-shot size: the pool
      const longOut = await codec.deflate(long);
      same(await codec.inflate([longOut], 0), long);
      assert.equal(jobs.count, 2);
    } finally {
      codec.close();
    }
  });

  it("no context takeover: a short bomb stops at maxPayload with 1009; a large output goes to the pool", async () => {
    const codec = new ZlibCodec(NO_CONTEXT, settings());
    try {
      const zeros = Buffer.alloc(4 * 1024 * 1024); // 4 MiB of zeros: ~4 KiB compressed
      const bomb = zlib.deflateRawSync(zeros, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
      assert.ok(bomb.byteLength < 16 * 1024);
      await assert.rejects(codec.inflate([bomb], 100_000), (e: unknown) => {
        assert.ok(e instanceof ProtocolError);
        assert.equal(e.code, "MESSAGE_TOO_BIG");
        assert.equal(e.closeCode, 1009);
        return true;
      });
      // Within the limit but past the one-shot output cap (256 KiB): inflated by the pool, whole.
      same(await codec.inflate([bomb], 8 * 1024 * 1024), zeros);
      same(await codec.inflate([bomb], 0), zeros);
      // Past a limit above the cap: the pool's inflater stops it.
      await assert.rejects(codec.inflate([bomb], 1024 * 1024), /exceeds maxPayload/);
      // Corrupt short input fails (never resolves with garbage).
      await assert.rejects(codec.inflate([Uint8Array.of(0xff, 0xff, 0xff, 0x00, 0x00, 0xff, 0xff)], 0));
    } finally {
      codec.close();
    }
  });

  it("shared preset: a short broadcast buffer is compressed once for every connection", async () => {
    // A level no other test uses: its own pool and cache.
    const codecs = Array.from({ length: 100 }, () => new ZlibCodec(NO_CONTEXT, { ...settings(), level: 2 }));
    try {
      const payload = Buffer.from(JSON.stringify({ news: "x".repeat(2000) }));
      const hits = zlibPoolStats().sharedHits;
      const outs = await Promise.all(codecs.map((c) => c.deflate(payload)));
      assert.equal(zlibPoolStats().sharedHits - hits, 99);
      for (const out of outs) assert.equal(out, outs[0]);
      same(zlib.inflateRawSync(outs[0]!, { finishFlush: zlib.constants.Z_SYNC_FLUSH }), payload);
      payload[2] = 0x41; // changed by the application: compressed again, never sent stale
      const changed = await codecs[0]!.deflate(payload);
      assert.equal(zlibPoolStats().sharedHits - hits, 99);
      same(zlib.inflateRawSync(changed, { finishFlush: zlib.constants.Z_SYNC_FLUSH }), payload);
    } finally {
      for (const c of codecs) c.close();
    }
  });

  it("shared preset: a broadcast buffer is compressed once for every connection", async () => {
    const { limiter, jobs } = countingLimiter();
    // A level no other test uses: its own pool and cache.
    const codecs = Array.from({ length: 100 }, () => new ZlibCodec(NO_CONTEXT, { ...settings(), level: 3, limiter }));
    try {
      // Above the one-shot size, so that the pool's jobs can be counted.
      const payload = Buffer.from(JSON.stringify({ news: "x".repeat(20_000) }));
      const hits = zlibPoolStats().sharedHits;
      const outs = await Promise.all(codecs.map((c) => c.deflate(payload)));
      assert.equal(jobs.count, 1);
      assert.equal(zlibPoolStats().sharedHits - hits, 99);
      for (const out of outs) assert.equal(out, outs[0]);
      same(zlib.inflateRawSync(outs[0]!, { finishFlush: zlib.constants.Z_SYNC_FLUSH }), payload);
      // The application changed the buffer: compressed again, never sent stale.
      payload[2] = 0x41;
      const changed = await codecs[0]!.deflate(payload);
      assert.equal(jobs.count, 2);
      same(zlib.inflateRawSync(changed, { finishFlush: zlib.constants.Z_SYNC_FLUSH }), payload);
      // Another buffer with the same bytes is not assumed equal: compressed on its own.
      await codecs[1]!.deflate(Buffer.from(payload));
      assert.equal(jobs.count, 3);
    } finally {
      for (const c of codecs) c.close();
    }
  });

  it("frees an idle context-takeover compressor; the peer still inflates what follows", async () => {
    const codec = new ZlibCodec(
      {
        deflateWindowBits: 15,
        deflateNoContextTakeover: false,
        inflateWindowBits: 15,
        inflateNoContextTakeover: false,
      },
      settings(4, 40),
    );
    const peer = new ZlibCodec(
      {
        deflateWindowBits: 15,
        deflateNoContextTakeover: false,
        inflateWindowBits: 15,
        inflateNoContextTakeover: false,
      },
      settings(4, 0),
    );
    try {
      const a = await codec.deflate(sample(1));
      assert.equal(codec.ownsStreams.deflate, true);
      same(await peer.inflate([a], 0), sample(1));
      const deadline = Date.now() + 5000;
      while (codec.ownsStreams.deflate && Date.now() < deadline) await sleep(20);
      assert.equal(codec.ownsStreams.deflate, false);
      const b = await codec.deflate(sample(2));
      same(await peer.inflate([b], 0), sample(2));
    } finally {
      codec.close();
      peer.close();
    }
  });

  it("rejects calls after close and releases its streams", async () => {
    const codec = new ZlibCodec(
      {
        deflateWindowBits: 15,
        deflateNoContextTakeover: false,
        inflateWindowBits: 15,
        inflateNoContextTakeover: false,
      },
      settings(),
    );
    await codec.deflate(sample(1));
    codec.close();
    assert.deepEqual(codec.ownsStreams, { deflate: false, inflate: false });
    await assert.rejects(codec.deflate(sample(1)));
    await assert.rejects(codec.inflate([Uint8Array.of(0)], 0));
  });
});
