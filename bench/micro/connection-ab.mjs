#!/usr/bin/env node
// Interleaved A/B of the connection micro-benchmark (bench/micro/connection.mjs): two builds
// loaded in ONE process, 64 fake sockets each, fed alternately in short slices, so that a change
// in machine speed (this machine is shared and noisy) hits both builds alike. Each build gets its
// own instance of the rig (echo-rig.mjs), so that no call site of the rig gathers type feedback
// from both builds. Chunks reach the connections as a TCP socket's reads do (the shared read
// buffer, `transportLent`; FEED=data for 'data' events). Prints each build's process CPU per
// message and B/A: the median of the slices' ratios.
// V8 favours the build loaded first by a few percent: run it twice, the builds swapped, and
// take both ratios (an A/A run shows the spread: ~1.00 +- 0.03).
// Usage: node bench/micro/connection-ab.mjs DIST_A DIST_B [SLICES]
//   e.g. git archive <commit> | tar -x -C /tmp/base && ln -s "$PWD/node_modules" /tmp/base/ &&
//        (cd /tmp/base && npx tsc -p tsconfig.build.json)
//        node bench/micro/connection-ab.mjs /tmp/base/dist dist; node bench/micro/connection-ab.mjs dist /tmp/base/dist
// SIZE=<bytes> sets the payload (default 64, masked text frames, 16 per chunk, echoed).
// OPTS_A / OPTS_B (JSON, the Connection's options) set each side's options (default: no heartbeat,
// no idle timeout), e.g. the same build twice with `wirecable echo`'s options on one side:
//   OPTS_B='{"lendMessages":true,"maxPayload":16777216,"maxFragments":65537}' node bench/micro/connection-ab.mjs dist /tmp/copy-of/dist
import { interleavedSlices } from "./slices.mjs";

const [distA, distB, slicesArg] = process.argv.slice(2);
if (!distA || !distB) {
  console.error("usage: node bench/micro/connection-ab.mjs DIST_A DIST_B [SLICES]");
  process.exit(2);
}
const SIZE = Number(process.env.SIZE ?? 64);
const PER = 16;
const CONNS = 64;
const FEED = process.env.FEED ?? "lent";
const builds = [];
for (const [name, dist, opts] of [
  ["A", distA, process.env.OPTS_A],
  ["B", distB, process.env.OPTS_B],
]) {
  const rig = await import(`./echo-rig.mjs?build=${name}`);
  const feed = FEED === "data" ? (socket, chunk) => socket.emit("data", chunk) : rig.lend;
  const sockets = await rig.echoSockets(dist, CONNS, opts === undefined ? undefined : JSON.parse(opts));
  builds.push({ name, dist, sockets, feed, chunks: rig.maskedChunks(SIZE, PER), cpu: 0, n: 0, slices: [] });
}

async function round(build, n) {
  for (let r = 0; r < n; r++) {
    for (const socket of build.sockets) build.feed(socket, build.chunks.next()); // fresh masked bytes
    await new Promise((r) => setImmediate(r));
  }
}

for (const b of builds) await round(b, 1500); // warm-up
const SLICES = Number(slicesArg ?? 40);
const N = 100;
await interleavedSlices(builds, SLICES, (b) => round(b, N), N * CONNS * PER);
for (const b of builds) {
  console.log(`${b.name} ${b.dist}: ${((b.cpu * 1000) / b.n).toFixed(1)} ns/msg CPU (feed copy included)`);
}
const ratios = builds[1].slices.map((cpu, i) => cpu / builds[0].slices[i]).sort((x, y) => x - y);
console.log(`B/A ${ratios[ratios.length >> 1].toFixed(3)} (median of ${ratios.length} slice pairs)`);
