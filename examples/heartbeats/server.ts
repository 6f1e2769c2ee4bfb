/**
 * Heartbeats and idle timeouts:
 * - `pingInterval`: after this long without hearing from a client the server pings it;
 *   `pongTimeout`: a client that stays silent that much longer is dead (a laptop closed, a
 *   NAT that forgot the flow) and its socket is destroyed: its `close` fires with 1006.
 * - `idleTimeout`: a connection with no data message either way for this long is closed with
 *   1001 "idle timeout" (pings and pongs do not count: they keep dead peers out, not idle ones).
 * The defaults are 30 s / 10 s and no idle timeout; a load balancer cutting idle flows after 60 s
 * is what the 30 s ping is below. Clients can ping too: connect(url, { pingInterval }).
 * Run: npx tsx examples/heartbeats/server.ts [port]
 */
import { pathToFileURL } from "node:url";
import { type Connection, WebSocketServer } from "../../src/node/index.js";

export interface HeartbeatOptions {
  port?: number;
  host?: string;
  pingInterval?: number;
  pongTimeout?: number;
  idleTimeout?: number;
  log?: (line: string) => void;
}

export async function start(options: HeartbeatOptions = {}): Promise<WebSocketServer> {
  const log = options.log ?? console.log;
  const wss = new WebSocketServer({
    port: options.port ?? 8085,
    host: options.host ?? "127.0.0.1",
    pingInterval: options.pingInterval ?? 15_000,
    pongTimeout: options.pongTimeout ?? 5_000,
    idleTimeout: options.idleTimeout ?? 120_000,
  });
  let next = 0;
  wss.on("connection", (conn: Connection) => {
    const id = ++next;
    log(`#${id} connected`);
    conn.on("pong", () => log(`#${id} pong`));
    conn.on("message", (data: string | Buffer) => conn.send(data));
    conn.on("close", (code: number, reason: string) => log(`#${id} closed ${code} ${reason}`));
  });
  await wss.ready;
  return wss;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const wss = await start({ port: Number(process.argv[2] ?? 8085) });
  console.log(`heartbeat server on ${wss.url}`);
  process.once("SIGINT", () => void wss.close().then(() => process.exit(0)));
}
