#!/usr/bin/env node
// Interleaved A/B of the connection micro-benchmark (bench/micro/connection.mjs): two builds
// loaded in ONE process, 64 fake sockets each, fed alternately in short slices, so that a change
// in machine speed (this machine is shared and noisy) hits both builds alike. Prints each build's
// process CPU per message and the ratio B/A, which is the figure to compare.
// Usage: node bench/micro/connection-ab.mjs DIST_A DIST_B [SLICES]
//   e.g. git worktree add /tmp/base <commit> && (cd /tmp/base && ln -s "$PWD/node_modules" && npx tsc -p tsconfig.build.json)
//        node bench/micro/connection-ab.mjs /tmp/base/dist dist
// SIZE=<bytes> sets the payload (default 64, masked text frames, 16 per chunk, echoed).
import { echoSockets, maskedChunks } from "./echo-rig.mjs";
import { interleavedSlices } from "./slices.mjs";

const [distA, distB, slicesArg] = process.argv.slice(2);
if (!distA || !distB) {
  console.error("usage: node bench/micro/connection-ab.mjs DIST_A DIST_B [SLICES]");
  process.exit(2);
}
const SIZE = Number(process.env.SIZE ?? 64);
const PER = 16;
const CONNS = 64;
const chunks = maskedChunks(SIZE, PER);
const builds = [];
for (const [name, dist] of [
  ["A", distA],
  ["B", distB],
]) {
  builds.push({ name, dist, sockets: await echoSockets(dist, CONNS), cpu: 0, n: 0 });
}

async function round(build, n) {
  for (let r = 0; r < n; r++) {
    for (const socket of build.sockets) socket.emit("data", chunks.next()); // fresh masked bytes
    await new Promise((r) => setImmediate(r));
  }
}

for (const b of builds) await round(b, 1500); // warm-up
const SLICES = Number(slicesArg ?? 30);
const N = 200;
await interleavedSlices(builds, SLICES, (b) => round(b, N), N * CONNS * PER);
for (const b of builds) {
  console.log(`${b.name} ${b.dist}: ${((b.cpu * 1000) / b.n).toFixed(1)} ns/msg CPU (template copy included)`);
}
console.log(`B/A ${(builds[1].cpu / builds[0].cpu).toFixed(3)}`);
