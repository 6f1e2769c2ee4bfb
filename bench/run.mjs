#!/usr/bin/env node
// The side-by-side benchmark suite: every selected server, one after another, under the same load.
// Usage: node bench/run.mjs [--quick] [--only small-echo,latency] [--servers wirecable,ws,bun]
//          [--window S] [--warmup S] [--workers N] [--repeat N] [--out DIR] [--cpu-prof DIR]
// Writes DIR/results.json, DIR/results.md and DIR/chart.svg (DIR defaults to bench/results) and a
// progress line per step on stderr. Plain JS (not TypeScript through tsx) so that the load
// generator and the peers run without a transpiler in the measurement.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { runsWorkload, SERVERS } from "./lib/processes.mjs";
import { machine } from "./lib/procfs.mjs";
import { renderMarkdown, renderSvg } from "./lib/report.mjs";
import {
  IDLE_WAIT_MS,
  loadgenSettings,
  measureHandshakes,
  measureIdle,
  measureTraffic,
  startServer,
  WORKLOADS,
} from "./lib/workloads.mjs";

const ROOT = new URL("../", import.meta.url).pathname;
// floor (bench/servers/floor.mjs) runs only in the workloads where it is a floor (processes.mjs).
// cli-echo / cli-broadcast are `wirecable echo` / `wirecable broadcast` as a user starts them.
const DEFAULT_SERVERS = [
  "wirecable",
  "wirecable-lent",
  "wirecable-ping",
  "wirecable-semi8",
  "bare-semi8",
  "cli-echo",
  "cli-echo-semi8",
  "cli-broadcast",
  "ws",
  "uws",
  "bun",
  "floor",
  "cable",
];

const { values: opt } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    only: { type: "string" },
    servers: { type: "string" },
    window: { type: "string" },
    warmup: { type: "string" },
    workers: { type: "string", default: "6" },
    repeat: { type: "string", default: "1" },
    out: { type: "string", default: resolve(ROOT, "bench/results") },
    "cpu-prof": { type: "string" }, // directory: profile every single-process Node server
    saturate: { type: "string" }, // saturation: only the checks of these workloads
    merge: { type: "string" }, // an earlier results.json: its traffic rows count as earlier rounds
    loadgen: { type: "string", default: "native" }, // native (bench/lib/loadgen.c) or js (loadgen.mjs)
    "write-size": { type: "string", default: "0" }, // native: bytes per write() call (0: all that is queued)
    "read-mode": { type: "string", default: "copy" }, // native: copy (replies read) or trunc (payloads discarded by the kernel)
    help: { type: "boolean", short: "h", default: false },
  },
});

if (opt.help) {
  process.stdout.write(
    `${[
      "usage: node bench/run.mjs [--quick] [--only w1,w2] [--servers s1,s2] [--window S] [--warmup S]",
      "                         [--workers N] [--repeat N] [--out DIR] [--cpu-prof DIR]",
      "--repeat N: N interleaved rounds of each traffic workload; each server keeps its best round",
      "--saturate w1,w2: the saturation workload checks only these workloads' fastest servers",
      "--merge FILE: an earlier results.json whose traffic rows count as earlier rounds (and whose other workloads are kept)",
      "--loadgen native|js: the C/epoll load generator (default; compiled with gcc) or the Node one",
      "--write-size B: the native load generator's bytes per write() call (default 0: everything queued at once)",
      "--read-mode copy|trunc: the native load generator reads replies (default) or lets the kernel discard their payloads",
      `workloads: ${WORKLOADS.map((w) => w.name).join(", ")} (idle-100k and saturation are skipped by --quick)`,
      `servers:   ${DEFAULT_SERVERS.join(", ")}, websocket-driver (bare is added to idle workloads as the baseline;`,
      "           floor, Node's cheapest echo, runs in small-echo, latency, large, conns-1000, broadcast, handshakes;",
      "           cable, the CableServer (ActionCable), in broadcast-10k only: the channels broadcast beside the raw one;",
      "           wirecable-lent, the library server with lendMessages, in large only;",
      "           wirecable-ping, the library server with its default heartbeat, in idle only;",
      "           wirecable-semi8 and bare-semi8, under node --max-semi-space-size=8, in idle only;",
      "           cli-echo-semi8, wirecable echo with NODE_OPTIONS=--max-semi-space-size=8, in idle only)",
    ].join("\n")}\n`,
  );
  process.exit(0);
}

const quick = opt.quick;
if (opt.loadgen !== "native" && opt.loadgen !== "js")
  throw new Error(`unknown load generator ${opt.loadgen}; known: native, js`);
loadgenSettings.kind = opt.loadgen === "js" ? "js" : "native";
loadgenSettings.writeSize = Number(opt["write-size"]);
if (opt["read-mode"] !== "trunc" && opt["read-mode"] !== "copy")
  throw new Error(`unknown read mode ${opt["read-mode"]}; known: trunc, copy`);
loadgenSettings.readMode = opt["read-mode"];
const timing = {
  warmup: Number(opt.warmup ?? (quick ? 0.3 : 1)),
  window: Number(opt.window ?? (quick ? 1.5 : 5)),
};
const repeat = Math.max(1, Number(opt.repeat));
const only = opt.only ? opt.only.split(",").map((s) => s.trim()) : null;
let servers = opt.servers ? opt.servers.split(",").map((s) => s.trim()) : DEFAULT_SERVERS;
for (const s of servers) if (!SERVERS[s]) throw new Error(`unknown server ${s}; known: ${Object.keys(SERVERS)}`);
if (only) for (const w of only) if (!WORKLOADS.some((x) => x.name === w)) throw new Error(`unknown workload ${w}`);

const notes = [];
let commit = null;
const distDir = process.env.WIRECABLE_DIST ? resolve(process.env.WIRECABLE_DIST) : resolve(ROOT, "dist");
if (process.env.WIRECABLE_DIST) process.env.WIRECABLE_DIST = distDir;
if (servers.includes("wirecable") && !existsSync(resolve(distDir, "node/index.js"))) {
  notes.push(`wirecable skipped: ${distDir}/node/index.js missing (run \`npm run build\`).`);
  servers = servers.filter((s) => s !== "wirecable");
}
try {
  const head = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8" }).trim();
  commit = head;
  notes.push(
    `wirecable built from ${distDir.replace(ROOT, "")} at commit ${head} (plus any uncommitted work in the tree).`,
  );
} catch {}
notes.push(
  loadgenSettings.kind === "native"
    ? `Load: bench/lib/loadgen.c (C, epoll; one process per load generator), ${loadgenSettings.writeSize ? `at most ${loadgenSettings.writeSize} bytes per write() call` : "everything queued in one write() call"}; reply payloads ${loadgenSettings.readMode === "copy" ? "read into user space" : "discarded by the kernel (MSG_TRUNC)"}.`
    : "Load: bench/lib/loadgen.mjs (Node).",
);
{
  // The command that reproduces this run, and the scheduling priority it had (bench/README.md).
  let group = "";
  try {
    group = readFileSync("/proc/self/autogroup", "latin1").trim();
  } catch {}
  const args = process.argv.slice(2).filter((a, i, all) => a !== "--out" && all[i - 1] !== "--out");
  notes.push(
    `Command: \`npm run build && node bench/run.mjs ${args.join(" ")}\`${group ? ` (autogroup: \`${group}\`)` : ""}.`,
  );
}
notes.push("Deno is not part of the suite (not installed here; Bun already covers the uWebSockets class of server).");

const log = (s) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${s}\n`);
const fmt = (v, d = 0) => (Number.isFinite(v) ? (d ? v.toFixed(d) : Math.round(v).toLocaleString("en-US")) : "-");

const merged = opt.merge ? JSON.parse(readFileSync(resolve(opt.merge), "utf8")) : null;
const run = {
  commit,
  machine: machine(),
  options: {
    quick,
    ...timing,
    repeat,
    servers,
    only,
    loadgen: loadgenSettings.kind,
    writeSize: loadgenSettings.writeSize,
    readMode: loadgenSettings.readMode,
  },
  workloads: [],
  notes,
};
mkdirSync(opt.out, { recursive: true });
const profDir = opt["cpu-prof"] ? resolve(opt["cpu-prof"]) : null;
if (profDir) mkdirSync(profDir, { recursive: true });

function write() {
  writeFileSync(resolve(opt.out, "results.json"), `${JSON.stringify(run, null, 2)}\n`);
  writeFileSync(resolve(opt.out, "results.md"), renderMarkdown(run));
  writeFileSync(resolve(opt.out, "chart.svg"), renderSvg(run));
}

async function withServer(name, options, fn, workload = "run") {
  // Profiles only single-process Node servers: one file per server and workload.
  const nodeArgs =
    profDir && !SERVERS[name].bun && !(options.workers > 1)
      ? [
          "--cpu-prof",
          `--cpu-prof-dir=${profDir}`,
          `--cpu-prof-name=${name}.${workload}.cpuprofile`,
          "--cpu-prof-interval=250",
        ]
      : [];
  const server = await startServer(name, { ...options, nodeArgs });
  try {
    const r = await fn(server);
    if (!server.alive()) throw new Error(`server died: ${server.stderr().slice(-300)}`);
    return r;
  } finally {
    await server.stop();
  }
}

async function attempt(label, fn) {
  try {
    return await fn();
  } catch (err) {
    const msg = String(err?.message ?? err).split("\n")[0];
    log(`${label}: FAILED ${msg}`);
    return { error: `failed: ${msg.replaceAll("|", "/")}` };
  }
}

log(`machine: ${run.machine.nproc} x ${run.machine.cpu}, node ${run.machine.node}, bun ${run.machine.bun}`);
log(`servers: ${servers.join(", ")}; window ${timing.window} s after ${timing.warmup} s warm-up`);

for (const wl of WORKLOADS) {
  if (only ? !only.includes(wl.name) : quick && wl.slow) continue;
  const wlServers = servers.filter((s) => runsWorkload(s, wl.name));
  if ((wl.kind === "traffic" || wl.kind === "handshake") && wlServers.length === 0) continue;
  const entry = { name: wl.name, title: wl.title, kind: wl.kind, unit: wl.unit, rows: [] };
  run.workloads.push(entry);
  log(`== ${wl.name}: ${wl.title}`);
  if (wl.kind === "traffic" || wl.kind === "handshake") {
    // Servers interleaved round by round; each keeps its best round (the highest throughput):
    // other work on the machine only ever slows a round down.
    const best = new Map();
    // Rows of an earlier run (--merge) count as earlier rounds of the same workload.
    for (const r of merged?.workloads.find((w) => w.name === wl.name)?.rows ?? [])
      if (!r.error && wlServers.includes(r.server)) best.set(r.server, { ...r, rounds: (r.rounds ?? 1) + repeat });
    for (let round = 1; round <= repeat; round++) {
      for (const s of wlServers) {
        if (wl.deflate && !SERVERS[s].deflate) {
          best.set(s, { server: s, error: "n/a (no permessage-deflate in this peer)" });
          continue;
        }
        const label = `${wl.name} / ${s}${repeat > 1 ? ` (round ${round})` : ""}`;
        const r = await attempt(label, () =>
          withServer(
            s,
            { deflate: !!wl.deflate },
            (srv) => (wl.kind === "handshake" ? measureHandshakes(srv, wl, timing) : measureTraffic(srv, wl, timing)),
            wl.name,
          ),
        );
        if (!r.error)
          log(
            `${label}: ${fmt(r.perSec)} ${wl.unit}, ${fmt(r.mbPerSec, 1)} MB/s, ` +
              `p50 ${fmt(r.p50)} us, p99 ${fmt(r.p99)} us, server ${fmt(r.cpuUsPer, 2)} us/msg${r.userUsPer !== undefined ? ` (user ${fmt(r.userUsPer, 3)})` : ""} at ${fmt(r.serverCpuPct)}% CPU, ` +
              (r.writesPerMsg !== undefined ? `${fmt(r.writesPerMsg, 3)} writes/msg, ` : "") +
              `loadgen ${r.loadgenCpuPct.map((v) => `${fmt(v)}%`).join(" + ")}, other ${fmt(r.otherCpuPct)}%` +
              (r.compressed === false ? " (server answers were NOT compressed)" : "") +
              (r.closedEarly ? `, ${r.closedEarly} closed early` : ""),
          );
        if (wl.deflate && r.compressed === false) r.error = "deflate not negotiated / answers uncompressed";
        const prev = best.get(s);
        if (!prev || prev.error || (!r.error && r.perSec > prev.perSec))
          best.set(s, { server: s, rounds: prev?.rounds ?? repeat, ...r });
        entry.rows = wlServers.filter((x) => best.has(x)).map((x) => best.get(x));
        write();
      }
    }
  } else if (wl.kind === "idle") {
    const counts = quick && wl.quickCounts ? wl.quickCounts : wl.counts;
    const workers = wl.workers > 1 ? Number(opt.workers) : 1;
    // The bare socket is the baseline of plain idle connections; compressed ones compare servers.
    const idleServers = wl.deflate ? wlServers.filter((s) => SERVERS[s].deflate) : ["bare", ...wlServers];
    for (const count of counts) {
      for (const s of idleServers) {
        const label = `${wl.name} ${count} / ${s}`;
        const r = await attempt(label, () =>
          withServer(
            s,
            { workers, deflate: !!wl.deflate },
            (srv) => measureIdle(srv, wl, count),
            `${wl.name}-${count}`,
          ),
        );
        entry.rows.push({ server: s, count, workers, ...r });
        if (!r.error)
          log(
            `${label}: ${fmt(r.kbPerConn, 2)} KB/conn (${fmt(r.open)} open, ${r.failed} failed${r.echoed !== undefined ? `, ${fmt(r.echoed)} echoed` : ""}, RSS ${fmt(r.rssBeforeKB / 1024, 1)} -> ${fmt(r.rssAfterKB / 1024, 1)} MB${r.rssIdleKB === undefined ? "" : `; after ${IDLE_WAIT_MS / 1000} s idle ${fmt(r.kbPerConnIdle, 2)} KB/conn, RSS ${fmt(r.rssIdleKB / 1024, 1)} MB`})`,
          );
        write();
      }
    }
    if (workers > 1)
      entry.note = `${workers} server processes (cluster on one port for Node, reusePort for Bun), ${wl.loadgens} load generator processes, each from its own 127.0.0.x address.`;
  } else if (wl.kind === "saturation") {
    // Each workload's fastest server, driven by its usual number of load generator processes and
    // by twice as many: when doubling them does not raise its throughput, one set is not the limit.
    const saturate = opt.saturate ? opt.saturate.split(",").map((x) => x.trim()) : null;
    for (const [name, s] of wl.checks) {
      if (saturate && !saturate.includes(name)) continue;
      const target = WORKLOADS.find((w) => w.name === name);
      if (!runsWorkload(s, name)) continue;
      for (const k of [1, 2]) {
        const n = target.loadgens * k;
        const label = `saturation ${name} / ${s} / ${n} loadgen(s)`;
        const r = await attempt(label, () =>
          withServer(s, { deflate: !!target.deflate }, (srv) =>
            target.kind === "handshake"
              ? measureHandshakes(srv, target, timing, n)
              : measureTraffic(srv, target, timing, n),
          ),
        );
        entry.rows.push({ server: s, workload: name, unit: target.unit, loadgens: n, ...r });
        if (!r.error)
          log(
            `${label}: ${fmt(r.perSec)} ${target.unit}, server ${fmt(r.serverCpuPct)}% CPU ${fmt(r.cpuUsPer, 2)} us/msg, loadgen ${r.loadgenCpuPct.map((v) => `${fmt(v)}%`).join(" + ")}, other ${fmt(r.otherCpuPct)}%`,
          );
        write();
      }
    }
  }
}
if (merged) {
  for (const w of merged.workloads) if (!run.workloads.some((x) => x.name === w.name)) run.workloads.push(w);
  const order = WORKLOADS.map((w) => w.name);
  run.workloads.sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
  run.options.merged = true;
}
write();
log(`wrote ${resolve(opt.out, "results.md")} and chart.svg`);
