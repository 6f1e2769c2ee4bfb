#!/usr/bin/env node
import { createHash } from "node:crypto";
// Where an idle connection's memory goes: JS heap objects per connection, by constructor.
// Usage: node --expose-gc bench/heap-per-conn.mjs [--server wirecable|ws|bare] [--count N] [--top N]
//          [--rss | --spaces [--nvp] [--idle-wait S] | --alloc [--kept minor|full]] [--ping MS [--lend]]
// Starts the server in this process (the same app logic as bench/servers/), takes a heap
// snapshot, opens N idle connections from a load generator child process, takes another, and
// prints the difference per connection grouped by node type and constructor name, plus the
// heap total. `--rss`: no snapshots; RSS growth per connection and how much of it is V8's young
// and old generations (committed sizes). Off-heap memory (socket buffers in libuv, kernel memory) is not in the heap.
// `--ping MS` (wirecable): the server's heartbeat every MS ms of silence, answered by the native load generator
// (loadgen.c answers pings; the Node one does not), measured 2 x MS + 500 ms after the connections opened, once
// every connection has been pinged and has answered; `--lend` adds `lendMessages` (`wirecable echo` runs both).
// `--spaces`: no snapshots; the idle workload's readings (bench/lib/workloads.mjs: one full GC,
// 1.5 s, the "settled" reading; then `--idle-wait` s more with no forced GC) of each V8 heap space
// (committed and used, B/conn), RSS and malloc'd memory; `--nvp` runs it under --trace-gc-nvp and
// sums the burst's collections per connection: bytes allocated, survived (copied or promoted by a
// scavenge: what makes V8 grow the young generation) and promoted.
// `--alloc`: the sampling heap profiler over the burst, collected objects included: the bytes
// each handshake allocates, by allocating function and its two callers, and the part allocated
// with a library frame (dist/) on the stack (Node's functions called by the library included).
import { once } from "node:events";
import { readFileSync } from "node:fs";
import net from "node:net";
import { parseArgs } from "node:util";
import v8 from "node:v8";
import { startNativeLoadgen } from "./lib/native-loadgen.mjs";
import { startLoadgen } from "./lib/processes.mjs";

const { values } = parseArgs({
  options: {
    server: { type: "string", default: "wirecable" },
    count: { type: "string", default: "2000" },
    top: { type: "string", default: "20" },
    // RSS and V8 generations only, no heap snapshots (a snapshot's own memory would be in the RSS)
    rss: { type: "boolean", default: false },
    ping: { type: "string", default: "0" },
    lend: { type: "boolean", default: false },
    // V8's heap spaces at the idle workload's readings (settled, then after --idle-wait seconds)
    spaces: { type: "boolean", default: false },
    "idle-wait": { type: "string", default: "40" },
    // with --spaces: rerun under --trace-gc-nvp and sum the burst's collections per connection
    nvp: { type: "boolean", default: false },
    // bytes allocated during the burst per connection, by allocating function (sampling heap
    // profiler, collected objects included): what each handshake allocates, garbage or not
    alloc: { type: "boolean", default: false },
    // with --alloc: only what is still in the heap after the burst and `minor` (two scavenges:
    // the live connections plus the garbage promoted since the last mark-compact) or `full` (a
    // full GC: the live connections) collections
    kept: { type: "string" },
  },
});
const count = Number(values.count);
const ping = Number(values.ping);
if (values.nvp && process.env.HEAP_PER_CONN_NVP === undefined) await nvpRun();
if (typeof globalThis.gc !== "function") throw new Error("run with node --expose-gc");

/** `--spaces --nvp`: this script again under --trace-gc-nvp; its collections during the burst summed. */
async function nvpRun() {
  const { spawn } = await import("node:child_process");
  const args = process.argv.slice(2).filter((a) => a !== "--nvp");
  const child = spawn(process.execPath, ["--expose-gc", "--trace-gc-nvp", process.argv[1], ...args], {
    env: { ...process.env, HEAP_PER_CONN_NVP: "1" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  child.stdout.on("data", (d) => {
    out += d;
  });
  await once(child, "close");
  let burst = false;
  let n = 0;
  const sum = { scavenges: 0, others: 0, allocated: 0, survived: 0, promoted: 0 };
  for (const line of out.split("\n")) {
    if (line === "BURST-START") burst = true;
    else if (line.startsWith("BURST-END")) {
      burst = false;
      n = Number(line.split(" ")[1]);
    } else if (line.includes(" gc=")) {
      if (!burst) continue;
      const field = (k) => Number(new RegExp(`\\b${k}=(\\d+)`).exec(line)?.[1] ?? 0);
      if (/ gc=s /.test(line)) sum.scavenges++;
      else sum.others++;
      sum.allocated += field("allocated");
      sum.survived += field("new_space_survived");
      sum.promoted += field("promoted");
    } else console.log(line);
  }
  const per = (k) => (sum[k] / n).toFixed(0);
  console.log(
    `During the burst: ${sum.scavenges} scavenges, ${sum.others} other collections; per connection: ` +
      `${per("allocated")} B allocated, ${per("survived")} B survived a scavenge (copied or promoted), ` +
      `${per("promoted")} B promoted`,
  );
  process.exit(0);
}

async function startServer(kind) {
  if (kind === "ws") {
    const { WebSocketServer } = await import("ws");
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false });
    wss.on("connection", (ws) => ws.on("message", (d, b) => ws.send(d, { binary: b })));
    await once(wss, "listening");
    return wss.address().port;
  }
  if (kind === "bare") {
    const server = net.createServer((socket) => {
      socket.on("error", () => {});
      socket.once("data", (d) => {
        const key = /sec-websocket-key:\s*(\S+)/i.exec(String(d))?.[1] ?? "";
        const accept = createHash("sha1").update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64");
        socket.write(
          `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
        );
        socket.on("data", () => {});
      });
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    return server.address().port;
  }
  const dist = process.env.WIRECABLE_DIST
    ? `file://${process.env.WIRECABLE_DIST}/node/index.js`
    : new URL("../dist/node/index.js", import.meta.url).href;
  const { WebSocketServer } = await import(dist);
  const wss = new WebSocketServer({
    host: "127.0.0.1",
    port: 0,
    pingInterval: ping,
    perMessageDeflate: false,
    ...(values.lend ? { lendMessages: true } : {}),
  });
  wss.on("connection", (c) => c.on("message", (d, b) => c.send(d, { binary: b })));
  await wss.ready;
  return wss.address().port;
}

/** Self size and count per "type:name" of a V8 heap snapshot. */
function aggregate() {
  gc();
  gc();
  const snap = JSON.parse(readSnapshot());
  const f = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const [iType, iName, iSize] = ["type", "name", "self_size"].map((k) => f.indexOf(k));
  const nodes = snap.nodes;
  const out = new Map();
  for (let i = 0; i < nodes.length; i += f.length) {
    const type = types[nodes[i + iType]];
    let name = snap.strings[nodes[i + iName]];
    if (type === "string" || type === "concatenated string" || type === "sliced string") name = "(strings)";
    else if (type === "code") name = "(code)";
    else if (name.length > 60) name = `${name.slice(0, 57)}...`;
    const key = `${type}:${name}`;
    const e = out.get(key) ?? { size: 0, count: 0 };
    e.size += nodes[i + iSize];
    e.count++;
    out.set(key, e);
  }
  return out;
}

function readSnapshot() {
  const chunks = [];
  const stream = v8.getHeapSnapshot();
  let c;
  while ((c = stream.read()) !== null) chunks.push(c);
  return Buffer.concat(chunks).toString("utf8");
}

/** Full GCs, then the heap by constructor (null with --rss: no snapshot). */
function measure() {
  if (!values.rss) return aggregate();
  gc();
  gc();
  return null;
}

/** RSS and the committed size of V8's young and old generations, KB (after full GCs). */
function spaces() {
  const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync("/proc/self/status", "latin1"))[1]);
  const kb = (name) => v8.getHeapSpaceStatistics().find((s) => s.space_name === name).physical_space_size / 1024;
  return { rss, young: kb("new_space"), old: kb("old_space") };
}

/** Every V8 heap space's committed and used bytes, RSS and malloc'd (external) bytes. */
function spaceTable() {
  const t = {};
  for (const s of v8.getHeapSpaceStatistics())
    t[s.space_name] = { committed: s.physical_space_size, used: s.space_used_size };
  const m = process.memoryUsage();
  t.rss = { committed: m.rss, used: m.rss };
  t.external = { committed: m.external, used: m.external };
  return t;
}

/** The idle workload's procedure (bench/lib/workloads.mjs measureIdle), V8's spaces per connection. */
async function spacesRun(port) {
  gc();
  await new Promise((r) => setTimeout(r, 800));
  const t0 = spaceTable();
  if (process.env.HEAP_PER_CONN_NVP) console.log("BURST-START"); // for --nvp: the burst's collections
  const lg = startLoadgen();
  const ready = await lg.connect({
    host: "127.0.0.1",
    port,
    connectConcurrency: 100,
    groups: [{ name: "idle", count, inflight: 0 }],
  });
  const t1 = spaceTable(); // right after the burst, before any forced GC
  if (process.env.HEAP_PER_CONN_NVP) console.log(`BURST-END ${ready.open}`);
  gc();
  await new Promise((r) => setTimeout(r, 1500));
  const t2 = spaceTable();
  await new Promise((r) => setTimeout(r, Number(values["idle-wait"]) * 1000));
  const t3 = spaceTable();
  const n = ready.open;
  const per = (t, k, f) => ((t[k][f] - t0[k][f]) / n).toFixed(0);
  console.log(`## ${values.server}: ${n} idle connections, B/conn (committed / used)\n`);
  console.log(
    `| space | after the burst | settled (gc + 1.5 s) | after ${values["idle-wait"]} s idle |\n|---|---:|---:|---:|`,
  );
  for (const k of Object.keys(t0)) {
    const cells = [t1, t2, t3].map((t) => `${per(t, k, "committed")} / ${per(t, k, "used")}`);
    console.log(`| ${k} | ${cells.join(" | ")} |`);
  }
  await lg.stop();
  process.exit(0);
}

/** The sampling heap profiler over the burst: bytes allocated per connection, by function. */
async function allocRun(port) {
  const { Session } = await import("node:inspector/promises");
  const session = new Session();
  session.connect();
  await session.post("HeapProfiler.enable");
  gc();
  const lg = startLoadgen();
  await session.post("HeapProfiler.startSampling", {
    samplingInterval: 128,
    includeObjectsCollectedByMajorGC: values.kept === undefined,
    includeObjectsCollectedByMinorGC: values.kept === undefined,
  });
  const ready = await lg.connect({
    host: "127.0.0.1",
    port,
    connectConcurrency: 100,
    groups: [{ name: "idle", count, inflight: 0 }],
  });
  if (values.kept === "minor") {
    gc({ type: "minor" });
    gc({ type: "minor" });
  } else if (values.kept === "full") gc();
  const { profile } = await session.post("HeapProfiler.stopSampling");
  const n = ready.open;
  const bySite = new Map();
  let total = 0;
  // allocations with a frame of the library (dist/) on their stack: what it costs above Node's own
  let own = 0;
  const walk = (node, stack, mine) => {
    const f = node.callFrame;
    const here = `${f.functionName || "(anonymous)"} ${f.url.replace(/^.*\/(dist|node_modules|lib)\//, "$1/")}:${f.lineNumber + 1}`;
    const self = node.selfSize;
    const ours = mine || here.startsWith("dist/", here.indexOf(" ") + 1);
    if (ours) own += self;
    if (self > 0) {
      // the allocating function and its two callers
      const key = `${here} <- ${stack.slice(-2).reverse().join(" <- ")}`;
      bySite.set(key, (bySite.get(key) ?? 0) + self);
      total += self;
    }
    for (const c of node.children) walk(c, [...stack, here], ours);
  };
  walk(profile.head, [], false);
  console.log(
    `## ${values.server}: ${n} connections, ${(total / n).toFixed(0)} B allocated per connection (sampled), ${(own / n).toFixed(0)} B of them under the library's frames\n`,
  );
  console.log("| B/conn | allocated in <- caller <- caller |\n|---:|---|");
  for (const [k, v] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top)))
    console.log(`| ${(v / n).toFixed(0)} | \`${k}\` |`);
  await lg.stop();
  process.exit(0);
}

const port = await startServer(values.server);
if (values.alloc) await allocRun(port);
if (values.spaces) await spacesRun(port);
const before = measure();
const heap0 = process.memoryUsage().heapUsed;
const spaces0 = spaces();
const lg = ping > 0 ? startNativeLoadgen() : startLoadgen();
const ready = await lg.connect({
  host: "127.0.0.1",
  port,
  connectConcurrency: 100,
  groups: [{ name: "idle", count, inflight: 0 }],
});
await new Promise((r) => setTimeout(r, 500 + 2 * ping));
const after = measure();
const heap1 = process.memoryUsage().heapUsed;
const spaces1 = spaces();
const n = ready.open;
const per = (k) => (((spaces1[k] - spaces0[k]) * 1024) / n).toFixed(0);
const heartbeat = ping > 0 ? `, heartbeat every ${ping} ms answered${values.lend ? ", lendMessages" : ""}` : "";
console.log(`## ${values.server}: ${n} idle connections${heartbeat}\n`);
console.log(`JS heap used +${((heap1 - heap0) / n / 1024).toFixed(2)} KB/conn (after full GCs)`);
// The young generation grows with the allocation rate of the handshakes and stays committed:
// memory that comes with a burst of connections, not with each open one.
if (values.rss) {
  console.log(
    `RSS +${per("rss")} B/conn, of which V8 young generation +${per("young")}, old generation +${per("old")}\n`,
  );
  await lg.stop();
  process.exit(0);
}
console.log("");
const rows = [];
for (const [key, a] of after) {
  const b = before.get(key) ?? { size: 0, count: 0 };
  const ds = a.size - b.size;
  if (ds > 0) rows.push([key, ds / n, (a.count - b.count) / n]);
}
rows.sort((x, y) => y[1] - x[1]);
const total = rows.reduce((s, r) => s + r[1], 0);
console.log(`| bytes/conn | objects/conn | type:constructor |\n|---:|---:|---|`);
for (const [key, size, cnt] of rows.slice(0, Number(values.top)))
  console.log(`| ${size.toFixed(0)} | ${cnt.toFixed(2)} | \`${key}\` |`);
console.log(`| ${total.toFixed(0)} | | total growth (all types) |\n`);
await lg.stop();
process.exit(0);
