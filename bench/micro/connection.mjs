#!/usr/bin/env node
// The JS cost per message of the server path (Connection + engine), without sockets or syscalls:
// 64 fake sockets each get chunks of 16 masked 64 B text frames, the app echoes, and the
// frames of a turn are flushed by the shared per-turn flush (one write per socket per turn).
// Usage: npm run build && node bench/micro/connection.mjs [ROUNDS]   (WIRECABLE_DIST=<build> for another build)
// Prints ns per message (wall and process CPU). Run it several times and compare minimums: it
// is a single-threaded loop, far less noisy than the socket benchmarks, but not immune to a busy machine.
import { echoSockets, lend, maskedChunks } from "./echo-rig.mjs";

const dist = process.env.WIRECABLE_DIST ?? new URL("../../dist", import.meta.url).pathname;
const CONNS = 64;
const PER = 16;
const SIZE = 64;
const sockets = await echoSockets(dist, CONNS);
const chunks = maskedChunks(SIZE, PER);
// As a TCP socket's reads arrive (the shared read buffer, lent), or FEED=data: 'data' events.
const feed = process.env.FEED === "data" ? (socket, chunk) => socket.emit("data", chunk) : lend;
async function round(n) {
  for (let r = 0; r < n; r++) {
    for (const socket of sockets) feed(socket, chunks.next()); // fresh masked bytes
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
// subtract the cost of restoring the masked bytes, measured on its own
const t1 = process.hrtime.bigint();
for (let r = 0; r < ROUNDS; r++) for (let c = 0; c < CONNS; c++) chunks.next();
const copyNs = Number(process.hrtime.bigint() - t1);
console.log(
  `${((dt - copyNs) / msgs).toFixed(1)} ns/msg wall (copy excluded), cpu ${(((cpu.user + cpu.system) * 1000) / msgs).toFixed(1)} ns/msg; writes ${sockets[0].writes}`,
);
