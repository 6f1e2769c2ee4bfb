#!/usr/bin/env node
// Interleaved A/B of the connection micro-benchmark (bench/micro/connection.mjs): two builds
// loaded in ONE process, 64 fake sockets each, fed alternately in short slices, so that a change
// in machine speed (this machine is shared and noisy) hits both builds alike. Prints each build's
// process CPU per message and the ratio B/A, which is the figure to compare.
// Usage: node bench/micro/connection-ab.mjs DIST_A DIST_B [SLICES]
//   e.g. git worktree add /tmp/base <commit> && (cd /tmp/base && ln -s "$PWD/node_modules" && npx tsc -p tsconfig.build.json)
//        node bench/micro/connection-ab.mjs /tmp/base/dist dist
// SIZE=<bytes> sets the payload (default 64, masked text frames, 16 per chunk, echoed).
import { EventEmitter } from "node:events";
import { resolve } from "node:path";

const [distA, distB, slicesArg] = process.argv.slice(2);
if (!distA || !distB) {
  console.error("usage: node bench/micro/connection-ab.mjs DIST_A DIST_B [SLICES]");
  process.exit(2);
}
const SIZE = Number(process.env.SIZE ?? 64);
const PER = 16;
const CONNS = 64;

class FakeSocket extends EventEmitter {
  writes = 0;
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
  write() {
    this.writes++;
    return true;
  }
}

const payload = Buffer.from("x".repeat(SIZE));
const key = [0x12, 0x34, 0x56, 0x78];
const headerLength = SIZE < 126 ? 6 : 8;
const frame = Buffer.alloc(headerLength + SIZE);
frame[0] = 0x81;
if (SIZE < 126) frame[1] = 0x80 | SIZE;
else {
  frame[1] = 0x80 | 126;
  frame.writeUInt16BE(SIZE, 2);
}
for (let i = 0; i < 4; i++) frame[headerLength - 4 + i] = key[i];
for (let i = 0; i < SIZE; i++) frame[headerLength + i] = payload[i] ^ key[i & 3];
const template = Buffer.concat(Array.from({ length: PER }, () => frame));
const pool = Array.from({ length: 4096 }, () => Buffer.from(template));
let p = 0;

const builds = [];
for (const [name, dist] of [
  ["A", distA],
  ["B", distB],
]) {
  const root = resolve(dist);
  const { Connection } = await import(`${root}/node/connection.js`);
  const { createHybiEngine } = await import(`${root}/node/engines.js`);
  const { resolveConnectionOptions } = await import(`${root}/node/options.js`);
  const options = resolveConnectionOptions({ pingInterval: 0, idleTimeout: 0 });
  const sockets = [];
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
    sockets.push(socket);
  }
  builds.push({ name, dist: root, sockets, cpu: 0, msgs: 0 });
}

async function round(build, n) {
  for (let r = 0; r < n; r++) {
    for (const socket of build.sockets) {
      const chunk = pool[p];
      p = (p + 1) % pool.length;
      chunk.set(template); // fresh masked bytes (unmasked in place last time)
      socket.emit("data", chunk);
    }
    await new Promise((r) => setImmediate(r));
  }
}

for (const b of builds) await round(b, 1500); // warm-up
const SLICES = Number(slicesArg ?? 30);
const N = 200;
for (let i = 0; i < SLICES; i++) {
  for (const b of i & 1 ? [...builds].reverse() : builds) {
    const c0 = process.cpuUsage();
    await round(b, N);
    const c = process.cpuUsage(c0);
    b.cpu += c.user + c.system;
    b.msgs += N * CONNS * PER;
  }
}
for (const b of builds) {
  console.log(`${b.name} ${b.dist}: ${((b.cpu * 1000) / b.msgs).toFixed(1)} ns/msg CPU (template copy included)`);
}
console.log(`B/A ${(builds[1].cpu / builds[0].cpu).toFixed(3)}`);
