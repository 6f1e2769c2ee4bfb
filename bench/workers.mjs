#!/usr/bin/env node
// Multi-core scaling of the CLI servers: `wirecable echo|broadcast --workers N` (node:cluster on
// one port) under the suite's own workloads (lib/workloads.mjs: small-echo, conns-1000, broadcast),
// for each N of --workers (default 1,2), interleaved round by round, best round kept.
// Usage: npm run build && node bench/workers.mjs [--workers 1,2] [--only small-echo,broadcast]
//          [--window S] [--warmup S] [--repeat N] [--out FILE]
// Writes FILE (default bench/results/workers.md) and a progress line per step on stderr.
// The load generators run on the same machine: on a 2-core machine they share the cores with
// the workers, so server CPU per message is the figure that does not depend on that.
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { startCliServer } from "./lib/processes.mjs";
import { machine } from "./lib/procfs.mjs";
import { measureTraffic, WORKLOADS } from "./lib/workloads.mjs";

const ROOT = new URL("../", import.meta.url).pathname;
const COMMAND = { "small-echo": "echo", "conns-1000": "echo", broadcast: "broadcast" };

const { values: opt } = parseArgs({
  options: {
    workers: { type: "string", default: "1,2" },
    only: { type: "string", default: "small-echo,conns-1000,broadcast" },
    window: { type: "string", default: "5" },
    warmup: { type: "string", default: "1" },
    repeat: { type: "string", default: "2" },
    out: { type: "string", default: resolve(ROOT, "bench/results/workers.md") },
  },
});
const counts = opt.workers.split(",").map(Number);
const names = opt.only.split(",").map((s) => s.trim());
for (const n of names) if (!COMMAND[n]) throw new Error(`workload ${n} not supported; use ${Object.keys(COMMAND)}`);
const timing = { warmup: Number(opt.warmup), window: Number(opt.window) };
const repeat = Math.max(1, Number(opt.repeat));
const argv = process.argv.slice(2).join(" ");
const log = (s) => process.stderr.write(`[workers ${new Date().toISOString().slice(11, 19)}] ${s}\n`);
const fmt = (v, d = 0) => (Number.isFinite(v) ? (d ? v.toFixed(d) : Math.round(v).toLocaleString("en-US")) : "-");

const m = machine();
log(`machine: ${m.nproc} x ${m.cpu}, node ${m.node}`);
const results = [];
for (const name of names) {
  const wl = WORKLOADS.find((w) => w.name === name);
  const best = new Map();
  for (let round = 1; round <= repeat; round++) {
    for (const n of counts) {
      const label = `${name} / ${COMMAND[name]} --workers ${n} (round ${round})`;
      const server = await startCliServer(COMMAND[name], { workers: n });
      let r;
      try {
        r = await measureTraffic(server, wl, timing);
        if (!server.alive()) throw new Error(`server died: ${server.stderr().slice(-300)}`);
      } catch (err) {
        log(`${label}: FAILED ${err?.message ?? err}`);
        r = { error: String(err?.message ?? err).split("\n")[0] };
      } finally {
        await server.stop();
      }
      if (!r.error)
        log(
          `${label}: ${fmt(r.perSec)} ${wl.unit}, p50 ${fmt(r.p50)} us, p99 ${fmt(r.p99)} us, ` +
            `server ${fmt(r.cpuUsPer, 2)} us/msg at ${fmt(r.serverCpuPct)}% CPU, loadgen ${r.loadgenCpuPct
              .map((v) => `${fmt(v)}%`)
              .join(" + ")}, other ${fmt(r.otherCpuPct)}%`,
        );
      const prev = best.get(n);
      if (!prev || prev.error || (!r.error && r.perSec > prev.perSec)) best.set(n, r);
    }
  }
  results.push({ wl, command: COMMAND[name], rows: counts.map((n) => ({ workers: n, ...best.get(n) })) });
}

const lines = [
  "# CLI servers with `--workers N` (node:cluster, one port)",
  "",
  `Command: \`npm run build && node bench/workers.mjs${argv ? ` ${argv}` : ""}\` (${new Date().toISOString().slice(0, 16)}Z).`,
  `Machine: ${m.nproc} x ${m.cpu}, ${m.memGiB ?? "?"} GiB, Node ${m.node}. Window ${timing.window} s after ${timing.warmup} s warm-up,`,
  `best of ${repeat} interleaved rounds (highest throughput). Servers: \`wirecable echo|broadcast --port 0 --workers N\``,
  "from dist/ (bin/wirecable.js); load from the suite's generator (bench/lib/loadgen.mjs) on the same machine.",
  "Server CPU is the whole process tree: the cluster primary (which accepts connections and, for",
  "broadcast, relays every message to every worker over IPC) plus the workers.",
  "",
];
for (const { wl, command, rows } of results) {
  lines.push(`## ${wl.name} (\`wirecable ${command}\`): ${wl.title}`, "");
  lines.push(
    `| --workers | ${wl.unit} | p50 µs | p99 µs | server µs/msg | server CPU | loadgen CPU | other CPU |`,
    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  );
  for (const r of rows) {
    if (r.error) lines.push(`| ${r.workers} | ${r.error} | | | | | | |`);
    else
      lines.push(
        `| ${r.workers} | ${fmt(r.perSec)} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${fmt(r.cpuUsPer, 2)} | ${fmt(r.serverCpuPct)} % | ${r.loadgenCpuPct.map((v) => `${fmt(v)} %`).join(" + ")} | ${fmt(r.otherCpuPct)} % |`,
      );
  }
  lines.push("");
}
writeFileSync(opt.out, `${lines.join("\n")}\n`);
log(`wrote ${opt.out}`);
