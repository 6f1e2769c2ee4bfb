// Peer server: wirecable's own WebSocketServer, loaded from the built dist/ (run `npm run build`
// first; built JS avoids tsx's overhead in the measurement). Same app logic as the other peers:
// /pub broadcasts each message to every client (publisher included, as its ack) with one frame
// built once (wss.broadcast), anything else echoes. `--workers N` uses cluster on one port.
// WIRECABLE_LEND=1 sets `lendMessages` (the handlers send the message before returning: allowed).
// WIRECABLE_PING=1 keeps the default heartbeat (pingInterval 30 s) and idle timeout.
// WIRECABLE_BACKPRESSURE=<policy> sets `backpressure` (`wirecable broadcast` runs with "drop").
import { MAX_PAYLOAD, serve } from "./common.mjs";

// WIRECABLE_DIST points at another build (e.g. a tsc --outDir elsewhere) to compare builds.
const dist = process.env.WIRECABLE_DIST
  ? new URL(`file://${process.env.WIRECABLE_DIST}/node/index.js`)
  : new URL("../../dist/node/index.js", import.meta.url);
const { WebSocketServer } = await import(dist.href);

serve(
  ({ host, deflate }) =>
    new Promise((resolve, reject) => {
      const wss = new WebSocketServer({
        host,
        port: 0,
        maxPayload: MAX_PAYLOAD,
        // WIRECABLE_DEFLATE_PRESET picks a memory preset ("shared" by default; "dedicated" keeps
        // a context per connection, as ws does by default).
        perMessageDeflate: deflate ? { threshold: 0, preset: process.env.WIRECABLE_DEFLATE_PRESET ?? "shared" } : false,
        // No heartbeat or idle timeout by default (the workloads measure traffic, not timers).
        // WIRECABLE_PING=1 (the wirecable-ping rows): the library's defaults, heartbeat included
        // (the native load generator answers pings, as real clients do).
        ...(process.env.WIRECABLE_PING === "1" ? {} : { pingInterval: 0, idleTimeout: 0 }),
        // WIRECABLE_LEND=1 (the wirecable-lent row): large messages lent to the handler (the
        // `lendMessages` option, as `wirecable echo` runs); default: owned messages.
        ...(process.env.WIRECABLE_LEND === "1" ? { lendMessages: true } : {}),
        // WIRECABLE_BACKPRESSURE=drop (the wirecable-drop / wirecable-cliopts rows): the policy
        // `wirecable broadcast` runs with; default: the library's ("close").
        ...(process.env.WIRECABLE_BACKPRESSURE ? { backpressure: process.env.WIRECABLE_BACKPRESSURE } : {}),
      });
      wss.on("error", reject);
      wss.on("connection", (conn, req) => {
        const path = req?.url ?? conn.request?.url;
        if (path === "/pub") {
          conn.on("message", (data, isBinary) => wss.broadcast(data, { binary: isBinary }));
        } else {
          conn.on("message", (data, isBinary) => conn.send(data, { binary: isBinary }));
        }
      });
      wss.ready.then(() => resolve(wss.address().port), reject);
    }),
);
