// Peer server: uWebSockets.js (the uWS C++ server as a Node addon, `@trufflesuite/uws-js-unofficial`,
// prebuilt for Node 20): what a Node user picks instead of ws when speed matters. Same app logic
// as the other peers: /pub publishes each message to every subscriber (/sub and /pub, uWS
// pub/sub: its idiomatic fast path, the publisher's own copy is its acknowledgement), anything
// else echoes. One process only: this build's listen() does not share a port between processes,
// so the suite leaves uws out of idle-100k (processes.mjs). `--deflate`: permessage-deflate with the shared compressor and
// decompressor (no per-connection context, like wirecable's default preset).
import { createRequire } from "node:module";
import { parseArgs } from "node:util";
import { MAX_PAYLOAD } from "./common.mjs";

const uWS = createRequire(import.meta.url)("@trufflesuite/uws-js-unofficial");

const { values } = parseArgs({
  options: {
    workers: { type: "string", default: "1" },
    deflate: { type: "boolean", default: false },
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: "0" },
  },
  strict: false,
});
const workers = Number(values.workers);
const deflate = !!values.deflate;
if (workers > 1) throw new Error("uws.mjs: one process only (no SO_REUSEPORT in this build)");

const app = uWS.App();
app.ws("/*", {
  maxPayloadLength: MAX_PAYLOAD,
  idleTimeout: 0,
  maxBackpressure: 64 * 1024 * 1024,
  compression: deflate ? uWS.SHARED_COMPRESSOR | uWS.SHARED_DECOMPRESSOR : uWS.DISABLED,
  upgrade(res, req, context) {
    const url = req.getUrl();
    res.upgrade(
      { pub: url === "/pub", sub: url === "/sub" || url === "/pub" },
      req.getHeader("sec-websocket-key"),
      req.getHeader("sec-websocket-protocol"),
      req.getHeader("sec-websocket-extensions"),
      context,
    );
  },
  open(ws) {
    if (ws.getUserData().sub) ws.subscribe("all");
  },
  message(ws, message, isBinary) {
    if (ws.getUserData().pub) app.publish("all", message, isBinary, deflate);
    else ws.send(message, isBinary, deflate);
  },
});

const port = await new Promise((resolve, reject) =>
  app.listen(values.host, Number(values.port), (token) =>
    token ? resolve(uWS.us_socket_local_port(token)) : reject(new Error(`uws: cannot listen on ${values.port}`)),
  ),
);

process.stdout.write(`LISTENING ${port}\n`);
process.stdin.setEncoding("utf8");
process.stdin.on("data", (s) => {
  if (s.includes("gc")) globalThis.gc?.();
});
process.stdin.on("end", () => process.exit(0));
