// The HTTP fallback against the WebSocket, one server: a wirecable WebSocketServer with
// `fallback: true` echoing text, in its own process. Rounds alternate between the transports;
// each round opens CONNECTIONS clients (wirecable's WebSocket, or FallbackSocket over Node's
// fetch: what a browser behind a blocking proxy runs) that keep DEPTH messages of SIZE bytes in
// flight for SECONDS and counts the echoes. Server CPU (user + system) comes from
// /proc/PID/stat, the clients' from process.cpuUsage(). Prints messages/s, us of CPU per echoed
// message (server, clients), and the ratios. BURST=N measures the downstream alone instead (what
// a chat mostly is: broadcasts): each client asks for N messages of SIZE bytes, the server sends
// them, the client asks again once they all arrived.
// Needs `npm run build`. Usage: [CONNECTIONS=50] [DEPTH=4 | BURST=20] [SIZE=64] node bench/fallback.mjs [rounds=4] [seconds=3]
import { spawn } from "node:child_process";
import { FallbackSocket } from "../dist/client/index.js";
import { WebSocket } from "../dist/node/index.js";
import { cpuSeconds } from "./lib/procfs.mjs";

const ROUNDS = Number(process.argv[2] ?? 4);
const SECONDS = Number(process.argv[3] ?? 3);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 50);
const DEPTH = Number(process.env.DEPTH ?? 4);
const SIZE = Number(process.env.SIZE ?? 64);
const BURST = Number(process.env.BURST ?? 0);

const SERVER = `
import { WebSocketServer } from ${JSON.stringify(new URL("../dist/node/index.js", import.meta.url).href)};
const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", fallback: true, maxConnections: 0 });
await wss.ready;
const payload = "y".repeat(${SIZE});
wss.on("connection", (conn) =>
  conn.on("message", (data) => {
    const text = String(data);
    if (!text.startsWith("burst ")) return conn.send(text);
    for (let i = Number(text.slice(6)); i > 0; i--) conn.send(payload);
  }),
);
console.log("listening " + wss.address().port);
`;

function start() {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", SERVER], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (chunk) => {
      out += chunk;
      const match = /listening (\d+)/.exec(out);
      if (match) resolve({ child, port: Number(match[1]) });
    });
    child.once("exit", (code) => reject(new Error(`server exited with ${code}`)));
  });
}

const transports = {
  websocket: (port) => new WebSocket(`ws://127.0.0.1:${port}/`),
  fallback: (port) => new FallbackSocket(`ws://127.0.0.1:${port}/`),
};

async function round(make, port, pid) {
  const payload = "x".repeat(SIZE);
  const sockets = await Promise.all(
    Array.from({ length: CONNECTIONS }, () => {
      const socket = make(port);
      return new Promise((resolve, reject) => {
        socket.addEventListener("open", () => resolve(socket), { once: true });
        socket.addEventListener("close", (e) => reject(new Error(`closed ${e.code} before open`)), { once: true });
      });
    }),
  );
  let count = 0;
  let running = true;
  const ask = `burst ${BURST}`;
  for (const socket of sockets) {
    let got = 0;
    socket.addEventListener("message", () => {
      count++;
      if (!running) return;
      if (BURST === 0) socket.send(payload);
      else if (++got === BURST) {
        got = 0;
        socket.send(ask);
      }
    });
  }
  const before = cpuSeconds([pid]);
  const clientBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  for (const socket of sockets) {
    if (BURST > 0) socket.send(ask);
    else for (let i = 0; i < DEPTH; i++) socket.send(payload);
  }
  await new Promise((resolve) => setTimeout(resolve, SECONDS * 1000));
  running = false;
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  const serverUs = (cpuSeconds([pid]) - before) * 1e6;
  const client = process.cpuUsage(clientBefore);
  await Promise.all(
    sockets.map(
      (socket) =>
        new Promise((resolve) => {
          socket.addEventListener("close", resolve, { once: true });
          socket.close();
        }),
    ),
  );
  return { messages: count, seconds: elapsed, cpuUs: serverUs, clientUs: client.user + client.system };
}

const server = await start();
const results = { websocket: [], fallback: [] };
for (let r = 0; r < ROUNDS; r++) {
  const order = r % 2 === 0 ? ["websocket", "fallback"] : ["fallback", "websocket"];
  for (const name of order) results[name].push(await round(transports[name], server.port, server.child.pid));
}
const summary = Object.entries(results).map(([name, rounds]) => {
  const messages = rounds.reduce((n, x) => n + x.messages, 0);
  const seconds = rounds.reduce((n, x) => n + x.seconds, 0);
  const cpuUs = rounds.reduce((n, x) => n + x.cpuUs, 0);
  const clientUs = rounds.reduce((n, x) => n + x.clientUs, 0);
  return { name, rate: messages / seconds, usPerMessage: cpuUs / messages, clientUsPerMessage: clientUs / messages };
});
const [ws, fb] = summary;
const workload = BURST > 0 ? `downstream bursts of ${BURST}` : `echo, ${DEPTH} in flight`;
console.log(
  `fallback vs WebSocket: ${CONNECTIONS} connections, ${workload}, ${SIZE}-byte text, ${ROUNDS} interleaved rounds of ${SECONDS} s`,
);
for (const s of summary) {
  console.log(
    `${s.name.padEnd(10)} ${s.rate.toFixed(0).padStart(8)} msg/s  ${s.usPerMessage.toFixed(2).padStart(7)} us server CPU/msg  ${s.clientUsPerMessage.toFixed(2).padStart(7)} us client CPU/msg`,
  );
}
console.log(
  `ratio fallback/websocket: CPU per message ${(fb.usPerMessage / ws.usPerMessage).toFixed(2)}x, rate ${(fb.rate / ws.rate).toFixed(2)}x`,
);
server.child.kill("SIGTERM");
