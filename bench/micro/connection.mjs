#!/usr/bin/env node
// The JS cost per message of the server path (Connection + engine), without sockets or syscalls:
// 64 fake sockets each get "data" chunks of 16 masked 64 B text frames, the app echoes, and the
// frames of a turn are flushed by the shared per-turn flush (one write per socket per turn).
// Usage: npm run build && node bench/micro/connection.mjs [ROUNDS]   (WIRECABLE_DIST=<build> for another build)
// Prints ns per message (wall and process CPU). Run it several times and compare minimums: it
// is a single-threaded loop, far less noisy than the socket benchmarks, but not immune to a busy machine.
import { EventEmitter } from "node:events";

const dist = process.env.WIRECABLE_DIST ?? new URL("../../dist", import.meta.url).pathname;
const { Connection } = await import(`${dist}/node/connection.js`);
const { createHybiEngine } = await import(`${dist}/node/engines.js`);
const { resolveConnectionOptions } = await import(`${dist}/node/options.js`);
class FakeSocket extends EventEmitter {
  writes = 0;
  bytes = 0;
  destroyed = false;
  writable = true;
  writableLength = 0;
  writableNeedDrain = false;
  writableEnded = false;
  remoteAddress = "127.0.0.1";
  setNoDelay() {}
  setTimeout() {}
  pause() {}
  resume() {}
  destroy() {
    this.destroyed = true;
  }
  end() {}
  write(b) {
    this.writes++;
    this.bytes += b.length;
    return true;
  }
}
const options = resolveConnectionOptions({ pingInterval: 0, idleTimeout: 0 });
const CONNS = 64,
  PER = 16,
  SIZE = 64;
const conns = [];
for (let i = 0; i < CONNS; i++) {
  const socket = new FakeSocket();
  const conn = new Connection({
    role: "server",
    socket,
    createEngine: createHybiEngine,
    options,
    protocol: "",
    extensions: [],
    extensionsHeader: "",
  });
  conn.on("message", (data, isBinary) => conn.send(data, { binary: isBinary }));
  conns.push({ socket, conn });
}
// one masked frame
const payload = Buffer.from("x".repeat(SIZE));
const key = [0x12, 0x34, 0x56, 0x78];
const frame = Buffer.alloc(2 + 4 + SIZE);
frame[0] = 0x81;
frame[1] = 0x80 | SIZE;
for (let i = 0; i < 4; i++) frame[2 + i] = key[i];
for (let i = 0; i < SIZE; i++) frame[6 + i] = payload[i] ^ key[i & 3];
const template = Buffer.concat(Array.from({ length: PER }, () => frame));
const pool = Array.from({ length: 4096 }, () => Buffer.from(template));
let p = 0;
async function round(n) {
  for (let r = 0; r < n; r++) {
    for (const { socket } of conns) {
      const chunk = pool[p];
      p = (p + 1) % pool.length;
      chunk.set(template); // fresh masked bytes (unmasked in place last time)
      socket.emit("data", chunk);
    }
    await new Promise((r) => setImmediate(r));
  }
}
await round(2000);
const ROUNDS = Number(process.argv[2] ?? 4000);
const t0 = process.hrtime.bigint();
const c0 = process.cpuUsage();
await round(ROUNDS);
const dt = Number(process.hrtime.bigint() - t0);
const cpu = process.cpuUsage(c0);
const msgs = ROUNDS * CONNS * PER;
// subtract template copy cost roughly: measure separately
const t1 = process.hrtime.bigint();
for (let r = 0; r < ROUNDS; r++)
  for (let c = 0; c < CONNS; c++) {
    pool[p].set(template);
    p = (p + 1) % pool.length;
  }
const copyNs = Number(process.hrtime.bigint() - t1);
console.log(
  `${((dt - copyNs) / msgs).toFixed(1)} ns/msg wall (copy excluded), cpu ${(((cpu.user + cpu.system) * 1000) / msgs).toFixed(1)} ns/msg; writes ${conns[0].socket.writes}`,
);
