/**
 * Echo server: every message comes back as it was sent (text as text, binary as binary).
 * Run: npx tsx examples/echo/server.ts [port]       (then: npx tsx examples/echo/client.ts)
 * In your app, import from "wirecable" instead of the relative source path.
 */
import { pathToFileURL } from "node:url";
import { type Connection, WebSocketServer } from "../../src/node/index.js";

export async function start(port = 8080, host = "127.0.0.1"): Promise<WebSocketServer> {
  const wss = new WebSocketServer({ port, host, maxPayload: 1024 * 1024 });
  wss.on("connection", (conn: Connection) => {
    conn.on("message", (data: string | Buffer, isBinary: boolean) => {
      conn.send(data, { binary: isBinary });
    });
  });
  await wss.ready;
  return wss;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const wss = await start(Number(process.argv[2] ?? 8080));
  console.log(`echo server on ${wss.url}`);
  process.once("SIGINT", () => void wss.close().then(() => process.exit(0)));
}
