#!/usr/bin/env node
// Interleaved A/B of a connection's setup and its close when the transport dies (what a
// handshake costs a server besides Node's own socket work, issue 18 target 4): two builds in ONE
// process, each making server Connections on fake sockets (echo-rig.mjs), listing them as a server
// does (ClientList), then failing the transport as an ECONNRESET after the 101 does: 'error' (one
// shared Error: Node makes it either way), then 'close' of a destroyed socket. Options as the bench
// servers' (no heartbeat, no idle timeout; PING=1: the library's defaults). Prints each build's
// process CPU per connection and B/A: the median of the slices' ratios. Run it both ways (V8
// favours the build loaded first by a few percent).
// Usage: node bench/micro/lifecycle-ab.mjs DIST_A DIST_B [SLICES]
import { resolve } from "node:path";
import { echoConnection, FakeSocket } from "./echo-rig.mjs";
import { interleavedSlices } from "./slices.mjs";

const [distA, distB, slicesArg] = process.argv.slice(2);
if (!distA || !distB) {
  console.error("usage: node bench/micro/lifecycle-ab.mjs DIST_A DIST_B [SLICES]");
  process.exit(2);
}
const reset = Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET", errno: -104, syscall: "read" });
const builds = [];
for (const [name, dist] of [
  ["A", distA],
  ["B", distB],
]) {
  const root = resolve(dist);
  const { Connection } = await import(`${root}/node/connection.js?build=${name}`);
  const { ClientList } = await import(`${root}/node/client-list.js?build=${name}`);
  const { createHybiEngine } = await import(`${root}/node/engines.js?build=${name}`);
  const { resolveConnectionOptions } = await import(`${root}/node/options.js?build=${name}`);
  const options = resolveConnectionOptions(process.env.PING === "1" ? {} : { pingInterval: 0, idleTimeout: 0 });
  const list = new ClientList();
  let closed = 0;
  const one = () => {
    const socket = new FakeSocket();
    const conn = echoConnection({ Connection, createHybiEngine }, options, socket);
    list.add(conn);
    conn.on("close", () => closed++);
    socket.emit("error", reset);
    socket.destroyed = true;
    socket.emit("close", true);
  };
  builds.push({ name, dist, one, list, closedCount: () => closed, cpu: 0, n: 0, slices: [] });
}

const N = 2000;
async function round(build) {
  for (let i = 0; i < N; i++) build.one();
  await new Promise((r) => setImmediate(r));
}
for (const b of builds) for (let i = 0; i < 20; i++) await round(b); // warm-up
await interleavedSlices(builds, Number(slicesArg ?? 40), round, N);
for (const b of builds) {
  const left = `, ${b.list.size} left listed, ${b.closedCount()} closed`;
  console.log(`${b.name} ${b.dist}: ${((b.cpu * 1000) / b.n).toFixed(0)} ns/connection CPU${left}`);
}
const ratios = builds[1].slices.map((cpu, i) => cpu / builds[0].slices[i]).sort((x, y) => x - y);
console.log(`B/A ${ratios[ratios.length >> 1].toFixed(3)} (median of ${ratios.length} slice pairs)`);
