/**
 * A reverse proxy that blocks WebSockets, as corporate middleboxes do, for the fallback's tests:
 * plain HTTP requests are forwarded to the target and streamed both ways (no buffering: an
 * event stream flows through), while upgrade requests are
 * - "strip": forwarded with their Upgrade and Connection headers dropped (the server answers a
 *   plain GET, usually 426, and that answer is relayed: the WebSocket fails before it opens);
 * - "hang": held without an answer until the proxy closes (a proxy sitting on the upgrade);
 * - "reset": cut at once.
 * `upgradeUrls` lists the upgrade requests seen, `requests` the plain ones (method and URL),
 * `count(path)` counts them for one path;
 * `cutStreams()` cuts the event streams flowing through, as a proxy with a time limit does.
 */
import { createServer, type IncomingMessage, request, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { Duplex } from "node:stream";

export type BlockMode = "strip" | "hang" | "reset";

const HOP_BY_HOP = new Set([
  "connection",
  "upgrade",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "te",
  "trailer",
  "sec-websocket-key",
  "sec-websocket-version",
  "sec-websocket-extensions",
  "sec-websocket-protocol",
]);

export class BlockingProxy {
  readonly server: Server;
  mode: BlockMode;
  /** URLs of the upgrade requests seen. */
  readonly upgradeUrls: string[] = [];
  readonly requests: string[] = [];
  #target = "";
  readonly #held = new Set<Duplex>();
  readonly #streams = new Set<import("node:http").ServerResponse>();

  constructor(mode: BlockMode = "strip") {
    this.mode = mode;
    this.server = createServer((req, res) => {
      this.requests.push(`${req.method} ${req.url}`);
      const upstream = this.#forward(req, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        if (String(answer.headers["content-type"]).startsWith("text/event-stream")) {
          this.#streams.add(res);
          res.on("close", () => this.#streams.delete(res));
        }
        answer.pipe(res);
      });
      upstream.on("error", () => res.destroy());
      res.on("close", () => upstream.destroy());
      req.pipe(upstream);
    });
    this.server.on("upgrade", (req: IncomingMessage, socket: Duplex) => this.#upgrade(req, socket));
  }

  /** Listen on loopback (port 0); requests go to `target` (http://host:port). */
  async listen(target?: string): Promise<string> {
    if (target !== undefined) this.#target = target;
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return this.origin;
  }

  set target(target: string) {
    this.#target = target;
  }

  get origin(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  get upgrades(): number {
    return this.upgradeUrls.length;
  }

  /** Upgrade requests (or, with `plain`, plain requests) whose path is `path`. */
  count(path: string, plain = false): number {
    const list = plain ? this.requests.map((r) => r.slice(r.indexOf(" ") + 1)) : this.upgradeUrls;
    return list.filter((url) => url.split("?")[0] === path).length;
  }

  /** Cut every event stream flowing through (as proxies with a response time limit do). */
  cutStreams(): void {
    for (const res of this.#streams) res.destroy();
  }

  async close(): Promise<void> {
    for (const socket of this.#held) socket.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  #forward(req: IncomingMessage, onAnswer: (answer: IncomingMessage) => void) {
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value;
    }
    const url = new URL(req.url ?? "/", this.#target);
    return request(url, { method: req.method, headers }, onAnswer);
  }

  #upgrade(req: IncomingMessage, socket: Duplex): void {
    this.upgradeUrls.push(req.url ?? "/");
    socket.on("error", () => {});
    if (this.mode === "reset") {
      (socket as Socket).resetAndDestroy?.() ?? socket.destroy();
      return;
    }
    if (this.mode === "hang") {
      this.#held.add(socket);
      socket.on("close", () => this.#held.delete(socket));
      return;
    }
    const upstream = this.#forward(req, (answer) => {
      let head = `HTTP/1.1 ${answer.statusCode} ${answer.statusMessage}\r\n`;
      for (const [name, value] of Object.entries(answer.headers)) {
        if (value === undefined || HOP_BY_HOP.has(name)) continue;
        for (const v of Array.isArray(value) ? value : [value]) head += `${name}: ${v}\r\n`;
      }
      socket.write(`${head}connection: close\r\n\r\n`);
      answer.pipe(socket);
    });
    upstream.on("error", () => socket.destroy());
    upstream.end();
  }
}
