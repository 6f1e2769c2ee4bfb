/**
 * Presence and dedup benchmark (not a test): what a presence change and a dedup claim cost on
 * each broker that keeps them in a server (Redis, Redis Cluster, PostgreSQL, NATS JetStream).
 * Two brokers stand for two processes sharing the server; for each broker, interleaved rounds:
 * - storm: `--members` joins into one stream, half from each process, all at once, then every
 *   leave at once; wall time per change, and the server's CPU (user+sys from /proc) per change;
 * - one by one: `--sequential` joins and leaves awaited one after another (p50 latency);
 * - dedup: `--claims` claims (new) awaited one after another (p50 latency).
 * The member list of the storm's stream is checked to be complete before the leaves.
 *
 * Run: `npx tsx bench/channels/presence.ts [--members N] [--sequential N] [--claims N]
 * [--rounds N] [--brokers redis,redis-cluster,postgres,nats]`; writes bench/results/presence.md.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import type { Broker } from "../../src/channels/brokers/broker.js";
import { NatsBroker } from "../../src/channels/brokers/nats.js";
import { PostgresBroker } from "../../src/channels/brokers/postgres.js";
import { RedisBroker } from "../../src/channels/brokers/redis.js";
import { RedisClusterBroker } from "../../src/channels/brokers/redis-cluster.js";
import { startNats } from "../../test/helpers/nats.js";
import { startPostgres } from "../../test/helpers/postgres.js";
import { startRedis } from "../../test/helpers/redis.js";
import { startRedisCluster } from "../../test/helpers/redis-cluster.js";
// @ts-expect-error: a plain .mjs module without types
import { cpuSeconds, processTree } from "../lib/procfs.mjs";

const { values } = parseArgs({
  options: {
    members: { type: "string", default: "1000" },
    sequential: { type: "string", default: "200" },
    claims: { type: "string", default: "200" },
    rounds: { type: "string", default: "3" },
    brokers: { type: "string", default: "redis,redis-cluster,postgres,nats" },
  },
});
const MEMBERS = Number(values.members);
const SEQUENTIAL = Number(values.sequential);
const CLAIMS = Number(values.claims);
const ROUNDS = Number(values.rounds);

interface Server {
  pids(): number[];
  pair(prefix: string): [Broker, Broker];
  stop(): Promise<void>;
}

const redisPid = (port: number) =>
  Number(/process_id:(\d+)/.exec(execFileSync("redis-cli", ["-p", String(port), "info", "server"]).toString())?.[1]);

/** The process whose command line has `name` and `-p port` (the postmaster). */
function pidByPort(name: string, port: number): number {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      if (argv.some((a) => a.endsWith(name)) && argv.includes("-p") && argv[argv.indexOf("-p") + 1] === String(port)) {
        return Number(entry);
      }
    } catch {
      // gone meanwhile
    }
  }
  throw new Error(`no ${name} on port ${port}`);
}

async function server(kind: string): Promise<Server> {
  // the service and its children (PostgreSQL's backends), looked up at each reading
  const tree = (pid: number) => processTree(pid) as number[];
  if (kind === "redis") {
    const r = await startRedis();
    return {
      pids: () => tree(redisPid(r.port)),
      pair: (prefix) => [new RedisBroker({ url: r.url, prefix }), new RedisBroker({ url: r.url, prefix })],
      stop: () => r.stop(),
    };
  }
  if (kind === "redis-cluster") {
    const c = await startRedisCluster({ primaries: 3 });
    return {
      pids: () => c.nodes.flatMap((n) => tree(redisPid(n.port))),
      pair: (prefix) => [
        new RedisClusterBroker({ url: c.url, prefix }),
        new RedisClusterBroker({ url: c.url, prefix }),
      ],
      stop: () => c.stop(),
    };
  }
  if (kind === "postgres") {
    const pg = await startPostgres();
    return {
      pids: () => tree(pidByPort("postgres", pg.port)),
      pair: (prefix) => [new PostgresBroker({ url: pg.url, prefix }), new PostgresBroker({ url: pg.url, prefix })],
      stop: () => pg.stop(),
    };
  }
  const n = await startNats();
  return {
    pids: () => tree(n.pid!),
    pair: (prefix) => [new NatsBroker({ url: n.url, prefix }), new NatsBroker({ url: n.url, prefix })],
    stop: () => n.stop(),
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

interface Round {
  stormUs: number;
  serverCpuUs: number;
  joinMs: number;
  claimMs: number;
}

async function round(s: Server, prefix: string): Promise<Round> {
  const [a, b] = s.pair(prefix);
  try {
    const stream = `room-${prefix}`;
    await a.presence!.snapshot(stream); // connected, schema and streams created
    await b.presence!.snapshot(stream);
    const cpu0 = cpuSeconds(s.pids()) as number;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: MEMBERS }, (_, i) =>
        (i % 2 === 0 ? a : b).presence!.join(stream, `s${i}`, { id: `m${i}`, info: { name: `Member ${i}` } }),
      ),
    );
    const members = (await a.presence!.snapshot(stream)).members.length;
    if (members !== MEMBERS) throw new Error(`${members} members after ${MEMBERS} joins`);
    await Promise.all(
      Array.from({ length: MEMBERS }, (_, i) => (i % 2 === 0 ? a : b).presence!.leave(stream, `s${i}`)),
    );
    const stormUs = ((performance.now() - t0) * 1000) / (2 * MEMBERS);
    const serverCpuUs = (((cpuSeconds(s.pids()) as number) - cpu0) * 1e6) / (2 * MEMBERS);

    const one: number[] = [];
    for (let i = 0; i < SEQUENTIAL; i++) {
      const t = performance.now();
      await a.presence!.join(`one-${prefix}`, `q${i}`, { id: `q${i}`, info: null });
      await a.presence!.leave(`one-${prefix}`, `q${i}`);
      one.push((performance.now() - t) / 2);
    }
    const claims: number[] = [];
    for (let i = 0; i < CLAIMS; i++) {
      const t = performance.now();
      const claim = await b.dedup!.claim(`${prefix}-cmd-${i}`, 60_000);
      if (claim.state !== "new") throw new Error(`claim ${i}: ${claim.state}`);
      claims.push(performance.now() - t);
    }
    return { stormUs, serverCpuUs, joinMs: median(one), claimMs: median(claims) };
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}

const kinds = values.brokers.split(",");
const servers = new Map<string, Server>();
for (const kind of kinds) servers.set(kind, await server(kind));
const rounds = new Map<string, Round[]>(kinds.map((k) => [k, []]));
const load: number[] = [];
try {
  for (let r = 0; r < ROUNDS; r++) {
    for (const kind of kinds) {
      load.push(loadavg()[0]!);
      rounds.get(kind)!.push(await round(servers.get(kind)!, `b${r}${kind.replace(/\W/g, "")}`));
      process.stderr.write(`round ${r + 1} ${kind} done\n`);
    }
  }
} finally {
  for (const s of servers.values()) await s.stop();
}

const fmt = (x: number, digits = 0) => x.toLocaleString("en-US", { maximumFractionDigits: digits });
const lines = [
  "# Presence and dedup per broker",
  "",
  `\`npx tsx bench/channels/presence.ts --members ${MEMBERS} --sequential ${SEQUENTIAL} --claims ${CLAIMS} --rounds ${ROUNDS}\``,
  `(${new Date().toISOString().slice(0, 16)}Z; load average ${fmt(Math.min(...load), 1)}-${fmt(Math.max(...load), 1)} during the run;`,
  `medians of ${ROUNDS} interleaved rounds). Storm: ${MEMBERS} joins into one stream at once from two`,
  "processes, then every leave at once; per change: wall time, and the server's CPU from /proc.",
  "",
  "| broker | storm: wall per change (µs) | storm: server CPU per change (µs) | one join or leave at a time, p50 (ms) | dedup claim p50 (ms) |",
  "|---|---:|---:|---:|---:|",
];
for (const kind of kinds) {
  const rs = rounds.get(kind)!;
  lines.push(
    `| ${kind} | ${fmt(median(rs.map((r) => r.stormUs)))} | ${fmt(median(rs.map((r) => r.serverCpuUs)))} | ${fmt(median(rs.map((r) => r.joinMs)), 2)} | ${fmt(median(rs.map((r) => r.claimMs)), 2)} |`,
  );
}
const out = `${lines.join("\n")}\n`;
writeFileSync(new URL("../results/presence.md", import.meta.url), out);
process.stdout.write(out);
