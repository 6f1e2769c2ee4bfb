/**
 * Stream history benchmark (not a test): the cost of resumable streams on fan-out. One server
 * process, one stream, SUBSCRIBERS subscribers (the `ws` client in a separate process), bursts of
 * broadcasts, for four configurations run in interleaved rounds (the machine is shared: ratios
 * within one round are what to read):
 * - memory broker, history off / on (a ring buffer per stream);
 * - Redis broker, history off (PUBLISH, local delivery first) / on (one script per publish:
 *   stamp, XADD, trim, PUBLISH; every subscriber, local ones too, is served from Redis in order).
 * Subscribers speak plain actioncable-v1-json (the same frames in all four), or with `--ext`
 * the extensions (stamped frames: stream_id, epoch, offset).
 *
 * Per configuration and round: deliveries/s (subscribers x burst / time until the last client got
 * the last message), the server's CPU per delivery (its own process.cpuUsage around the round),
 * Redis round trips per broadcast (commands the server's connections sent, a script being one)
 * and the commands Redis executed per broadcast (INFO commandstats: a script's own calls count).
 *
 * Run: `npx tsx bench/channels/history.ts [--quick] [--ext]`; writes bench/results/history.md
 * (history-ext.md with --ext). `--subscribers N --burst N --out FILE`: another size, another file
 * (test/bench/history.test.ts runs a tiny one).
 */
import { writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { startRedis } from "../../test/helpers/redis.js";
import { nowMs } from "./histogram.js";
import { spawn } from "./proc.js";

const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));
const quick = process.argv.includes("--quick");
const ext = process.argv.includes("--ext");
const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
};
const SUBSCRIBERS = Number(arg("--subscribers") ?? (quick ? 200 : 1000));
const BURST = Number(arg("--burst") ?? (quick ? 100 : 500));
const ROUNDS = quick || arg("--subscribers") !== undefined ? 1 : 3;
const OUT = arg("--out") ?? here(`../results/history${ext ? "-ext" : ""}.md`);

const CONFIGS = [
  { name: "memory, history off", broker: "memory", history: false },
  { name: "memory, history on", broker: "memory", history: true },
  { name: "Redis, history off", broker: "redis", history: false },
  { name: "Redis, history on", broker: "redis", history: true },
] as const;

interface Sample {
  deliveriesPerSec: number;
  cpuUsPerDelivery: number;
  roundTripsPerBroadcast: number;
  redisPerBroadcast: number;
}

async function commandCount(redis: Redis): Promise<number> {
  const info = await redis.info("commandstats");
  let total = 0;
  for (const m of info.matchAll(/^cmdstat_([a-z|]+):calls=(\d+)/gm)) {
    if (m[1] !== "info") total += Number(m[2]); // not our own INFO
  }
  return total;
}

async function measure(config: (typeof CONFIGS)[number], redisUrl: string, stats: Redis): Promise<Sample> {
  const server = spawn("history-server.ts", {
    BROKER: config.broker,
    REDIS_URL: redisUrl,
    HISTORY: config.history ? "1" : "0",
  });
  const port = (await server.next("ready")).port as number;
  const clients = spawn("fanout-clients.ts", ext ? { PROTOCOL: "ext" } : {});
  await clients.next("ready");
  clients.send({ type: "connect", port, count: SUBSCRIBERS });
  await clients.next("connected");
  async function round(count: number): Promise<Sample> {
    clients.send({ type: "expect", messages: count });
    await clients.next("expecting");
    server.send({ type: "cpu" });
    const before = await server.next("cpu");
    const cpu0 = before.us as number;
    const commands0 = await commandCount(stats);
    const start = nowMs();
    server.send({ type: "burst", count });
    const done = await clients.next("done");
    await server.next("burst-done");
    server.send({ type: "cpu" });
    const after = await server.next("cpu");
    const cpu1 = after.us as number;
    const commands1 = await commandCount(stats);
    const deliveries = SUBSCRIBERS * count;
    return {
      deliveriesPerSec: Math.round(deliveries / (((done.at as number) - start) / 1000)),
      cpuUsPerDelivery: (cpu1 - cpu0) / deliveries,
      roundTripsPerBroadcast: ((after.sent as number) - (before.sent as number)) / count,
      redisPerBroadcast: (commands1 - commands0) / count,
    };
  }
  await round(50); // warm-up
  const sample = await round(BURST);
  for (const p of [server, clients]) p.send({ type: "exit" });
  await Promise.all([server, clients].map((p) => new Promise((r) => p.child.once("exit", r))));
  return sample;
}

const loadBefore = loadavg()[0];
const redis = await startRedis();
const stats = new Redis(redis.url);
const samples = new Map<string, Sample[]>(CONFIGS.map((c) => [c.name, []]));
try {
  for (let r = 0; r < ROUNDS; r++) {
    for (const config of CONFIGS) {
      const s = await measure(config, redis.url, stats);
      samples.get(config.name)!.push(s);
      console.log(JSON.stringify({ round: r + 1, config: config.name, ...s }));
    }
  }
} finally {
  stats.disconnect();
  await redis.stop();
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const row = (name: string) => {
  const list = samples.get(name)!;
  return {
    dps: median(list.map((s) => s.deliveriesPerSec)),
    cpu: median(list.map((s) => s.cpuUsPerDelivery)),
    trips: median(list.map((s) => s.roundTripsPerBroadcast)),
    redis: median(list.map((s) => s.redisPerBroadcast)),
  };
};
const fmt = (n: number) => n.toLocaleString("en-US");
const lines = [
  "# Stream history benchmark",
  "",
  `Command: \`${["npx tsx bench/channels/history.ts", ...process.argv.slice(2)].join(" ")}\` (${new Date().toISOString()}).`,
  `Machine: ${cpus().length} x ${cpus()[0]?.model ?? "?"}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version};`,
  `1-minute load average ${loadBefore.toFixed(1)} before, ${loadavg()[0].toFixed(1)} after (a shared machine: read ratios).`,
  `One server process, one stream, ${fmt(SUBSCRIBERS)} subscribers (${ext ? "with the extensions: stamped frames" : "actioncable-v1-json"}),`,
  `bursts of ${BURST} broadcasts; median of ${ROUNDS} interleaved round(s).`,
  "",
  "| configuration | deliveries/s | server CPU per delivery (µs) | Redis round trips per broadcast | commands Redis ran per broadcast |",
  "|---|---:|---:|---:|---:|",
  ...CONFIGS.map((c) => {
    const r = row(c.name);
    const redisCols = c.broker === "redis" ? `${r.trips.toFixed(2)} | ${r.redis.toFixed(2)}` : "- | -";
    return `| ${c.name} | ${fmt(r.dps)} | ${r.cpu.toFixed(2)} | ${redisCols} |`;
  }),
  "",
  `History on / off, memory: ${(row(CONFIGS[1].name).dps / row(CONFIGS[0].name).dps).toFixed(2)}x deliveries/s, ${(row(CONFIGS[1].name).cpu / row(CONFIGS[0].name).cpu).toFixed(2)}x CPU per delivery.`,
  `History on / off, Redis: ${(row(CONFIGS[3].name).dps / row(CONFIGS[2].name).dps).toFixed(2)}x deliveries/s, ${(row(CONFIGS[3].name).cpu / row(CONFIGS[2].name).cpu).toFixed(2)}x CPU per delivery.`,
  "",
];
writeFileSync(OUT, lines.join("\n"));
console.log(lines.join("\n"));
