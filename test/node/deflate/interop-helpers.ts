/**
 * Helpers for the permessage-deflate interop tests (test/interop/deflate-*.test.ts): an echo
 * server on the Node layer, and a byte-counting TCP proxy that proves frames really were
 * compressed on the wire (not merely negotiated).
 */
import { once } from "node:events";
import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";
import type { PerMessageDeflateOptions } from "../../../src/node/deflate/index.js";
import { type Connection, WebSocketServer } from "../../../src/node/index.js";

export interface CountingProxy {
  port: number;
  /** Bytes client -> server so far. */
  readonly up: number;
  /** Bytes server -> client so far. */
  readonly down: number;
  close(): Promise<void>;
}

export async function countingProxy(targetPort: number): Promise<CountingProxy> {
  let up = 0;
  let down = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = tcpConnect(targetPort, "127.0.0.1");
    sockets.add(client).add(upstream);
    client.on("data", (d) => {
      up += d.length;
      upstream.write(d);
    });
    upstream.on("data", (d) => {
      down += d.length;
      client.write(d);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("close", end).on("error", end);
    upstream.on("close", end).on("error", end);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    port: (server.address() as { port: number }).port,
    get up() {
      return up;
    },
    get down() {
      return down;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface EchoServer {
  port: number;
  wss: WebSocketServer;
  /** The `extensions` of every connection accepted. */
  extensions: string[];
  /** The `Sec-WebSocket-Extensions` offer of every connection accepted. */
  offers: string[];
  connections: Connection[];
  close(): Promise<void>;
}

/** Our server, echoing every message (text as text), with the given perMessageDeflate option. */
export async function echoServer(
  perMessageDeflate: boolean | PerMessageDeflateOptions,
  onMessage?: (conn: Connection, data: string | Buffer, isBinary: boolean) => void,
): Promise<EchoServer> {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate, pingInterval: 0 });
  const extensions: string[] = [];
  const offers: string[] = [];
  const connections: Connection[] = [];
  wss.on("connection", (conn: Connection, req?: { headers: Record<string, string | string[] | undefined> }) => {
    extensions.push(conn.extensions);
    offers.push(String(req?.headers["sec-websocket-extensions"] ?? ""));
    connections.push(conn);
    conn.on("message", (data: string | Buffer, isBinary: boolean) => {
      if (onMessage) onMessage(conn, data, isBinary);
      else conn.send(data, { binary: isBinary });
    });
  });
  await wss.ready;
  return {
    port: (wss.address() as { port: number }).port,
    wss,
    extensions,
    offers,
    connections,
    close: () => wss.close({ timeout: 1000 }),
  };
}

/** Compressible JSON of about `size` bytes, different for each `seed`. */
export function compressible(seed: number, size = 16 * 1024): string {
  const items: string[] = [];
  let length = 0;
  for (let i = 0; length < size; i++) {
    const item = JSON.stringify({
      seed,
      i,
      user: `user-${i % 17}`,
      text: "the quick brown fox jumps over the lazy dog",
    });
    items.push(item);
    length += item.length + 1;
  }
  return `[${items.join(",")}]`;
}
