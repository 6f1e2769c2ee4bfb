#!/usr/bin/env node
// Interleaved A/B of the per-delivery JS of a broadcast: two builds loaded in ONE process, each
// with CONNS server Connections on fake sockets (echo-rig.mjs: `write` only counts, so no
// syscall is measured), fed alternately in short slices. Each turn broadcasts PER messages
// (the suite's publisher has 4 in flight) and lets the flush queue write them out.
// Modes: raw (default): WebSocketServer#broadcast's loop (Connection.sendPrepared on every
// connection); ROOMS=n: the same, the connections split into n rooms (connection i in room
// i % n), each turn's broadcasts going to every room in turn (rooms interleave); CABLE=1: CableCore.broadcast to one stream every connection subscribed to
// (the ActionCable protocol: JSON wrapped once per identifier, the stream hub's fan-out).
// Prints each build's CPU per delivery and the ratio B/A, which is the figure to compare.
// OPTS_A / OPTS_B (JSON, the Connections' options) set each side's options (default: no heartbeat,
// no idle timeout), e.g. the same build twice (two copies of dist/, so that no call site gathers
// type feedback from both sides) with `wirecable broadcast`'s options on one side:
//   OPTS_B='{"backpressure":"drop","pingInterval":30000}' node bench/micro/broadcast-ab.mjs /tmp/copy-a/dist /tmp/copy-b/dist
// PRE_A / PRE_B (a path inside the build's dist/, e.g. cli/index.js) import that module of the side's
// build first: the library in the CLI's module graph (its copy of dist/ needs package.json one level up).
// Usage: [CABLE=1 | ROOMS=n] [CONNS=10000] [PER=4] [TURNS=5] [OPTS_A=json] [OPTS_B=json] [PRE_A=m] [PRE_B=m] node bench/micro/broadcast-ab.mjs DIST_A DIST_B [SLICES]
import { resolve } from "node:path";
import { FakeSocket } from "./echo-rig.mjs";
import { interleavedSlices } from "./slices.mjs";

const [distA, distB, slicesArg] = process.argv.slice(2);
if (!distA || !distB) {
  console.error("usage: [CABLE=1] [CONNS=10000] node bench/micro/broadcast-ab.mjs DIST_A DIST_B [SLICES]");
  process.exit(2);
}
const CABLE = process.env.CABLE === "1";
const CONNS = Number(process.env.CONNS ?? 10_000);
const PER = Number(process.env.PER ?? 4); // broadcasts per turn (the suite: 4 in flight)
const ROOMS = Number(process.env.ROOMS ?? 1);
const data = { action: "publish", text: "a".repeat(32) };
const text = JSON.stringify({ identifier: JSON.stringify({ channel: "BenchChannel" }), message: data });

/** One build: its connections and a `turn()` that broadcasts PER messages. */
async function load(dist, opts, pre) {
  const root = resolve(dist);
  if (pre) await import(`${root}/${pre}`);
  const { Connection } = await import(`${root}/node/connection.js`);
  const { createHybiEngine } = await import(`${root}/node/engines.js`);
  const { resolveConnectionOptions } = await import(`${root}/node/options.js`);
  const { prepareMessage } = await import(`${root}/protocol/prepared-message.js`);
  const options = resolveConnectionOptions(opts === undefined ? { pingInterval: 0, idleTimeout: 0 } : JSON.parse(opts));
  const conns = [];
  const sockets = [];
  for (let i = 0; i < CONNS; i++) {
    const socket = new FakeSocket();
    sockets.push(socket);
    conns.push(
      new Connection({
        role: "server",
        socket,
        createEngine: createHybiEngine,
        options,
        protocol: CABLE ? "actioncable-v1-json" : "",
        extensions: [],
        extensionsHeader: "",
      }),
    );
  }
  if (!CABLE) {
    const rooms = Array.from({ length: ROOMS }, (_, r) => conns.filter((_, i) => i % ROOMS === r));
    return {
      sockets,
      turn() {
        for (let k = 0; k < PER; k++) {
          for (const room of rooms) {
            const message = prepareMessage(text);
            for (const conn of room) conn.sendPrepared(message);
          }
        }
      },
    };
  }
  const { CableServer, Channel } = await import(`${root}/channels/index.js`);
  class BenchChannel extends Channel {
    subscribed() {
      this.streamFrom("bench");
    }
  }
  const { WebSocketServer } = await import(`${root}/node/index.js`);
  const wss = new WebSocketServer({ noServer: true });
  const cable = new CableServer({ wss, channels: { BenchChannel }, pingInterval: 0 });
  const subscribe = JSON.stringify({ command: "subscribe", identifier: JSON.stringify({ channel: "BenchChannel" }) });
  for (const conn of conns) {
    wss.emit("connection", conn, { url: "/cable", headers: {} });
    conn.emit("message", subscribe, false);
  }
  await new Promise((r) => setTimeout(r, 200)); // welcomes and confirmations
  return {
    sockets,
    turn() {
      for (let k = 0; k < PER; k++) cable.broadcast("bench", data);
    },
  };
}

const builds = [];
for (const [name, dist, opts, pre] of [
  ["A", distA, process.env.OPTS_A, process.env.PRE_A],
  ["B", distB, process.env.OPTS_B, process.env.PRE_B],
]) {
  builds.push({ name, dist, ...(await load(dist, opts, pre)), cpu: 0, n: 0 });
}

async function round(build, n) {
  for (let r = 0; r < n; r++) {
    build.turn();
    await new Promise((r) => setImmediate(r));
  }
}

for (const b of builds) await round(b, 50); // warm-up
const SLICES = Number(slicesArg ?? 20);
const N = Number(process.env.TURNS ?? 5); // turns per slice
await interleavedSlices(builds, SLICES, (b) => round(b, N), N * PER * CONNS);
for (const b of builds) {
  const bytes = b.sockets.reduce((a, s) => a + s.bytes, 0);
  const perDelivery = bytes / ((50 + SLICES * N) * PER * CONNS);
  console.log(
    `${b.name} ${b.dist}: ${((b.cpu * 1000) / b.n).toFixed(1)} ns/delivery CPU (${perDelivery.toFixed(1)} B written per delivery)`,
  );
}
console.log(`B/A ${(builds[1].cpu / builds[0].cpu).toFixed(3)}`);
