#!/usr/bin/env node
import { createHash } from "node:crypto";
// Where an idle connection's memory goes: JS heap objects per connection, by constructor.
// Usage: node --expose-gc bench/heap-per-conn.mjs [--server wirecable|ws|bare] [--count N] [--top N] [--rss]
//   [--ping MS [--lend]]
// Starts the server in this process (the same app logic as bench/servers/), takes a heap
// snapshot, opens N idle connections from a load generator child process, takes another, and
// prints the difference per connection grouped by node type and constructor name, plus the
// heap total. `--rss`: no snapshots; RSS growth per connection and how much of it is V8's young
// and old generations (committed sizes). Off-heap memory (socket buffers in libuv, kernel memory) is not in the heap.
// `--ping MS` (wirecable): the server's heartbeat every MS ms of silence, answered by the native load generator
// (loadgen.c answers pings; the Node one does not), measured 2 x MS + 500 ms after the connections opened, once
// every connection has been pinged and has answered; `--lend` adds `lendMessages` (`wirecable echo` runs both).
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
  },
});
const count = Number(values.count);
const ping = Number(values.ping);
if (typeof globalThis.gc !== "function") throw new Error("run with node --expose-gc");

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

const port = await startServer(values.server);
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
