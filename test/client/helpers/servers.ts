/**
 * Real peers for the client's network tests, loopback only, port 0: a `ws` server that records
 * what it receives (restartable on the same port) and a tiny TCP proxy whose sockets can be
 * killed (connection cut mid-stream) or frozen (TCP up, nothing forwarded: a silent peer).
 */
import { once } from "node:events";
import { connect, createServer, type Server, type Socket } from "node:net";
import { type WebSocket, WebSocketServer } from "ws";
import type { ClientEventMap, ClientEventName, ReconnectingWebSocket } from "../../../src/client/index.js";
import { TIME_SCALE } from "../../helpers/time.js";

export class RecordingServer {
  wss: WebSocketServer | null = null;
  port = 0;
  /** Every text message received, across restarts. */
  readonly received: string[] = [];
  connections = 0;
  readonly sockets = new Set<WebSocket>();
  /** How the server answers a message; default: nothing. */
  onMessage: (ws: WebSocket, text: string) => void = () => {};
  onConnection: (ws: WebSocket) => void = () => {};

  async start(port = this.port): Promise<void> {
    const wss = new WebSocketServer({ host: "127.0.0.1", port });
    await once(wss, "listening");
    this.wss = wss;
    this.port = (wss.address() as { port: number }).port;
    wss.on("connection", (ws) => {
      this.connections++;
      this.sockets.add(ws);
      ws.on("close", () => this.sockets.delete(ws));
      ws.on("message", (data, isBinary) => {
        const text = isBinary ? `<binary ${(data as Buffer).length}>` : data.toString();
        this.received.push(text);
        this.onMessage(ws, text);
      });
      this.onConnection(ws);
    });
  }

  /** Kill: every connection terminated (no close frame), the listener closed. */
  async kill(): Promise<void> {
    const wss = this.wss;
    if (!wss) return;
    this.wss = null;
    for (const ws of this.sockets) ws.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  }
}

export class TcpProxy {
  readonly server: Server;
  readonly pairs = new Set<[Socket, Socket]>();
  port = 0;
  #frozen = false;

  constructor(targetPort: number) {
    this.server = createServer((client) => {
      const upstream = connect(targetPort, "127.0.0.1");
      const pair: [Socket, Socket] = [client, upstream];
      this.pairs.add(pair);
      const forward = (from: Socket, to: Socket) =>
        from.on("data", (chunk) => {
          if (!this.#frozen && !to.destroyed) to.write(chunk);
        });
      forward(client, upstream);
      forward(upstream, client);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        this.pairs.delete(pair);
      };
      client.on("error", drop).on("close", drop);
      upstream.on("error", drop).on("close", drop);
    });
  }

  async listen(): Promise<void> {
    this.server.listen(0, "127.0.0.1");
    await once(this.server, "listening");
    this.port = (this.server.address() as { port: number }).port;
  }

  /** Cut every proxied connection at once (RST-like: destroy both sides). */
  killConnections(): number {
    const n = this.pairs.size;
    for (const [a, b] of this.pairs) {
      a.resetAndDestroy();
      b.destroy();
    }
    this.pairs.clear();
    return n;
  }

  /** Stop forwarding anything while keeping TCP up (a dead NAT entry, a frozen peer). */
  freeze(frozen = true): void {
    this.#frozen = frozen;
  }

  async close(): Promise<void> {
    this.killConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Resolve with the next `type` event of the client, or reject after `ms`. */
export function nextEvent<K extends ClientEventName>(
  client: ReconnectingWebSocket,
  type: K,
  ms = 5000,
): Promise<ClientEventMap[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no "${type}" event within ${ms * TIME_SCALE} ms (state ${client.state})`));
    }, ms * TIME_SCALE);
    const off = client.on(type, (event) => {
      clearTimeout(timer);
      off();
      resolve(event);
    });
  });
}
