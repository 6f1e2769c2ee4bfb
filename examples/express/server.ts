/**
 * wirecable next to Express: Express serves HTTP, and the HTTP server's `upgrade` event hands
 * WebSocket requests for /ws to a `noServer` WebSocketServer with `handleUpgrade` (other paths
 * get 404). The same pattern works with Fastify (`fastify.server`) and Koa (`app.listen()`'s
 * server): anything that exposes its node:http server.
 * Note: wirecable's handleUpgrade emits "connection" itself (ws leaves that to the callback).
 * Run: npx tsx examples/express/server.ts [port]    then: node bin/wirecable.js connect ws://127.0.0.1:8087/ws
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { pathToFileURL } from "node:url";
import express from "express";
import { type Connection, WebSocketServer } from "../../src/node/index.js";

export interface App {
  server: Server;
  wss: WebSocketServer;
  url: string;
  close(): Promise<void>;
}

export async function start(port = 8087, host = "127.0.0.1"): Promise<App> {
  const app = express();
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  let messages = 0;

  app.get("/", (_req, res) => {
    res.type("text/plain").send("Express and wirecable on one port: WebSocket at /ws, stats at /stats\n");
  });
  app.get("/stats", (_req, res) => {
    res.json({ clients: wss.clients.size, messages });
  });

  wss.on("connection", (conn: Connection) => {
    conn.on("message", (data: string | Buffer, isBinary: boolean) => {
      messages++;
      conn.send(data, { binary: isBinary });
    });
  });

  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(port, host, () => resolve(s));
  });
  server.on("upgrade", (req, socket: Duplex, head: Buffer) => {
    const { pathname } = new URL(`http://localhost${req.url ?? "/"}`);
    if (pathname !== "/ws") {
      socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    wss.handleUpgrade(req, socket, head);
  });
  const { port: actual } = server.address() as AddressInfo;
  return {
    server,
    wss,
    url: `http://${host}:${actual}`,
    async close() {
      await wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const app = await start(Number(process.argv[2] ?? 8087));
  console.log(`express + wirecable on ${app.url} (WebSocket: ${app.url.replace("http", "ws")}/ws)`);
  process.once("SIGINT", () => void app.close().then(() => process.exit(0)));
}
