/**
 * Deployment benchmark (not a test): several cable server processes on this machine share a
 * broker; 100,000 idle ActionCable subscribers of one stream are spread over them (from several
 * client processes, each with its own 127.0.0.x source addresses: a process may hold 20,000
 * files); one server broadcasts to all. Side by side for each broker:
 * - `relay`: no broker, the servers' parent relays over IPC (what `--workers` does without one);
 * - `redis`: one redis-server; `redis-cluster`: 3 primaries, sharded pub/sub; `nats`: one
 *   nats-server.
 * The connections are opened once; then, for each broker in turn, every server switches to it
 * (every stream subscribed on the new broker before the old one is closed) and the same
 * connections are measured: a warm-up, then
 * - burst: broadcasts back to back; deliveries/s = connections x broadcasts / time from the first
 *   broadcast until every client got every message;
 * - paced: broadcasts every `--pace-ms`; p50/p99/max from `broadcast()` in the server to the
 *   client's receipt (one clock: performance.timeOrigin + now());
 * - the broker's own cost: `--probes` messages published one after another on a stream that every
 *   server subscribes to (without clients); CPU (user+sys from /proc) of the broker's processes
 *   per message, and of the servers per message received;
 * - server CPU per delivery over the burst; resident memory with every connection open.
 *
 * Run: `npx tsx bench/channels/deployment.ts [--quick] [--connections N] [--servers N]
 * [--clients N] [--brokers relay,redis,redis-cluster,nats] [--burst N] [--paced N] [--pace-ms MS]
 * [--probes N]`;
 * writes bench/results/deployment.md (and .json).
 */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { RELAY_TAG } from "../../src/cli/workers.js";
import { startNats } from "../../test/helpers/nats.js";
import { startRedis } from "../../test/helpers/redis.js";
import { startRedisCluster } from "../../test/helpers/redis-cluster.js";
// @ts-expect-error: a plain .mjs module without types
import { cpuSeconds, processTree, rssKB } from "../lib/procfs.mjs";
import { Histogram, nowMs } from "./histogram.js";
import { type Proc, spawn } from "./proc.js";

const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));
const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    connections: { type: "string" },
    servers: { type: "string" },
    clients: { type: "string" },
    brokers: { type: "string", default: "relay,redis,redis-cluster,nats" },
    burst: { type: "string" },
    paced: { type: "string" },
    "pace-ms": { type: "string" },
    probes: { type: "string" },
    out: { type: "string", default: here("../results/deployment") },
  },
});
const quick = args.quick;
const CONNECTIONS = Number(args.connections ?? (quick ? 10_000 : 100_000));
const SERVERS = Number(args.servers ?? (quick ? 2 : 6));
const CLIENTS = Number(args.clients ?? (quick ? 2 : 8));
const BURST = Number(args.burst ?? 10);
const PACED = Number(args.paced ?? 5);
const PACE_MS = Number(args["pace-ms"] ?? 2000);
const PROBES = Number(args.probes ?? (quick ? 2000 : 20_000));
const BROKERS = args.brokers.split(",");

/** The broker service for a kind, with the pids whose CPU and memory are the broker's. */
async function startBroker(kind: string): Promise<{ url: string; pids: () => number[]; stop(): Promise<void> }> {
  const redisPid = (port: number) =>
    Number(/process_id:(\d+)/.exec(execFileSync("redis-cli", ["-p", String(port), "info", "server"]).toString())?.[1]);
  switch (kind) {
    case "relay":
      return { url: "relay", pids: () => [process.pid], stop: async () => {} };
    case "redis": {
      const redis = await startRedis();
      const pid = redisPid(redis.port);
      return { url: redis.url, pids: () => [pid], stop: () => redis.stop() };
    }
    case "redis-cluster": {
      const cluster = await startRedisCluster({ primaries: 3 });
      const pids = cluster.nodes.map((n) => redisPid(n.port));
      return { url: cluster.url, pids: () => pids, stop: () => cluster.stop() };
    }
    case "nats": {
      const nats = await startNats({ jetstream: false });
      return { url: nats.url, pids: () => [nats.pid!], stop: () => nats.stop() };
    }
    default:
      throw new Error(`unknown broker ${kind}`);
  }
}

interface Result {
  broker: string;
  connections: number;
  burst: number;
  deliveriesPerSec: number;
  burstP99: number;
  paced: number;
  p50: number;
  p99: number;
  max: number;
  brokerUsPerMessage: number;
  brokerNsPerDelivery: number;
  serverUsPerBrokerMessage: number;
  serverUsPerDelivery: number;
  brokerRssMB: number;
}

const services = new Map<string, Awaited<ReturnType<typeof startBroker>>>();
const servers: Proc[] = [];
const clients: Proc[] = [];
const results: Result[] = [];
const loadBefore = loadavg()[0]!;
let failed = 0;
let connectSeconds = 0;
let serverRssMB = 0;
try {
  for (const kind of BROKERS) services.set(kind, await startBroker(kind));
  for (let i = 0; i < SERVERS; i++) servers.push(spawn("deployment-server.ts", { BROKER_URL: "relay" }));
  // The parent is the relay's primary: a relayed publish goes to every server (publisher included).
  for (const s of servers)
    s.child.on("message", (m: { tag?: string }) => {
      if (m?.tag === RELAY_TAG) for (const t of servers) t.child.send(m as never);
    });
  const ports = await Promise.all(servers.map(async (s) => (await s.next("ready", 60_000)).port as number));
  const t0 = Date.now();
  const connects: Promise<Record<string, unknown>>[] = [];
  for (let c = 0; c < CLIENTS; c++) {
    const p = spawn("deployment-clients.ts");
    clients.push(p);
    const count = Math.floor(CONNECTIONS / CLIENTS) + (c < CONNECTIONS % CLIENTS ? 1 : 0);
    const addresses = [0, 1, 2, 3].map((k) => `127.0.0.${10 + c * 4 + k}`);
    connects.push(
      p.next("ready").then(() => {
        p.send({ type: "connect", ports, count, addresses, portStart: 10_000 });
        return p.next("connected", 1_800_000);
      }),
    );
  }
  failed = (await Promise.all(connects)).reduce((n, r) => n + (r.failed as number), 0);
  connectSeconds = (Date.now() - t0) / 1000;
  const serverPids = servers.flatMap((s) => processTree(s.child.pid!) as number[]);
  serverRssMB = rssKB(serverPids) / 1024;
  console.log(JSON.stringify({ connected: CONNECTIONS - failed, failed, connectSeconds, serverRssMB }));

  let connected = 0;
  async function round(count: number, paceMs: number): Promise<{ elapsedMs: number; hist: Histogram }> {
    for (const c of clients) c.send({ type: "expect", messages: count });
    const expecting = await Promise.all(clients.map((c) => c.next("expecting")));
    const lost = expecting.reduce((n, r) => n + (r.closed as number), 0);
    if (lost > 0) throw new Error(`${lost} subscribed connections closed`);
    connected = expecting.reduce((n, r) => n + (r.sockets as number), 0);
    const start = nowMs();
    servers[0]!.send({ type: "burst", count, paceMs });
    const dones = await Promise.all(clients.map((c) => c.next("done", 900_000)));
    await servers[0]!.next("burst-done");
    const hist = new Histogram();
    for (const d of dones) hist.merge(d.histogram as Array<[number, number]>);
    return { elapsedMs: Math.max(...dones.map((d) => d.at as number)) - start, hist };
  }

  for (const kind of BROKERS) {
    const broker = services.get(kind)!;
    for (const s of servers) s.send({ type: "use", url: broker.url });
    await Promise.all(servers.map((s) => s.next("using", 120_000)));
    await round(2, 0); // warm-up
    const s0 = cpuSeconds(serverPids) as number;
    const burst = await round(BURST, 0);
    const serverCpu = (cpuSeconds(serverPids) as number) - s0;
    const paced = await round(PACED, PACE_MS);
    const deliveries = connected * BURST;

    // The broker's own cost per message, reaching every server process.
    const cpuOf = () =>
      kind === "relay"
        ? (process.cpuUsage().user + process.cpuUsage().system) / 1e6
        : (cpuSeconds(broker.pids()) as number);
    const probeCounts = async () => {
      for (const s of servers) s.send({ type: "probe-count" });
      return (await Promise.all(servers.map((s) => s.next("probe-count")))).map((c) => c.received as number);
    };
    const before = await probeCounts();
    const b0 = cpuOf();
    const p0 = cpuSeconds(serverPids) as number;
    servers[0]!.send({ type: "broker-burst", count: PROBES });
    await servers[0]!.next("broker-burst-done", 900_000);
    const deadline = Date.now() + 120_000;
    for (;;) {
      const counts = await probeCounts();
      // Server 1 counts from 0 again for each burst; the others keep counting.
      if (counts.every((c, i) => c >= (i === 0 ? 0 : before[i]!) + PROBES)) break;
      if (Date.now() > deadline) throw new Error(`${kind}: broker probes never all arrived`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const brokerCpu = cpuOf() - b0;
    const probeServerCpu = (cpuSeconds(serverPids) as number) - p0;
    const brokerUsPerMessage = (brokerCpu * 1e6) / PROBES;
    const r: Result = {
      broker: kind,
      connections: connected,
      burst: BURST,
      deliveriesPerSec: Math.round(deliveries / (burst.elapsedMs / 1000)),
      burstP99: burst.hist.percentileMs(0.99),
      paced: PACED,
      p50: paced.hist.percentileMs(0.5),
      p99: paced.hist.percentileMs(0.99),
      max: paced.hist.percentileMs(1),
      brokerUsPerMessage: Number(brokerUsPerMessage.toFixed(1)),
      brokerNsPerDelivery: Number(((brokerUsPerMessage * 1000) / connected).toFixed(3)),
      serverUsPerBrokerMessage: Number(((probeServerCpu * 1e6) / (PROBES * SERVERS)).toFixed(1)),
      serverUsPerDelivery: Number(((serverCpu * 1e6) / deliveries).toFixed(2)),
      brokerRssMB: Math.round(rssKB(broker.pids()) / 1024),
    };
    console.log(JSON.stringify(r));
    results.push(r);
  }
} finally {
  for (const p of [...clients, ...servers]) if (p.child.exitCode === null) p.send({ type: "exit" });
  await Promise.all(
    [...clients, ...servers].map(
      (p) =>
        new Promise<void>((resolve) => {
          if (p.child.exitCode !== null) return resolve();
          const timer = setTimeout(() => p.child.kill("SIGKILL"), 30_000);
          p.child.once("exit", () => {
            clearTimeout(timer);
            resolve();
          });
        }),
    ),
  );
  for (const service of services.values()) await service.stop();
}

const fmt = (n: number) => n.toLocaleString("en-US");
const command = `npx tsx bench/channels/deployment.ts ${process.argv.slice(2).join(" ")}`.trim();
const lines = [
  "# Deployment benchmark: several processes sharing a broker",
  "",
  `Command: \`${command}\` (${new Date().toISOString()}).`,
  `Machine: ${cpus().length} x ${cpus()[0]?.model ?? "?"}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version};`,
  `1-minute load average ${loadBefore.toFixed(1)} before the run, ${loadavg()[0]!.toFixed(1)} after it.`,
  `${SERVERS} cable server processes, ${fmt(CONNECTIONS - failed)} idle subscribers of one stream (${fmt(failed)} of ${fmt(CONNECTIONS)} handshakes failed) spread over them from ${CLIENTS}`,
  "client processes (the `ws` client, 4 source addresses 127.0.0.x each), all on this machine (loopback),",
  "sharing its 2 cores with the brokers; server 1 broadcasts. Every server also sends the ActionCable",
  "heartbeat (a ping every 3 s to every connection) meanwhile. The connections are opened once (in",
  `${Math.round(connectSeconds)} s); the servers then switch brokers (every stream subscribed on the next one before`,
  `the previous one is closed), so every row has the same connections. Servers' RSS with every`,
  `connection open: ${fmt(Math.round(serverRssMB))} MB.`,
  "",
  "| broker | connections | burst | deliveries/s | burst p99 (ms) | paced | p50 (ms) | p99 (ms) | max (ms) | broker CPU per broadcast (µs) | broker CPU per delivery (ns) | server CPU per broker message (µs) | server CPU per delivery (µs) | broker RSS (MB) |",
  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ...results.map(
    (r) =>
      `| ${r.broker} | ${fmt(r.connections)} | ${r.burst} | ${fmt(r.deliveriesPerSec)} | ${r.burstP99} | ${r.paced} | ${r.p50} | ${r.p99} | ${r.max} | ${r.brokerUsPerMessage} | ${r.brokerNsPerDelivery} | ${r.serverUsPerBrokerMessage} | ${r.serverUsPerDelivery} | ${r.brokerRssMB} |`,
  ),
  "",
  "- deliveries/s: connections x burst / time from the first broadcast until the last client got the last",
  "  message (burst p99: how long the tail of a burst waited).",
  `- paced: ${PACED} broadcasts every ${PACE_MS} ms; latency from \`broadcast()\` in server 1 to the client's receipt.`,
  `- broker CPU per broadcast: user+sys of the broker's processes (relay: the parent relaying over IPC;`,
  `  redis-cluster: its three primaries) while server 1 publishes ${fmt(PROBES)} messages one after another on`,
  `  a stream every one of the ${SERVERS} servers subscribes to (100 in flight), divided by ${fmt(PROBES)}; per delivery: that divided`,
  "  by the connections one broadcast reaches. Server CPU per broker message: the servers' CPU in the",
  "  same phase per message received (the broker client's cost). Server CPU per delivery: all servers",
  "  over the burst, divided by the deliveries.",
  "- broker RSS at the end of its row.",
  "",
];
writeFileSync(`${args.out}.md`, lines.join("\n"));
writeFileSync(
  `${args.out}.json`,
  `${JSON.stringify({ command, connections: CONNECTIONS - failed, failed, connectSeconds, serverRssMB, results }, null, 2)}\n`,
);
console.log(lines.join("\n"));
