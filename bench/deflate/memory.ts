/**
 * Compression memory per connection, isolated from sockets: for each preset, 1,000 server-side
 * sessions negotiated against Chromium's offer (`permessage-deflate; client_max_window_bits`),
 * each inflating one 1 KiB JSON message and compressing one, then RSS and external memory per
 * session after two full GCs. Each preset runs in a fresh child process.
 *
 * Run: node --import tsx bench/deflate/memory.ts [--sessions 1000]
 * (bench/deflate/echo.ts measures whole connections, sockets included, against ws.)
 */
import { fork } from "node:child_process";
import { parseArgs } from "node:util";
import zlib from "node:zlib";

const { values } = parseArgs({
  options: { sessions: { type: "string", default: "1000" }, child: { type: "string" } },
});
const SESSIONS = Number(values.sessions);
/** Idle timeout used here (default in the library: 30 s). */
const IDLE_MS = 1000;

interface Sample {
  rss: number;
  heap: number;
  external: number;
}

async function child(preset: string): Promise<void> {
  const { resolveDeflateOptions, ZlibLimiter } = await import("../../src/node/deflate/index.js");
  const { zlibCodecFactory } = await import("../../src/node/deflate/zlib-codec.js");
  const { ServerPerMessageDeflate } = await import("../../src/protocol/extensions/index.js");
  const gc = (globalThis as { gc?: () => void }).gc!;
  const sample = (): Sample => {
    gc();
    gc();
    const m = process.memoryUsage();
    return { rss: m.rss, heap: m.heapUsed, external: m.external };
  };
  const json = JSON.stringify({
    channel: "room:lobby",
    items: Array.from({ length: 12 }, (_, i) => ({ id: i, user: `user${i}`, kind: "message", at: 1_700_000_000 + i })),
  });
  const data = new TextEncoder().encode(json);
  const compressed = zlib.deflateRawSync(data, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  const inbound = compressed.subarray(0, compressed.length - 4);
  // As createServerDeflate does, but with a 1 s idle timeout to measure idle-compressor freeing.
  const r = resolveDeflateOptions({ preset: preset as "shared", threshold: 0 });
  const factory = zlibCodecFactory({
    level: r.level,
    memLevel: r.memLevel,
    limiter: new ZlibLimiter(10),
    idleTimeout: IDLE_MS,
    chunkSize: r.chunkSize,
  });
  const ext = new ServerPerMessageDeflate(factory, { ...r });
  const offer = { name: "permessage-deflate", params: { client_max_window_bits: true as const }, rawParams: [] };
  (offer.rawParams as Array<readonly [string, true]>).push(["client_max_window_bits", true]);
  // Warm the shared parts (pools, limiter, code) so they do not count per session.
  const warm = ext.negotiate([offer])!.session;
  await warm.processIncoming({ opcode: 1, rsv1: true, rsv2: false, rsv3: false, data: inbound }, 0);
  await warm.processOutgoing({ opcode: 1, rsv1: false, rsv2: false, rsv3: false, data });
  warm.close?.();
  const per = (a: Sample, b: Sample): Sample => ({
    rss: (a.rss - b.rss) / SESSIONS,
    heap: (a.heap - b.heap) / SESSIONS,
    external: (a.external - b.external) / SESSIONS,
  });
  const before = sample();
  const sessions = Array.from({ length: SESSIONS }, () => ext.negotiate([offer])!);
  const idle = sample();
  await Promise.all(
    sessions.map(async ({ session }) => {
      const m = await session.processIncoming({ opcode: 1, rsv1: true, rsv2: false, rsv3: false, data: inbound }, 0);
      if (m.data.byteLength !== data.byteLength) throw new Error("round trip failed");
      await session.processOutgoing({ opcode: 1, rsv1: false, rsv2: false, rsv3: false, data });
    }),
  );
  const active = sample();
  await new Promise((resolve) => setTimeout(resolve, IDLE_MS * 3));
  const idledOut = sample();
  process.send?.({
    idledOut: per(idledOut, before),
    response: sessions[0]!.params,
    idle: per(idle, before),
    active: per(active, before),
  });
  for (const { session } of sessions) session.close?.();
}

async function main(): Promise<void> {
  const rows: string[] = [];
  for (const preset of ["shared", "small", "dedicated"]) {
    const c = fork(new URL(import.meta.url).pathname, ["--child", preset, "--sessions", String(SESSIONS)], {
      execArgv: ["--expose-gc", "--import", "tsx"],
    });
    const [r] = (await new Promise((resolve) => c.once("message", (m) => resolve([m])))) as unknown as [
      { response: Record<string, unknown>; idle: Sample; active: Sample; idledOut: Sample },
    ];
    c.kill();
    const kb = (n: number) => (n / 1024).toFixed(1);
    const response = Object.entries(r.response)
      .map(([k, v]) => (v === true ? k : `${k}=${v}`))
      .join("; ");
    rows.push(
      `| \`${preset}\` | \`${response || "(no params)"}\` | ${kb(r.idle.rss)} | ${kb(r.active.rss)} | ${kb(r.active.heap)} | ${kb(r.active.external)} | ${kb(r.idledOut.rss)} |`,
    );
  }
  console.log(`${SESSIONS} sessions per preset, Node ${process.version}\n`);
  console.log(
    "| preset | answer to Chromium | RSS / idle session (KB) | RSS / session after 1 message each way (KB) | JS heap (KB) | external (KB) | RSS / session once its compressor idled out (KB) |",
  );
  console.log("|---|---|---:|---:|---:|---:|---:|");
  for (const r of rows) console.log(r);
}

if (values.child) await child(values.child);
else await main();
