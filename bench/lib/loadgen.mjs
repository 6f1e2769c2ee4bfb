// Load generator worker: one child process driving many raw TCP connections, controlled over IPC.
// Contract (messages from the coordinator):
//   {type:"connect", config}  open every connection and finish its handshake -> {type:"ready", open, failed}
//   {type:"start"}            start traffic (echo groups write their in-flight frames) -> {type:"started"}
//   {type:"mark", id}         snapshot counters since the previous mark -> {type:"mark", id, groups, ...}
//   {type:"stop"}             destroy every socket and exit
// Designed not to be the bottleneck: raw `net` sockets with a shared read buffer (`onread`), the
// handshake written by hand, frames masked once and reused, N messages pipelined per connection,
// replies counted by walking frame headers only, refills written as one slice per read.
import net from "node:net";
import { performance } from "node:perf_hooks";
import { FrameCounter, handshakeRequest, maskedFrame, repeatFrame } from "./frames.mjs";
import { Histogram } from "./histogram.mjs";

const READ_BUFFER = Buffer.allocUnsafe(1 << 20); // shared: callbacks consume it synchronously
const CRLFCRLF = Buffer.from("\r\n\r\n");

let config;
let started = false;
const groups = [];
const conns = [];
let failed = 0;
let closedEarly = 0;
let stopping = false;

/** Per-group state: the pre-built batch and counters. */
function makeGroup(g) {
  const payload = g.payload
    ? Buffer.from(g.payload)
    : Buffer.alloc(g.size ?? 64, g.binary ? 0xab : 0x61 /* "a": valid UTF-8 */);
  const frame = maskedFrame(payload, { binary: !!g.binary, compressed: !!g.compressed });
  const inflight = g.inflight ?? 0;
  return {
    ...g,
    payloadSize: payload.length,
    frame,
    frameLen: frame.length,
    batch: inflight > 0 ? repeatFrame(frame, inflight) : null,
    inflight,
    msgs: 0,
    hist: g.latency ? new Histogram() : null,
    compressedSeen: 0,
    request: handshakeRequest(config.host, config.port, g.path ?? "/", { deflate: !!g.deflate, protocol: g.protocol }),
    // Written once right after the 101 (e.g. an ActionCable subscribe command).
    init: g.init ? maskedFrame(Buffer.from(g.init)) : null,
  };
}

function openConnection(group, localAddress, localPort) {
  return new Promise((resolve) => {
    const conn = { group, sock: null, open: false, hs: null, counter: new FrameCounter(), ring: null, rh: 0, rt: 0 };
    if (group.hist) conn.ring = new Float64Array(Math.max(1, group.inflight));
    let settled = false;
    const settle = (ok) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(ok ? conn : null);
    };
    // A server that never answers must not hang the run.
    const timer = setTimeout(() => {
      conn.sock.destroy();
      settle(false);
    }, config.handshakeTimeout ?? 10_000);
    const sock = net.connect({
      host: config.host,
      port: config.port,
      localAddress,
      localPort,
      noDelay: true,
      onread: {
        buffer: READ_BUFFER,
        callback(nread, buf) {
          if (conn.open) {
            onFrames(conn, buf.subarray(0, nread));
            return;
          }
          const chunk = Buffer.from(buf.subarray(0, nread));
          conn.hs = conn.hs ? Buffer.concat([conn.hs, chunk]) : chunk;
          const end = conn.hs.indexOf(CRLFCRLF);
          if (end < 0) return;
          const head = conn.hs.toString("latin1", 0, end);
          if (!head.startsWith("HTTP/1.1 101")) {
            sock.destroy();
            settle(false);
            return;
          }
          conn.open = true;
          if (conn.group.init !== null) sock.write(conn.group.init);
          const rest = conn.hs.subarray(end + 4);
          conn.hs = null;
          if (rest.length > 0) onFrames(conn, rest);
          settle(true);
        },
      },
    });
    conn.sock = sock;
    sock.on("connect", () => sock.write(group.request));
    sock.on("error", () => {});
    sock.on("close", () => {
      if (conn.open && !stopping) closedEarly++;
      conn.open = false;
      settle(false);
    });
  });
}

function onFrames(conn, buf) {
  const done = conn.counter.push(buf);
  if (done === 0) return;
  const g = conn.group;
  g.msgs += done;
  if (g.hist !== null) {
    const now = performance.now();
    const ring = conn.ring;
    for (let k = 0; k < done && conn.rh !== conn.rt; k++) {
      g.hist.record((now - ring[conn.rh % ring.length]) * 1000);
      conn.rh++;
    }
  }
  if (g.inflight > 0 && !g.once && started && !stopping) send(conn, done);
}

function send(conn, n) {
  const g = conn.group;
  if (g.hist !== null) {
    const now = performance.now();
    for (let k = 0; k < n; k++) conn.ring[conn.rt++ % conn.ring.length] = now;
  }
  while (n > 0) {
    const k = Math.min(n, g.inflight);
    conn.sock.write(k === g.inflight ? g.batch : g.batch.subarray(0, k * g.frameLen));
    n -= k;
  }
}

/**
 * Opens every connection, `connectConcurrency` handshakes at a time. With `localPortStart` each
 * connection binds an explicit source port, walking the ports of every source address in turn:
 * bind() with port 0 on a fixed address searches the port range linearly, which turns tens of
 * thousands of connections into minutes of kernel time.
 */
async function connectAll() {
  const addrs = config.localAddresses?.length ? config.localAddresses : [undefined];
  const concurrency = config.connectConcurrency ?? 200;
  const portStart = config.localPortStart;
  let a = 0;
  const jobs = [];
  for (const g of groups) for (let i = 0; i < g.count; i++) jobs.push(g);
  let next = 0;
  async function lane() {
    while (next < jobs.length) {
      const g = jobs[next++];
      let c = null;
      for (let attempt = 0; attempt < 3 && c === null; attempt++) {
        const k = a++;
        const port = portStart ? portStart + Math.floor(k / addrs.length) : undefined;
        if (port > 65535) break;
        c = await openConnection(g, addrs[k % addrs.length], port);
      }
      if (c) conns.push(c);
      else failed++;
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, jobs.length) }, lane));
}

// ---- handshake mode: open, handshake, reset, repeat ----
let handshakes = 0;
function handshakeLoop(addr) {
  if (stopping) return;
  let buf = null;
  const req = groups[0].request;
  const sock = net.connect({
    host: config.host,
    port: config.port,
    localAddress: addr,
    noDelay: true,
    onread: {
      buffer: READ_BUFFER,
      callback(nread, b) {
        const chunk = Buffer.from(b.subarray(0, nread));
        buf = buf ? Buffer.concat([buf, chunk]) : chunk;
        if (buf.indexOf(CRLFCRLF) < 0) return;
        if (buf.toString("latin1", 0, 12) === "HTTP/1.1 101") handshakes++;
        else failed++;
        buf = null;
        // RST instead of FIN: no TIME_WAIT on the client side, so the port range is not exhausted.
        sock.resetAndDestroy();
      },
    },
  });
  sock.on("connect", () => sock.write(req));
  sock.on("error", () => {});
  sock.on("close", () => setImmediate(handshakeLoop, addr));
}

function cpuSnapshot() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

process.on("message", async (msg) => {
  switch (msg.type) {
    case "connect": {
      config = msg.config;
      for (const g of config.groups) groups.push(makeGroup(g));
      if (config.mode === "handshake") {
        process.send({ type: "ready", open: 0, failed: 0 });
        return;
      }
      await connectAll();
      process.send({ type: "ready", open: conns.length, failed });
      return;
    }
    case "start": {
      started = true;
      if (config.mode === "handshake") {
        const addrs = config.localAddresses?.length ? config.localAddresses : [undefined];
        for (let i = 0; i < config.concurrency; i++) handshakeLoop(addrs[i % addrs.length]);
      } else {
        for (const c of conns) if (c.open && c.group.inflight > 0) send(c, c.group.inflight);
      }
      process.send({ type: "started" });
      return;
    }
    case "mark": {
      const out = groups.map((g) => {
        const r = {
          name: g.name,
          msgs: g.msgs,
          bytes: g.msgs * g.payloadSize,
          hist: g.hist ? g.hist.toJSON() : null,
        };
        g.msgs = 0;
        g.hist?.reset();
        return r;
      });
      let compressedSeen = 0;
      for (const c of conns) compressedSeen += c.counter.compressedSeen;
      process.send({
        type: "mark",
        id: msg.id,
        groups: out,
        handshakes,
        failed,
        closedEarly,
        compressedSeen,
        cpu: cpuSnapshot(),
        rssKB: Math.round(process.memoryUsage.rss() / 1024),
      });
      handshakes = 0;
      return;
    }
    case "stop": {
      stopping = true;
      for (const c of conns) c.sock.destroy();
      setTimeout(() => process.exit(0), 50);
      return;
    }
  }
});
process.on("disconnect", () => process.exit(0));
