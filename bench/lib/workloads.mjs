// The workloads of the side-by-side suite and how each is measured.
// Contract: every workload runs against one freshly started server at a time; traffic workloads
// warm up, then measure one window (server CPU from /proc, messages counted by the load generator);
// idle workloads read the server's RSS (process tree) before and after opening N connections.
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { Histogram } from "./histogram.mjs";
import { startNativeLoadgen } from "./native-loadgen.mjs";
import { SERVERS, startLoadgen, startServer } from "./processes.mjs";
import { cpuSeconds, io, machineBusySeconds, rssKB, userSeconds } from "./procfs.mjs";

const HOST = "127.0.0.1";

/** A 1 KiB JSON document, the payload of the compressed echo. */
function json1k() {
  const items = [];
  let s = "";
  for (let i = 0; s.length < 1000; i++) {
    items.push({ id: i, user: `user-${i}`, action: "update", value: i * 3.25, ok: i % 2 === 0 });
    s = JSON.stringify({ type: "batch", items });
  }
  return s.padEnd(1024, " ").slice(0, 1024);
}

/**
 * The channels broadcast (broadcast-10k on a `cable` peer): ActionCable clients subscribed to one
 * channel streaming "bench"; the publisher performs `publish`, whose data the cable broadcasts.
 * Each delivery is CABLE_DELIVERY (the raw peers of the workload broadcast payloads of its size).
 */
const CABLE_IDENTIFIER = JSON.stringify({ channel: "BenchChannel" });
const CABLE_DATA = { action: "publish", text: "a".repeat(32) };
const CABLE_SUBSCRIBE = JSON.stringify({ command: "subscribe", identifier: CABLE_IDENTIFIER });
const CABLE_PERFORM = JSON.stringify({
  command: "message",
  identifier: CABLE_IDENTIFIER,
  data: JSON.stringify(CABLE_DATA),
});
const CABLE_DELIVERY = JSON.stringify({ identifier: CABLE_IDENTIFIER, message: CABLE_DATA });
const CABLE = { path: "/cable", protocol: "actioncable-v1-json", init: CABLE_SUBSCRIBE };

/** Split `total` into `n` near-equal shares. */
function share(total, i, n) {
  return Math.floor(total / n) + (i < total % n ? 1 : 0);
}

/** Groups for one load generator, splitting connection counts across `n` generators. */
function split(groups) {
  return (i, n) => groups.map((g) => ({ ...g, count: share(g.count, i, n) })).filter((g) => g.count > 0);
}

export const WORKLOADS = [
  {
    name: "small-echo",
    title: "Small echo: 64 connections x 16 in flight x 64 B text",
    kind: "traffic",
    loadgens: 1,
    unit: "msg/s",
    plan: split([{ name: "echo", count: 64, inflight: 16, size: 64, latency: true }]),
  },
  {
    name: "latency",
    title: "Latency: 1 connection x 1 in flight x 64 B text (RTT)",
    kind: "traffic",
    loadgens: 1,
    unit: "msg/s",
    plan: split([{ name: "echo", count: 1, inflight: 1, size: 64, latency: true }]),
  },
  {
    name: "large",
    title: "Large: 4 connections x 2 in flight x 1 MiB binary",
    kind: "traffic",
    // One process left uWebSockets.js 22% below what two reach (saturation run, 16:22 UTC): its
    // own writes of 1 MiB frames cost it about what the fastest server spends per echo.
    loadgens: 2,
    unit: "msg/s",
    plan: split([{ name: "echo", count: 4, inflight: 2, size: 1 << 20, binary: true, latency: true }]),
  },
  {
    name: "conns-1000",
    title: "1,000 connections x 1 in flight x 64 B text",
    kind: "traffic",
    loadgens: 1,
    unit: "msg/s",
    plan: split([{ name: "echo", count: 1000, inflight: 1, size: 64, latency: true }]),
  },
  {
    name: "broadcast",
    title: "Broadcast: 1,000 subscribers, 1 publisher with 4 in flight, 64 B text",
    kind: "traffic",
    loadgens: 2,
    unit: "deliveries/s",
    count: "sub",
    plan: (i, n) => [
      ...(i === 0 ? [{ name: "pub", path: "/pub", count: 1, inflight: 4, size: 64 }] : []),
      // size: what each delivery carries (for MB/s; subscribers send nothing)
      { name: "sub", path: "/sub", count: share(1000, i, n), inflight: 0, size: 64 },
    ],
  },
  {
    name: "broadcast-10k",
    title: `Broadcast: 10,000 subscribers, 1 publisher with 4 in flight, ${CABLE_DELIVERY.length} B text (cable: ActionCable, one stream)`,
    kind: "traffic",
    loadgens: 2,
    unit: "deliveries/s",
    count: "sub",
    // The cable peers speak ActionCable (subscribe once, the publisher performs an action whose
    // data is broadcast on the stream); the others broadcast each /pub message as it is, of the
    // size of the cable's deliveries.
    plan: (i, n, server) => {
      const cable = SERVERS[server]?.cable === true;
      const pub = cable ? { ...CABLE, payload: CABLE_PERFORM } : { path: "/pub", size: CABLE_DELIVERY.length };
      const sub = cable ? CABLE : { path: "/sub" };
      return [
        ...(i === 0 ? [{ name: "pub", count: 1, inflight: 4, ...pub }] : []),
        { name: "sub", count: share(10_000, i, n), inflight: 0, size: CABLE_DELIVERY.length, ...sub },
      ];
    },
  },
  {
    name: "idle",
    title: "Idle memory: server RSS growth per open connection (one server process)",
    kind: "idle",
    counts: [10_000, 19_000],
    quickCounts: [2_000],
    loadgens: 2,
    workers: 1,
    // A second reading after IDLE_WAIT_MS idle (the young generation shrunk by V8's memory
    // reducer), at the target's count only: 40 s per server.
    idleWaitCounts: [10_000, 2_000],
  },
  {
    name: "idle-100k",
    title: "Idle memory at 100,000 connections across server worker processes",
    kind: "idle",
    counts: [100_000],
    loadgens: 6,
    workers: 6,
    slow: true,
  },
  {
    name: "idle-deflate",
    title:
      "Memory per compressed connection: server RSS growth per connection with permessage-deflate, each having echoed one 1 KiB JSON message",
    kind: "idle",
    deflate: true,
    counts: [10_000],
    quickCounts: [2_000],
    loadgens: 2,
    workers: 1,
  },
  {
    name: "handshakes",
    title: "Handshakes per second (open, upgrade, reset; 4 load generators x 16 concurrent)",
    kind: "handshake",
    // Two processes left Bun's handshakes 25% below what four reach (saturation run): four it is.
    loadgens: 4,
    concurrency: 16,
    unit: "handshakes/s",
  },
  {
    name: "deflate-echo",
    title: "Compressed echo: 64 connections x 16 in flight x 1 KiB JSON, permessage-deflate",
    kind: "traffic",
    loadgens: 1,
    unit: "msg/s",
    deflate: true,
    plan: split([
      { name: "echo", count: 64, inflight: 16, payload: json1k(), deflate: true, compressed: true, latency: true },
    ]),
  },
  {
    name: "saturation",
    title: "Load generator check: the fastest server of each workload with 1x and 2x the load generator processes",
    kind: "saturation",
    slow: true,
    // workload -> the server that went fastest on it (the one a load generator must keep busy)
    checks: [
      ["small-echo", "bun"],
      ["large", "uws"],
      ["broadcast", "bun"],
      ["broadcast-10k", "bun"],
      ["broadcast-10k", "cable"],
      ["handshakes", "bun"],
      ["deflate-echo", "bun"],
    ],
  },
];

/**
 * Source addresses of load generator `i` for the idle runs: four 127.0.0.x addresses of its own,
 * each with its own port space, so 100,000 connections never run out of source ports.
 */
function idleAddresses(i) {
  return [0, 1, 2, 3].map((k) => `127.0.0.${2 + i * 4 + k}`);
}

/** The 1-minute load average now (recorded with every measured window). */
function loadavg1() {
  return readFileSync("/proc/loadavg", "latin1").split(" ")[0];
}

/** Machine CPU not spent by the server or the load generators (others' work, softirq), in %. */
function otherPct(busy, serverCpu, l1, l0, secs) {
  const ours = serverCpu + l1.reduce((a, v, i) => a + v - l0[i], 0);
  return Math.max(0, ((busy - ours) / secs) * 100);
}

/**
 * Which load generator drives the runs: "native" (loadgen.c, the default: C and epoll; what is
 * queued goes out in one write() call as a client hands its frames to the kernel, or in calls of
 * at most `writeSize` bytes; replies read into user space, or with `readMode` "trunc" their
 * payloads discarded by the kernel) or "js" (loadgen.mjs, Node).
 */
export const loadgenSettings = { kind: "native", writeSize: 0, readMode: "copy" };

async function withLoadgens(n, fn) {
  const make = () =>
    loadgenSettings.kind === "js"
      ? startLoadgen()
      : startNativeLoadgen({ writeSize: loadgenSettings.writeSize, readMode: loadgenSettings.readMode });
  const lgs = Array.from({ length: n }, make);
  try {
    return await fn(lgs);
  } finally {
    await Promise.all(lgs.map((l) => l.stop()));
  }
}

/**
 * Starts the load generators, warms up, then measures one window: the marks taken at its end,
 * its length, and the CPU seconds of the server and of each load generator over it.
 */
async function runWindow(server, lgs, timing) {
  await Promise.all(lgs.map((l) => l.start()));
  await sleep(timing.warmup * 1000);
  await Promise.all(lgs.map((l) => l.mark()));
  const t0 = performance.now();
  const s0 = cpuSeconds(server.pids);
  const u0 = userSeconds(server.pids);
  const w0 = io(server.pids).w;
  const l0 = lgs.map((l) => cpuSeconds([l.pid]));
  const m0 = machineBusySeconds();
  await sleep(timing.window * 1000);
  const marks = await Promise.all(lgs.map((l) => l.mark()));
  const secs = (performance.now() - t0) / 1000;
  const serverCpu = cpuSeconds(server.pids) - s0;
  const serverUser = userSeconds(server.pids) - u0;
  const writes = io(server.pids).w - w0;
  const l1 = lgs.map((l) => cpuSeconds([l.pid]));
  const m1 = machineBusySeconds();
  return { marks, secs, serverCpu, serverUser, writes, l0, l1, busy: m1 - m0, loadavg: loadavg1() };
}

/** Traffic: warm up, then one measured window. */
export async function measureTraffic(server, wl, timing, loadgens = wl.loadgens) {
  return withLoadgens(loadgens, async (lgs) => {
    const ready = await Promise.all(
      lgs.map((lg, i) => lg.connect({ host: HOST, port: server.port, groups: wl.plan(i, loadgens, server.name) })),
    );
    const open = ready.reduce((a, r) => a + r.open, 0);
    const failed = ready.reduce((a, r) => a + r.failed, 0);
    if (open === 0) throw new Error(`no connection opened (${failed} failed)`);
    const { marks, secs, serverCpu, serverUser, writes, l0, l1, busy, loadavg } = await runWindow(server, lgs, timing);
    const countName = wl.count ?? "echo";
    let msgs = 0;
    let bytes = 0;
    const hist = new Histogram();
    let closedEarly = 0;
    let compressedSeen = 0;
    for (const m of marks) {
      closedEarly += m.closedEarly;
      compressedSeen += m.compressedSeen;
      for (const g of m.groups) {
        if (g.name !== countName) continue;
        msgs += g.msgs;
        bytes += g.bytes;
        if (g.hist) hist.merge(Histogram.fromJSON(g.hist));
      }
    }
    return {
      open,
      failed,
      closedEarly,
      compressed: wl.deflate ? compressedSeen > 0 : undefined,
      seconds: secs,
      perSec: msgs / secs,
      mbPerSec: bytes / secs / 1e6,
      p50: hist.percentile(0.5),
      p99: hist.percentile(0.99),
      cpuUsPer: msgs > 0 ? (serverCpu / msgs) * 1e6 : Number.NaN,
      // Its user-space part (utime: the program's own code and the runtime's, not the kernel's):
      // at 10 ms per tick, +-2 ticks over a window.
      userUsPer: msgs > 0 ? (serverUser / msgs) * 1e6 : Number.NaN,
      // The server's write()/writev() calls (/proc/PID/io syscw) per counted message: how much
      // of a turn's output shares one call.
      writesPerMsg: msgs > 0 ? writes / msgs : Number.NaN,
      serverCpuPct: (serverCpu / secs) * 100,
      loadgenCpuPct: l1.map((v, i) => ((v - l0[i]) / secs) * 100),
      loadgenUsPer: (l1.reduce((a, v, i) => a + v - l0[i], 0) / msgs) * 1e6,
      otherCpuPct: otherPct(busy, serverCpu, l1, l0, secs),
      loadavg,
    };
  });
}

/** Handshakes: concurrent open-upgrade-reset loops. */
export async function measureHandshakes(server, wl, timing, loadgens = wl.loadgens) {
  return withLoadgens(loadgens, async (lgs) => {
    const base = { host: HOST, port: server.port, mode: "handshake", concurrency: wl.concurrency };
    await Promise.all(lgs.map((lg) => lg.connect({ ...base, groups: [{ name: "hs", count: 0 }] })));
    const { marks, secs, serverCpu, l0, l1, busy, loadavg } = await runWindow(server, lgs, timing);
    const n = marks.reduce((a, m) => a + m.handshakes, 0);
    return {
      failed: marks.reduce((a, m) => a + m.failed, 0),
      seconds: secs,
      perSec: n / secs,
      cpuUsPer: n > 0 ? (serverCpu / n) * 1e6 : Number.NaN,
      serverCpuPct: (serverCpu / secs) * 100,
      loadgenCpuPct: l1.map((v, i) => ((v - l0[i]) / secs) * 100),
      loadgenUsPer: (l1.reduce((a, v, i) => a + v - l0[i], 0) / n) * 1e6,
      otherCpuPct: otherPct(busy, serverCpu, l1, l0, secs),
      loadavg,
    };
  });
}

/**
 * How long the `idle` workload waits for its second reading: V8's memory reducer, which shrinks
 * the young generation of a process that stopped allocating, acted 15-30 s after the last GC in
 * runs here (bare 15 s, wirecable 30 s at 10,000 connections).
 */
export const IDLE_WAIT_MS = 40_000;

/** Idle memory: RSS of the server's process tree before and after `count` open connections. */
export async function measureIdle(server, wl, count) {
  server.gc();
  await sleep(800);
  const before = rssKB(server.pids);
  // With deflate, each connection negotiates permessage-deflate and has one message echoed, so
  // that whatever compression state the server keeps per connection exists when RSS is read.
  const used = wl.deflate
    ? { inflight: 1, once: true, payload: json1k(), deflate: true, compressed: true }
    : { inflight: 0 };
  return withLoadgens(wl.loadgens, async (lgs) => {
    const ready = await Promise.all(
      lgs.map((lg, i) =>
        lg.connect({
          host: HOST,
          port: server.port,
          connectConcurrency: 100,
          groups: [{ name: "idle", count: share(count, i, wl.loadgens), ...used }],
          localAddresses: idleAddresses(i),
          localPortStart: 20_000,
        }),
      ),
    );
    const open = ready.reduce((a, r) => a + r.open, 0);
    let echoed = 0;
    if (wl.deflate) {
      await Promise.all(lgs.map((l) => l.start()));
      for (let t = 0; t < 100 && echoed < open; t++) {
        await sleep(200);
        const marks = await Promise.all(lgs.map((l) => l.mark()));
        for (const m of marks) echoed += m.groups[0].msgs;
      }
    }
    server.gc();
    await sleep(1500);
    const after = rssKB(server.pids);
    // The same connections after IDLE_WAIT_MS more of doing nothing (no forced GC): V8's memory
    // reducer then shrinks the young generation that the burst of handshakes grew (see
    // bench/README.md). `kbPerConn` stays the reading right after the connections settled.
    let idle;
    if (wl.idleWaitCounts?.includes(count)) {
      await sleep(IDLE_WAIT_MS);
      idle = rssKB(server.pids);
    }
    return {
      open,
      failed: ready.reduce((a, r) => a + r.failed, 0),
      ...(wl.deflate ? { echoed } : {}),
      rssBeforeKB: before,
      rssAfterKB: after,
      ...(idle === undefined ? {} : { rssIdleKB: idle, kbPerConnIdle: open > 0 ? (idle - before) / open : Number.NaN }),
      loadavg: loadavg1(),
      kbPerConn: open > 0 ? (after - before) / open : Number.NaN,
    };
  });
}

export { startServer };
