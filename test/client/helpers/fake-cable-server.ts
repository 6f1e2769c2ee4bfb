/**
 * A tiny ActionCable server on `ws`, for the consumer's network tests: welcome on connect,
 * pings, confirm/reject subscriptions, an echo for `message` commands, broadcasts, and the
 * `disconnect` message. Wire format as in @rails/actioncable (and actioncable's Ruby server):
 * every frame is JSON text; subprotocol `actioncable-v1-json`.
 */
import { once } from "node:events";
import { type WebSocket, WebSocketServer } from "ws";

export interface ReceivedCommand {
  connection: number;
  command: string;
  identifier: string;
  data?: unknown;
}

export class FakeCableServer {
  wss: WebSocketServer | null = null;
  port = 0;
  readonly commands: ReceivedCommand[] = [];
  readonly #subs = new Map<WebSocket, Set<string>>();
  #ids = new Map<WebSocket, number>();
  connections = 0;
  /** Channel names whose subscriptions are rejected. */
  reject = new Set<string>();
  /** Ignore this many subscribe commands (not confirmed: the client must retry). */
  ignoreSubscribes = 0;
  pingInterval = 3000;

  async start(port = this.port): Promise<void> {
    const wss = new WebSocketServer({
      host: "127.0.0.1",
      port,
      handleProtocols: (offered) => (offered.has("actioncable-v1-json") ? "actioncable-v1-json" : false),
    });
    await once(wss, "listening");
    this.wss = wss;
    this.port = (wss.address() as { port: number }).port;
    wss.on("connection", (ws) => this.#accept(ws));
  }

  #accept(ws: WebSocket): void {
    const id = ++this.connections;
    this.#ids.set(ws, id);
    this.#subs.set(ws, new Set());
    ws.send(JSON.stringify({ type: "welcome" }));
    const ping = setInterval(
      () => ws.send(JSON.stringify({ type: "ping", message: Math.floor(Date.now() / 1000) })),
      this.pingInterval,
    );
    ws.on("close", () => {
      clearInterval(ping);
      this.#subs.delete(ws);
    });
    ws.on("message", (raw) => {
      const { command, identifier, data } = JSON.parse(raw.toString()) as {
        command: string;
        identifier: string;
        data?: string;
      };
      this.commands.push({
        connection: id,
        command,
        identifier,
        data: data === undefined ? undefined : JSON.parse(data),
      });
      const subs = this.#subs.get(ws)!;
      if (command === "subscribe") {
        if (this.ignoreSubscribes > 0) {
          this.ignoreSubscribes--;
          return;
        }
        const { channel } = JSON.parse(identifier) as { channel: string };
        if (this.reject.has(channel)) {
          ws.send(JSON.stringify({ identifier, type: "reject_subscription" }));
          return;
        }
        if (subs.has(identifier)) return; // Rails: "Already subscribed", no second confirmation
        subs.add(identifier);
        ws.send(JSON.stringify({ identifier, type: "confirm_subscription" }));
      } else if (command === "unsubscribe") {
        subs.delete(identifier);
      } else if (command === "message" && subs.has(identifier)) {
        ws.send(JSON.stringify({ identifier, message: { echo: JSON.parse(data ?? "null") } }));
      }
    });
  }

  /** Send to every connection subscribed to `identifier`; returns the count. */
  broadcast(identifier: string, message: unknown): number {
    let n = 0;
    for (const [ws, subs] of this.#subs) {
      if (subs.has(identifier)) {
        ws.send(JSON.stringify({ identifier, message }));
        n++;
      }
    }
    return n;
  }

  /** Rails' `disconnect` message, then close (as ActionCable::Connection#close does). */
  disconnectAll(reason: string, reconnect: boolean): void {
    for (const ws of this.#subs.keys()) {
      ws.send(JSON.stringify({ type: "disconnect", reason, reconnect }));
      ws.close();
    }
  }

  subscribedCount(identifier: string): number {
    return [...this.#subs.values()].filter((s) => s.has(identifier)).length;
  }

  async kill(): Promise<void> {
    const wss = this.wss;
    if (!wss) return;
    this.wss = null;
    for (const ws of wss.clients) ws.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  }
}
