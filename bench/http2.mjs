// WebSockets over HTTP/2 (RFC 8441) against WebSockets over their own connections, side by side
// in one run. The server is the CLI as a user starts it, `wirecable echo --http2` (TLS, ALPN h2
// and http/1.1 on one port), a fresh process per round and mode. Modes:
//   h2      CONNECTIONS WebSockets as streams of ONE HTTP/2 session (connect(url, { http2: true }))
//   h1-tls  CONNECTIONS WebSockets over CONNECTIONS TLS connections (HTTP/1.1 upgrade, same server)
//   h1-tcp  CONNECTIONS WebSockets over plain TCP (`wirecable echo` without --http2), for scale
// Each WebSocket keeps DEPTH messages of SIZE bytes in flight for SECONDS; rounds interleave the
// modes. Figures: server CPU (user + system, /proc/PID/stat) per echoed message, client CPU
// (this process, process.cpuUsage) per message, messages/s, and the server's resident memory
// per WebSocket (RSS with them open minus RSS before, /proc/PID/stat), medians over the rounds,
// with the ratios against h1-tls.
// Needs `npm run build`. Usage: node bench/http2.mjs [rounds=3] [seconds=4]
//   env CONNECTIONS (1000), DEPTH (1), SIZE (64), MODES (h2,h1-tls,h1-tcp)
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { connect } from "../dist/node/index.js";
import { cpuSeconds, machine, rssKB } from "./lib/procfs.mjs";

const ROUNDS = Number(process.argv[2] ?? 3);
const SECONDS = Number(process.argv[3] ?? 4);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 1000);
const DEPTH = Number(process.env.DEPTH ?? 1);
const SIZE = Number(process.env.SIZE ?? 64);
const MODES = (process.env.MODES ?? "h2,h1-tls,h1-tcp").split(",");
const OPEN_BATCH = 50;

const cli = fileURLToPath(new URL("../bin/wirecable.js", import.meta.url));

function startServer(tls) {
  const args = [cli, "echo", "--port", "0", "--host", "127.0.0.1", ...(tls ? ["--http2"] : [])];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "ignore"] });
    let out = "";
    child.stdout.on("data", (chunk) => {
      out += chunk;
      const match = /wss?:\/\/\S+/.exec(out);
      if (match) resolve({ child, url: match[0] });
    });
    child.once("exit", (code) => reject(new Error(`echo server exited with ${code}`)));
  });
}

/** Resolves once the server's RSS has stopped moving (start-up settled), or after 2 s. */
async function settledRss(pid) {
  let last = rssKB([pid]);
  for (let i = 0; i < 20; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const now = rssKB([pid]);
    if (Math.abs(now - last) < 64) return now;
    last = now;
  }
  return last;
}

async function openAll(url, mode) {
  const options = mode === "h2" ? { http2: true, rejectUnauthorized: false } : { rejectUnauthorized: false };
  const conns = [];
  for (let i = 0; i < CONNECTIONS; i += OPEN_BATCH) {
    const batch = Math.min(OPEN_BATCH, CONNECTIONS - i);
    conns.push(...(await Promise.all(Array.from({ length: batch }, () => connect(url, options)))));
  }
  if (mode === "h2") {
    const sessions = new Set(conns.map((c) => c.socket.session));
    if (sessions.size !== 1 || conns[0].socket.session === undefined) {
      throw new Error(`h2: expected one HTTP/2 session, got ${sessions.size}`);
    }
  } else if (conns.some((c) => c.socket.session !== undefined)) {
    throw new Error(`${mode}: expected TCP connections`);
  }
  return conns;
}

async function round(mode) {
  const server = await startServer(mode !== "h1-tcp");
  const pid = server.child.pid;
  try {
    const rssBefore = await settledRss(pid);
    const conns = await openAll(server.url, mode);
    const payload = "x".repeat(SIZE);
    let count = 0;
    let running = true;
    for (const conn of conns) {
      conn.on("message", () => {
        count++;
        if (running) conn.send(payload);
      });
    }
    // Warm-up: a second of traffic before measuring (JIT, buffers, windows).
    for (const conn of conns) for (let i = 0; i < DEPTH; i++) conn.send(payload);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const counted = count;
    const cpu0 = cpuSeconds([pid]);
    const client0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    await new Promise((resolve) => setTimeout(resolve, SECONDS * 1000));
    const messages = count - counted;
    const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
    const serverCpu = cpuSeconds([pid]) - cpu0;
    const client = process.cpuUsage(client0);
    const rssOpen = rssKB([pid]);
    running = false;
    await Promise.all(
      conns.map((conn) => {
        conn.close();
        return conn.closed;
      }),
    );
    return {
      mode,
      messages,
      perSecond: messages / elapsed,
      serverUs: (serverCpu * 1e6) / messages,
      clientUs: (client.user + client.system) / messages,
      rssPerConnKB: (rssOpen - rssBefore) / CONNECTIONS,
    };
  } finally {
    server.child.kill("SIGKILL");
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const m = machine();
console.log(
  `# RFC 8441: ${CONNECTIONS} WebSockets over one HTTP/2 connection vs ${CONNECTIONS} connections` +
    `\n# ${m.nproc} cores, ${m.cpu}, node ${m.node}, load ${m.loadavg}; ${ROUNDS} rounds x ${SECONDS} s,` +
    ` depth ${DEPTH}, ${SIZE} B text, echo server: wirecable echo [--http2]`,
);
const results = new Map(MODES.map((mode) => [mode, []]));
for (let r = 0; r < ROUNDS; r++) {
  for (const mode of r % 2 ? [...MODES].reverse() : MODES) {
    const res = await round(mode);
    results.get(mode).push(res);
    console.log(
      `round ${r + 1} ${mode.padEnd(6)} ${Math.round(res.perSecond).toLocaleString("en-US")} msg/s, server ` +
        `${res.serverUs.toFixed(2)} us/msg, client ${res.clientUs.toFixed(2)} us/msg, server RSS ` +
        `${res.rssPerConnKB.toFixed(1)} KB/WebSocket`,
    );
  }
}

const labels = {
  h2: `${CONNECTIONS} streams, 1 HTTP/2 connection (TLS)`,
  "h1-tls": `${CONNECTIONS} TLS connections (HTTP/1.1)`,
  "h1-tcp": `${CONNECTIONS} TCP connections (no TLS)`,
};
const summary = MODES.map((mode) => {
  const rs = results.get(mode);
  return {
    mode,
    perSecond: median(rs.map((r) => r.perSecond)),
    serverUs: median(rs.map((r) => r.serverUs)),
    clientUs: median(rs.map((r) => r.clientUs)),
    rssPerConnKB: median(rs.map((r) => r.rssPerConnKB)),
  };
});
const base = summary.find((s) => s.mode === "h1-tls") ?? summary[0];
console.log(
  `\n| ${CONNECTIONS} WebSockets over | msg/s | server CPU/msg | client CPU/msg | server RSS/WebSocket |` +
    ` vs ${base.mode}: server CPU, RSS |\n| --- | ---: | ---: | ---: | ---: | ---: |`,
);
for (const s of summary) {
  console.log(
    `| ${labels[s.mode] ?? s.mode} | ${Math.round(s.perSecond).toLocaleString("en-US")} | ` +
      `${s.serverUs.toFixed(2)} µs | ${s.clientUs.toFixed(2)} µs | ${s.rssPerConnKB.toFixed(1)} KB | ` +
      `${(s.serverUs / base.serverUs).toFixed(2)}x, ${(s.rssPerConnKB / base.rssPerConnKB).toFixed(2)}x |`,
  );
}
