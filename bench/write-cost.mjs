#!/usr/bin/env node
// What one net.Socket write costs, split into user and system CPU, through the public path
// (`socket.write`: net.Socket's Writable, `_writeGeneric`, a WriteWrap, `handle.writeBuffer`) and
// straight through the handle (a WriteWrap reused while writes complete synchronously, and
// `handle.writeBuffer`), the way a broadcast writes: CONNS loopback sockets, one write of BYTES
// (the suite's broadcast: 4 frames of 66 B) to each per event-loop turn. A child process reads
// and discards everything. Rounds alternate the two paths; CPU is this process's
// (process.cpuUsage), so the loopback send and the kernel's receive work it runs inline are in
// "system", and the stream layer's JavaScript is the difference in "user".
// Usage: [CONNS=1000] [BYTES=264] [TURNS=400] [ROUNDS=6] node bench/write-cost.mjs
import { fork } from "node:child_process";
import net from "node:net";

if (process.argv[2] === "--sink") {
  const server = net.createServer((socket) => {
    socket.on("data", () => {});
    socket.on("error", () => {});
  });
  server.listen(0, "127.0.0.1", () => process.send(server.address().port));
} else {
  const CONNS = Number(process.env.CONNS ?? 1000);
  const TURNS = Number(process.env.TURNS ?? 400);
  const ROUNDS = Number(process.env.ROUNDS ?? 6);
  const data = Buffer.alloc(Number(process.env.BYTES ?? 264), 0x61);
  const { WriteWrap, streamBaseState, kLastWriteWasAsync } = process.binding("stream_wrap");
  const sink = fork(new URL(import.meta.url).pathname, ["--sink"]);
  const port = await new Promise((resolve) => sink.once("message", resolve));
  const connect = () =>
    new Promise((resolve) => {
      const socket = net.connect({ port, host: "127.0.0.1", noDelay: true }, () => resolve(socket));
      socket.on("error", () => {});
    });
  const sockets = [];
  for (let i = 0; i < CONNS; i++) sockets.push(await connect());

  let spare = null; // a request libuv never took (its write completed synchronously)
  function afterWrite() {
    this.buffer = null;
  }
  function handleWrite(socket) {
    const handle = socket._handle;
    const req = spare ?? new WriteWrap();
    spare = null;
    req.handle = handle;
    req.oncomplete = afterWrite;
    const err = handle.writeBuffer(req, data);
    if (err !== 0) throw new Error(`writeBuffer: ${err}`);
    if (streamBaseState[kLastWriteWasAsync] !== 0) req.buffer = data;
    else spare = req;
  }

  const turn = () => new Promise((resolve) => setImmediate(resolve));
  async function round(mode) {
    const before = process.cpuUsage();
    for (let t = 0; t < TURNS; t++) {
      for (const socket of sockets) {
        if (mode === "handle" && socket.writableLength === 0) handleWrite(socket);
        else socket.write(data);
      }
      await turn();
    }
    const used = process.cpuUsage(before);
    const writes = TURNS * CONNS;
    return { user: (used.user * 1000) / writes, system: (used.system * 1000) / writes };
  }

  await round("socket"); // warm-up
  await round("handle");
  const results = { socket: [], handle: [] };
  for (let r = 0; r < ROUNDS; r++) {
    for (const mode of r % 2 === 0 ? ["socket", "handle"] : ["handle", "socket"]) results[mode].push(await round(mode));
  }
  const median = (list) => list.slice().sort((a, b) => a - b)[list.length >> 1];
  console.log(`${CONNS} sockets, ${data.length} B per write, ${TURNS} turns per round, ns per write:`);
  for (const mode of ["socket", "handle"]) {
    const user = results[mode].map((x) => x.user);
    const system = results[mode].map((x) => x.system);
    const show = (list) => `${list.map((x) => x.toFixed(0)).join("/")} (median ${median(list).toFixed(0)})`;
    console.log(`  ${mode.padEnd(6)} user ${show(user)}, system ${show(system)}`);
  }
  const saved = median(results.socket.map((x) => x.user)) - median(results.handle.map((x) => x.user));
  const total = median(results.socket.map((x) => x.user + x.system));
  console.log(
    `  the handle path saves ${saved.toFixed(0)} ns of user CPU per write: ${((100 * saved) / total).toFixed(1)}% of a write`,
  );
  for (const socket of sockets) socket.destroy();
  sink.kill();
}
