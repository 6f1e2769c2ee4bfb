// The drop-in benchmark: the unchanged ws echo app (examples/drop-in/ws-echo.mjs) against the
// same app with its import changed to wirecable/ws, side by side in one run. Rounds alternate
// between the two servers; each round opens CONNECTIONS ws clients that keep DEPTH messages in
// flight for SECONDS and counts the echoes. Server CPU (user + system) comes from
// /proc/PID/stat. Prints us of server CPU per echoed message, messages/s, and the ratios.
// Needs `npm run build`. Usage: node bench/drop-in.mjs [rounds=4] [seconds=3]
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";

const ROUNDS = Number(process.argv[2] ?? 4);
const SECONDS = Number(process.argv[3] ?? 3);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 50);
const DEPTH = Number(process.env.DEPTH ?? 4);
const SIZE = Number(process.env.SIZE ?? 64);
const TICK_US = 1e6 / 100; // USER_HZ

const dir = fileURLToPath(new URL("../examples/drop-in/", import.meta.url));
const apps = [
  { name: "ws", file: "ws-echo.mjs" },
  { name: "wirecable/ws", file: "ws-echo.wirecable.mjs" },
];

function cpuTicks(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]); // utime + stime
}

function start(file) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [dir + file], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (chunk) => {
      out += chunk;
      const match = /listening (\d+)/.exec(out);
      if (match) resolve({ child, port: Number(match[1]) });
    });
    child.once("exit", (code) => reject(new Error(`${file} exited with ${code}`)));
  });
}

async function round(port, pid) {
  const payload = "x".repeat(SIZE);
  const sockets = await Promise.all(
    Array.from({ length: CONNECTIONS }, () => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false });
      return new Promise((resolve, reject) => {
        ws.once("open", () => resolve(ws));
        ws.once("error", reject);
      });
    }),
  );
  let count = 0;
  let running = true;
  for (const ws of sockets) {
    ws.on("message", () => {
      count++;
      if (running) ws.send(payload);
    });
  }
  const before = cpuTicks(pid);
  const started = process.hrtime.bigint();
  for (const ws of sockets) for (let i = 0; i < DEPTH; i++) ws.send(payload);
  await new Promise((resolve) => setTimeout(resolve, SECONDS * 1000));
  running = false;
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  const ticks = cpuTicks(pid) - before;
  await Promise.all(
    sockets.map(
      (ws) =>
        new Promise((resolve) => {
          ws.once("close", resolve);
          ws.close();
        }),
    ),
  );
  return { messages: count, seconds: elapsed, cpuUs: ticks * TICK_US };
}

const servers = [];
for (const app of apps) servers.push({ ...app, ...(await start(app.file)), results: [] });
for (let r = 0; r < ROUNDS; r++) {
  const order = r % 2 === 0 ? servers : [...servers].reverse();
  for (const server of order) server.results.push(await round(server.port, server.child.pid));
}
const summary = servers.map((s) => {
  const messages = s.results.reduce((n, x) => n + x.messages, 0);
  const seconds = s.results.reduce((n, x) => n + x.seconds, 0);
  const cpuUs = s.results.reduce((n, x) => n + x.cpuUs, 0);
  return { name: s.name, rate: messages / seconds, usPerMessage: cpuUs / messages, rounds: s.results };
});
const [ws, ours] = summary;
console.log(
  `drop-in echo: ${CONNECTIONS} connections x ${DEPTH} in flight, ${SIZE}-byte text, ${ROUNDS} interleaved rounds of ${SECONDS} s`,
);
for (const s of summary) {
  console.log(
    `${s.name.padEnd(14)} ${s.rate.toFixed(0).padStart(8)} msg/s  ${s.usPerMessage.toFixed(2).padStart(6)} us server CPU/msg`,
  );
}
console.log(
  `ratio wirecable/ws vs ws: CPU per message ${(ours.usPerMessage / ws.usPerMessage).toFixed(2)}x, rate ${(ours.rate / ws.rate).toFixed(2)}x`,
);
for (const s of servers) s.child.kill("SIGTERM");
