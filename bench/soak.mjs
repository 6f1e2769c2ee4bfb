#!/usr/bin/env node
/**
 * Churn soak (issue 25; not in CI): `wirecable echo` (or `echo --deflate`) under N connections
 * that keep coming and going for a while, each doing something a real or careless peer does:
 * - echo traffic: random message sizes (0 B - 64 KiB, mostly small), text and binary, every
 *   echo checked byte for byte and in order;
 * - leaving by a close handshake, by FIN, by RST, or by going silent (never reading nor
 *   answering: the server's heartbeat must reap it), after its echoes came back;
 * - half-sent handshakes (a part of the head, then FIN or RST after a random pause).
 * Every slot reopens a connection when its previous one ends, so about N stay open; a peer
 * waits 0-100 ms between an echo and its next message; one slot in ten may go silent. It samples
 * the server's RSS, descriptors and CPU (/proc/PID) every 10 s, then waits for every connection
 * to end and checks that descriptors come back to their baseline, that the memory the server
 * retains after a full GC (through its inspector, on loopback) is within 16 MB of its baseline,
 * and that every echo was accounted for (returned intact, or cut by the peer's own RST/FIN).
 *
 *   npm run build
 *   flock /tmp/wirecable-fullsuite.lock node bench/soak.mjs --connections 10000 --duration 600
 *   node bench/soak.mjs --connections 500 --duration 30 --deflate      # a quick look
 *
 * Options: --connections N (default 1000), --duration S (default 60), --deflate, --json (print
 * the summary as JSON). Silent peers are reaped by the server's default heartbeat (a ping after
 * 30 s without hearing from the peer, then 10 s for an answer), so the run ends up to 45 s after
 * its duration. Exit code 1 when an echo was wrong or lost, or the server
 * did not come back to its baseline. Needs `ulimit -n` above 2 x N.
 */
import { spawn } from "node:child_process";
import { createHash, randomBytes, randomInt } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { connect } from "node:net";
import { parseArgs } from "node:util";
import WebSocket from "ws";

const { values: opts } = parseArgs({
  options: {
    connections: { type: "string", default: "1000" },
    duration: { type: "string", default: "60" },
    deflate: { type: "boolean", default: false },
    json: { type: "boolean", default: false },
  },
});
const N = Number(opts.connections);
const DURATION = Number(opts.duration) * 1000;
const root = new URL("..", import.meta.url).pathname;

// ---- the server ------------------------------------------------------------------------------

const serverArgs = ["bin/wirecable.js", "echo", "--port", "0", "--max-payload", "1MiB"];
if (opts.deflate) serverArgs.push("--deflate");
// The inspector (loopback, port 0) lets the run collect the server's garbage before it judges
// memory: RSS alone keeps what the allocator and V8 hold after a burst.
const server = spawn(process.execPath, ["--inspect=127.0.0.1:0", ...serverArgs], {
  cwd: root,
  stdio: ["ignore", "pipe", "pipe"],
});
const inspectorUrl = new Promise((resolve) => {
  let err = "";
  server.stderr.on("data", (chunk) => {
    const text = String(chunk);
    err += text;
    const m = /ws:\/\/127\.0\.0\.1:\d+\/[\w-]+/.exec(err);
    if (m) resolve(m[0]);
    if (!/Debugger listening|For help, see|Debugger attached|Waiting for the debugger/.test(text))
      process.stderr.write(text);
  });
});
const url = await new Promise((resolve, reject) => {
  let out = "";
  server.stdout.on("data", (chunk) => {
    out += chunk;
    const m = /listening on (ws:\/\/\S+)/.exec(out);
    if (m) resolve(new URL(m[1]));
  });
  server.once("exit", (code) => reject(new Error(`the server exited (${code}) before listening: ${out}`)));
});
const pid = server.pid;

function stats() {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const rss = Number(/VmRSS:\s+(\d+)/.exec(status)[1]) * 1024;
  const fds = readdirSync(`/proc/${pid}/fd`).length;
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  const cpu = (Number(stat[11]) + Number(stat[12])) / 100; // utime + stime, s (CLK_TCK 100)
  return { rss, fds, cpu };
}

/**
 * A full GC in the server (HeapProfiler.collectGarbage over its inspector), then what it retains:
 * JS heap in use + ArrayBuffers (the sockets' and messages' bytes), and its RSS right after.
 */
async function retained() {
  const socket = new WebSocket(await inspectorUrl);
  await new Promise((resolve, reject) => {
    socket.once("open", resolve);
    socket.once("error", reject);
  });
  let id = 0;
  const call = (method, params) =>
    new Promise((resolve, reject) => {
      const mine = ++id;
      const onMessage = (data) => {
        const reply = JSON.parse(String(data));
        if (reply.id !== mine) return;
        socket.off("message", onMessage);
        if (reply.error !== undefined) reject(new Error(`${method}: ${JSON.stringify(reply.error)}`));
        else resolve(reply.result ?? {});
      };
      socket.on("message", onMessage);
      socket.send(JSON.stringify({ id: mine, method, params }));
    });
  try {
    await call("HeapProfiler.collectGarbage");
    const { result } = await call("Runtime.evaluate", {
      expression: "(() => { const m = process.memoryUsage(); return m.heapUsed + m.arrayBuffers; })()",
      returnByValue: true,
    });
    return { bytes: result.value, rss: stats().rss };
  } finally {
    socket.close();
  }
}

// ---- a raw RFC 6455 client (independent of the code under test) --------------------------------

function frame(opcode, payload) {
  const len = payload.length;
  const head = len < 126 ? 2 : len < 65536 ? 4 : 10;
  const out = Buffer.allocUnsafe(head + 4 + len);
  out[0] = 0x80 | opcode;
  if (len < 126) out[1] = 0x80 | len;
  else if (len < 65536) {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(len, 2);
  } else {
    out[1] = 0x80 | 127;
    out.writeBigUInt64BE(BigInt(len), 2);
  }
  const mask = randomBytes(4);
  mask.copy(out, head);
  for (let i = 0; i < len; i++) out[head + 4 + i] = payload[i] ^ mask[i & 3];
  return out;
}

/** A message size: mostly small, sometimes up to 64 KiB (log-uniform). */
const size = () => (Math.random() < 0.05 ? 0 : Math.floor(2 ** (Math.random() * 16)));

const totals = {
  connections: 0,
  handshakes: 0,
  halfSent: 0,
  refused: 0,
  echoesSent: 0,
  echoesReturned: 0,
  echoesWrong: 0,
  echoesCut: 0,
  ended: { close: 0, fin: 0, rst: 0, silent: 0 },
  silentReaped: 0,
  unexpected: [],
};
const open = new Set();
let running = true;

function halfSent() {
  return new Promise((done) => {
    totals.halfSent++;
    const socket = connect({ host: url.hostname, port: Number(url.port) });
    open.add(socket);
    const head = `GET / HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString("base64")}\r\nSec-WebSocket-Version: 13\r\n\r\n`;
    socket.on("connect", () => {
      socket.write(head.slice(0, randomInt(1, head.length - 1)));
      setTimeout(() => (Math.random() < 0.5 ? socket.end() : socket.resetAndDestroy()), randomInt(0, 2000));
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      open.delete(socket);
      done();
    });
  });
}

function session(endings = ["close", "close", "fin", "rst", "silent"]) {
  return new Promise((done) => {
    totals.connections++;
    const key = randomBytes(16).toString("base64");
    const accept = createHash("sha1").update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64");
    const socket = connect({ host: url.hostname, port: Number(url.port) });
    open.add(socket);
    const ending = endings[randomInt(endings.length)];
    const messages = randomInt(1, 20);
    const expected = []; // payloads in flight, in order
    let buffer = Buffer.alloc(0);
    let upgraded = false;
    let sent = 0;
    let finished = false;
    const unexpected = (what) => {
      if (totals.unexpected.length < 20) totals.unexpected.push(what);
    };
    const sendOne = () => {
      const binary = Math.random() < 0.5;
      const payload = binary ? randomBytes(size()) : Buffer.from("x".repeat(size()));
      expected.push({ binary, payload });
      totals.echoesSent++;
      sent++;
      socket.write(frame(binary ? 0x2 : 0x1, payload));
    };
    const leave = () => {
      finished = true;
      totals.ended[ending]++;
      if (ending === "close") socket.write(frame(0x8, Buffer.from([0x03, 0xe8])));
      else if (ending === "fin") socket.end();
      else if (ending === "rst") socket.resetAndDestroy();
      // silent: sends nothing more (no pong, no close); the server's heartbeat must reap it
    };
    socket.on("connect", () => {
      socket.setNoDelay(true);
      socket.write(
        `GET /soak HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      open.delete(socket);
      if (!finished && upgraded) unexpected(`connection closed by the server mid-session after ${sent} messages`);
      if (ending === "silent" && finished) totals.silentReaped++;
      // Echoes in flight when we cut the connection ourselves are the peer's loss, not a fault.
      if (finished && ending !== "close") totals.echoesCut += expected.length;
      else if (expected.length > 0) unexpected(`${expected.length} echoes lost`);
      done();
    });
    socket.on("data", (chunk) => {
      if (finished && ending === "silent") return;
      buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
      if (!upgraded) {
        const end = buffer.indexOf("\r\n\r\n");
        if (end === -1) return;
        const head = buffer.subarray(0, end).toString("latin1");
        buffer = buffer.subarray(end + 4);
        if (!head.startsWith("HTTP/1.1 101") || !head.includes(accept)) {
          totals.refused++;
          unexpected(`handshake refused: ${head.split("\r\n")[0]}`);
          socket.destroy();
          return;
        }
        upgraded = true;
        totals.handshakes++;
        sendOne();
      }
      for (;;) {
        if (buffer.length < 2) return;
        const b0 = buffer[0];
        let len = buffer[1] & 0x7f;
        let at = 2;
        if (len === 126) {
          if (buffer.length < 4) return;
          len = buffer.readUInt16BE(2);
          at = 4;
        } else if (len === 127) {
          if (buffer.length < 10) return;
          len = Number(buffer.readBigUInt64BE(2));
          at = 10;
        }
        if (buffer.length < at + len) return;
        const payload = buffer.subarray(at, at + len);
        buffer = buffer.subarray(at + len);
        const opcode = b0 & 0x0f;
        if (opcode === 0x9) {
          if (!finished) socket.write(frame(0xa, payload));
        } else if (opcode === 0x8) {
          if (!finished) unexpected(`close frame from the server mid-session`);
          socket.end();
        } else if (opcode === 0x1 || opcode === 0x2) {
          const want = expected.shift();
          if (want === undefined || want.binary !== (opcode === 0x2) || !want.payload.equals(payload)) {
            totals.echoesWrong++;
            unexpected(`a wrong echo (${payload.length} B)`);
          } else totals.echoesReturned++;
          if (finished) continue;
          if (sent < messages && running)
            setTimeout(() => finished || socket.destroyed || sendOne(), randomInt(0, 100));
          else leave();
        }
      }
    });
  });
}

/** One of N slots: a connection after another. One slot in ten may also go silent (and waits for the reap). */
async function slot(i) {
  const endings = i % 10 === 0 ? ["close", "fin", "rst", "silent"] : ["close", "close", "fin", "rst"];
  while (running) {
    if (Math.random() < 0.05) await halfSent();
    else await session(endings);
  }
}

// ---- the run ---------------------------------------------------------------------------------

// Warm-up, then the baseline.
await Promise.all(Array.from({ length: 20 }, () => session(["close"])));
await new Promise((r) => setTimeout(r, 1000));
const base = stats();
const retainedBase = await retained();
const samples = [];
const t0 = Date.now();
const sample = () => {
  const s = stats();
  samples.push({ t: Math.round((Date.now() - t0) / 1000), open: open.size, ...s });
  if (!opts.json) {
    console.log(
      `${String(samples.at(-1).t).padStart(4)} s  open ${String(open.size).padStart(6)}  RSS ${(s.rss / 2 ** 20).toFixed(0)} MB  fds ${s.fds}  CPU ${(s.cpu - base.cpu).toFixed(1)} s  echoes ${totals.echoesReturned}/${totals.echoesSent}`,
    );
  }
};
const sampler = setInterval(sample, 10_000);
const slots = [];
for (let i = 0; i < N; i++) {
  slots.push(slot(i));
  if (i % 200 === 199) await new Promise((r) => setTimeout(r, 50)); // ramp up
}
await new Promise((r) => setTimeout(r, DURATION));
running = false;
// Every slot ends after its current connection (silent ones when the heartbeat reaps them).
const drainLimit = 60_000;
await Promise.race([Promise.all(slots), new Promise((r) => setTimeout(r, drainLimit))]);
for (const socket of open) socket.destroy();
clearInterval(sampler);
sample();
// Back to baseline: descriptors exactly (answered sockets linger at most 1 s), RSS within 64 MB.
let after = stats();
const settleEnd = Date.now() + 60_000;
while ((after.fds > base.fds || after.rss > base.rss + 64 * 2 ** 20) && Date.now() < settleEnd) {
  await new Promise((r) => setTimeout(r, 500));
  after = stats();
}
const retainedAfter = await retained();
server.kill("SIGTERM");

const accounted = totals.echoesReturned + totals.echoesCut === totals.echoesSent;
const peakRss = Math.max(...samples.map((s) => s.rss));
const summary = {
  connections: N,
  seconds: DURATION / 1000,
  deflate: opts.deflate,
  ...totals,
  echoesAccounted: accounted,
  rssBaseMB: +(base.rss / 2 ** 20).toFixed(1),
  rssPeakMB: +(peakRss / 2 ** 20).toFixed(1),
  rssAfterMB: +(after.rss / 2 ** 20).toFixed(1),
  retainedBaseMB: +(retainedBase.bytes / 2 ** 20).toFixed(1),
  retainedAfterMB: +(retainedAfter.bytes / 2 ** 20).toFixed(1),
  rssAfterGcMB: +(retainedAfter.rss / 2 ** 20).toFixed(1),
  fdsBase: base.fds,
  fdsPeak: Math.max(...samples.map((s) => s.fds)),
  fdsAfter: after.fds,
  serverCpuSeconds: +(after.cpu - base.cpu).toFixed(1),
  usPerEcho: +(((after.cpu - base.cpu) * 1e6) / Math.max(1, totals.echoesReturned)).toFixed(1),
};
console.log(opts.json ? JSON.stringify(summary) : summary);
// Retained memory back near its baseline: within 16 MB after a full GC.
const memoryBack = retainedAfter.bytes <= retainedBase.bytes + 16 * 2 ** 20;
const ok =
  accounted && totals.echoesWrong === 0 && totals.unexpected.length === 0 && after.fds <= base.fds && memoryBack;
process.exit(ok ? 0 : 1);
