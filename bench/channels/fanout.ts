/**
 * Fan-out benchmark (not a test): one broadcast stream, 1,000 and 10,000 subscribers, on one
 * server process (memory broker) and across two server processes sharing Redis. Subscribers live
 * in separate client processes (at most 5,000 sockets each: a process may hold 20,000 files).
 *
 * Per scenario: a warm-up, then
 * - throughput: a burst of broadcasts back to back from server 1; deliveries/s = subscribers x
 *   broadcasts / (time from the first broadcast until every client got every message);
 * - latency: broadcasts paced every 20 ms; p50/p99 from the broadcast call to the client's
 *   receipt (timestamps from performance.timeOrigin + now(), one machine).
 *
 * Run: `npx tsx bench/channels/fanout.ts [--quick]`; writes bench/results/channels.md.
 */
import { writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { fileURLToPath } from "node:url";
import { startRedis } from "../../test/helpers/redis.js";
import { Histogram, nowMs } from "./histogram.js";
import { type Proc, spawn } from "./proc.js";

const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));
const quick = process.argv.includes("--quick");
const PER_CLIENT_PROCESS = 5000;

interface Result {
  scenario: string;
  subscribers: number;
  burst: number;
  deliveriesPerSec: number;
  burstP99: number;
  paced: number;
  paceMs: number;
  p50: number;
  p99: number;
  max: number;
}

async function scenario(subscribers: number, servers: 1 | 2, redisUrl?: string): Promise<Result> {
  const broker = servers === 2 ? "redis" : "memory";
  const serverProcs = Array.from({ length: servers }, () =>
    spawn("fanout-server.ts", { BROKER: broker, REDIS_URL: redisUrl ?? "" }),
  );
  const ports = await Promise.all(serverProcs.map(async (s) => (await s.next("ready")).port as number));
  const perServer = subscribers / servers;
  const clientProcs: Proc[] = [];
  const connects: Promise<unknown>[] = [];
  for (let s = 0; s < servers; s++) {
    for (let left = perServer; left > 0; left -= PER_CLIENT_PROCESS) {
      const c = spawn("fanout-clients.ts");
      clientProcs.push(c);
      connects.push(
        c.next("ready").then(() => {
          c.send({ type: "connect", port: ports[s], count: Math.min(left, PER_CLIENT_PROCESS) });
          return c.next("connected");
        }),
      );
    }
  }
  await Promise.all(connects);

  async function round(count: number, paceMs: number): Promise<{ elapsedMs: number; hist: Histogram }> {
    for (const c of clientProcs) c.send({ type: "expect", messages: count });
    await Promise.all(clientProcs.map((c) => c.next("expecting")));
    const start = nowMs();
    serverProcs[0].send({ type: "burst", count, paceMs });
    const dones = await Promise.all(clientProcs.map((c) => c.next("done")));
    await serverProcs[0].next("burst-done");
    const hist = new Histogram();
    for (const d of dones) hist.merge(d.histogram as Array<[number, number]>);
    return { elapsedMs: Math.max(...dones.map((d) => d.at as number)) - start, hist };
  }

  const burst = quick ? 20 : subscribers >= 10_000 ? 100 : 1000;
  const paced = quick ? 10 : subscribers >= 10_000 ? 40 : 200;
  // Paced load: 20,000 deliveries/s whatever the fan-out (1k: every 50 ms; 10k: every 500 ms),
  // well under capacity, so latency is not queueing behind earlier broadcasts.
  const paceMs = subscribers / 20;
  await round(10, 0); // warm-up
  const t = await round(burst, 0);
  const l = await round(paced, paceMs);
  for (const p of [...serverProcs, ...clientProcs]) p.send({ type: "exit" });
  await Promise.all([...serverProcs, ...clientProcs].map((p) => new Promise((r) => p.child.once("exit", r))));
  return {
    scenario: servers === 1 ? "1 process, memory broker" : "2 processes, Redis broker",
    subscribers,
    burst,
    deliveriesPerSec: Math.round((subscribers * burst) / (t.elapsedMs / 1000)),
    burstP99: t.hist.percentileMs(0.99),
    paced,
    paceMs,
    p50: l.hist.percentileMs(0.5),
    p99: l.hist.percentileMs(0.99),
    max: l.hist.percentileMs(1),
  };
}

const loadBefore = loadavg()[0];
const redis = await startRedis();
const results: Result[] = [];
try {
  for (const [subs, servers] of [
    [1000, 1],
    [10_000, 1],
    [1000, 2],
    [10_000, 2],
  ] as const) {
    const r = await scenario(subs, servers, redis.url);
    console.log(JSON.stringify(r));
    results.push(r);
  }
} finally {
  await redis.stop();
}

const fmt = (n: number) => n.toLocaleString("en-US");
const lines = [
  "# Channels fan-out benchmark",
  "",
  `Command: \`npx tsx bench/channels/fanout.ts${quick ? " --quick" : ""}\` (${new Date().toISOString()}).`,
  `Machine: ${cpus().length} x ${cpus()[0]?.model ?? "?"}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version};`,
  `1-minute load average ${loadBefore.toFixed(1)} before the run, ${loadavg()[0].toFixed(1)} after it (the machine is`,
  "shared: other work running meanwhile makes the figures noisy, the latency tails above all).",
  "One stream; every subscriber is an @rails/actioncable-protocol client (the `ws` package) in",
  "separate client processes (5,000 sockets each), all on this machine (loopback), sharing its cores",
  "with the servers. Broadcasts are sent from server process 1; with two processes, half the",
  "subscribers are on process 2 and receive through Redis (process 1 delivers locally, then",
  "publishes; its own echo is dropped).",
  "",
  "| scenario | subscribers | burst | deliveries/s | burst p99 (ms) | paced | every (ms) | p50 (ms) | p99 (ms) | max (ms) |",
  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ...results.map(
    (r) =>
      `| ${r.scenario} | ${fmt(r.subscribers)} | ${r.burst} | ${fmt(r.deliveriesPerSec)} | ${r.burstP99} | ${r.paced} | ${r.paceMs} | ${r.p50} | ${r.p99} | ${r.max} |`,
  ),
  "",
  "deliveries/s: subscribers x burst / time from the first broadcast until the last client got the",
  "last message (latency under a burst is queueing: the burst p99 says how long the tail waited).",
  "Paced latency: broadcasts every `subscribers / 20` ms (20,000 deliveries/s), from `broadcast()` in",
  "the server to `onmessage` in the client, p50/p99/max.",
  "",
];
writeFileSync(here("../results/channels.md"), lines.join("\n"));
console.log(lines.join("\n"));
