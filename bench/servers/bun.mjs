// Peer server: Bun.serve (uWebSockets inside). Run with node_modules/.bin/bun. Same app logic:
// /pub broadcasts to every subscriber of /sub and /pub (uWS pub/sub, its idiomatic fast path),
// anything else echoes. `--workers N` starts N-1 more Bun processes on the same port (reusePort).
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    workers: { type: "string", default: "1" },
    deflate: { type: "boolean", default: false },
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: "0" },
    child: { type: "boolean", default: false },
  },
  strict: false,
});
const workers = Number(values.workers);
const deflate = !!values.deflate;

const server = Bun.serve({
  hostname: values.host,
  port: Number(values.port),
  reusePort: workers > 1,
  fetch(req, srv) {
    const path = new URL(req.url).pathname;
    if (srv.upgrade(req, { data: { pub: path === "/pub", sub: path === "/sub" || path === "/pub" } })) return;
    return new Response("upgrade required", { status: 426 });
  },
  websocket: {
    maxPayloadLength: 16 * 1024 * 1024,
    idleTimeout: 0,
    perMessageDeflate: deflate,
    open(ws) {
      if (ws.data.sub) ws.subscribe("all");
    },
    message(ws, msg) {
      if (ws.data.pub) server.publish("all", msg, deflate);
      else ws.send(msg, deflate);
    },
  },
});

const children = [];
if (!values.child) {
  for (let i = 1; i < workers; i++) {
    children.push(
      Bun.spawn(
        [
          process.execPath,
          import.meta.path,
          "--child",
          "--workers",
          String(workers),
          "--port",
          String(server.port),
          ...(deflate ? ["--deflate"] : []),
        ],
        {
          stdin: "pipe",
          stdout: "inherit",
          stderr: "inherit",
        },
      ),
    );
  }
  if (children.length) await Bun.sleep(300);
  process.stdout.write(`LISTENING ${server.port}\n`);
}
process.stdin.setEncoding?.("utf8");
process.stdin.on("data", (s) => {
  if (String(s).includes("gc")) {
    Bun.gc(true);
    for (const c of children) {
      c.stdin.write("gc\n");
      c.stdin.flush?.();
    }
  }
});
process.stdin.on("end", () => {
  for (const c of children) c.kill();
  process.exit(0);
});
