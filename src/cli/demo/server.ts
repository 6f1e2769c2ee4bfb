/**
 * The demo chat server behind `wirecable serve`: one HTTP server carrying the page (/), the
 * cable (/cable, ActionCable protocol, with its HTTP fallback for networks that block
 * WebSockets), /healthz and /metrics.
 *
 * Contract:
 * - Safe defaults: browsers may connect only from the server's own origins (plus `origins`);
 *   64 KiB max WebSocket message, 2 000 characters per chat message, per-connection rate limits
 *   (WebSocket: 60 messages per 10 s, excess closes with 1008; chat: a token bucket, excess
 *   refused), security headers on the page (CSP without inline scripts, nosniff, no framing).
 * - `close()` is the graceful shutdown: /healthz turns 503, every client gets the cable's
 *   `server_restart` disconnect and a 1001 close (the page reconnects, to another process if a
 *   load balancer sends it there), then the broker is released.
 * - With `tls`, one port serves HTTPS over HTTP/2 and HTTP/1.1 (ALPN), and the cable takes
 *   WebSockets over HTTP/2 (RFC 8441: browsers that speak it, such as Chromium, use it) as well
 *   as HTTP/1.1 upgrades; the URL and the server's own origins are https://.
 */
import { randomUUID } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { createServer, IncomingMessage, type Server, type ServerResponse } from "node:http";
import {
  createSecureServer,
  type Http2SecureServer,
  type Http2ServerRequest,
  type Http2ServerResponse,
} from "node:http2";
import type { AddressInfo, Socket } from "node:net";
import { hostname, networkInterfaces } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Logger } from "pino";
import {
  type Broker,
  brokerKind,
  brokerRelay,
  CableCore,
  createBroker,
  MemoryBroker,
  type PresenceOptions,
  selectProtocol,
} from "../../channels/index.js";
import { type Connection, type PreparedMessage, prepareMessage, WebSocketServer } from "../../node/index.js";
import { CHAT_HISTORY, type ChatLimits, createChatChannel } from "./chat-channel.js";
import { createMetrics, type DemoMetrics } from "./metrics.js";

export interface DemoServerOptions {
  /** Default 3000; 0 picks a free port (read `port` afterwards). */
  port?: number;
  /** Default "127.0.0.1" (loopback only: pass "0.0.0.0" or "::" to serve other machines). */
  host?: string;
  /**
   * Share rooms through the broker at this URL (`redis://…`, `redis+cluster://…`, `nats://…`,
   * `postgres://…`; see createBroker). Default: in memory.
   */
  brokerUrl?: string;
  /** Or through this broker (ClusterBroker under --workers; tests). Default: in memory. */
  broker?: Broker;
  /**
   * Extra allowed browser origins, besides the server's own: `http://localhost:PORT`,
   * `http://127.0.0.1:PORT`, `http://[::1]:PORT`, the `host` given, and with a wildcard host
   * (0.0.0.0, ::) every local interface address and the machine's host name.
   */
  origins?: string[];
  logger?: Logger;
  /** Where the bundled page is (default: dist/cli/demo/public, built by scripts/build-demo.mjs). */
  publicDir?: string;
  /** Default labels of every metric (e.g. `{ instance: "a" }`). */
  metricLabels?: Record<string, string>;
  /** The cluster worker this server is (`serve --workers`): /healthz names it (`"worker": N`). */
  worker?: number;
  /** The /metrics body, instead of this server's own registry (`serve --workers`: every worker's, aggregated). */
  metricsText?: () => Promise<string>;
  /** Collect Node's default process metrics too (default true). */
  processMetrics?: boolean;
  /** WebSocket max message size (default 64 KiB). */
  maxPayload?: number;
  /** Per-connection WebSocket rate limit (default 60 messages per 10 s; excess closes with 1008). */
  rateLimit?: { messages: number; interval: number };
  chat?: ChatLimits;
  /** Cable heartbeat (ms, default 3 000 as Rails). */
  pingInterval?: number;
  /** Presence changes of a room go out at most once per this many ms (default 100). */
  presenceInterval?: number;
  /** Serve over TLS with this certificate and key (PEM): HTTP/2 and HTTP/1.1 on one port. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Presence timing of a shared broker (heartbeats; how fast a crashed process's members go). */
  presence?: PresenceOptions;
}

export interface DemoServer {
  /** The HTTP server: node:http's, or with `tls` node:http2's secure server (HTTP/1.1 allowed). */
  readonly http: Server | Http2SecureServer;
  readonly cable: CableCore;
  readonly wss: WebSocketServer;
  readonly metrics: DemoMetrics;
  readonly broker: Broker;
  readonly port: number;
  /** `http://localhost:PORT` (or the host given, when it is not a wildcard or loopback). */
  readonly url: string;
  /** Graceful shutdown (see the module comment). */
  close(): Promise<void>;
}

const here = dirname(fileURLToPath(import.meta.url));

/** The built page: dist/cli/demo/public, beside the CLI bundle (dist/cli) or found from the sources (src/cli/demo). */
export function defaultPublicDir(): string {
  const bundled = join(here, "demo", "public");
  if (existsSync(join(bundled, "index.html"))) return bundled;
  return join(here, "..", "..", "..", "dist", "cli", "demo", "public");
}

const STATIC: Record<string, { file: string; type: string }> = {
  "/": { file: "index.html", type: "text/html; charset=utf-8" },
  "/index.html": { file: "index.html", type: "text/html; charset=utf-8" },
  "/app.js": { file: "app.js", type: "text/javascript; charset=utf-8" },
  "/style.css": { file: "style.css", type: "text/css; charset=utf-8" },
  "/favicon.svg": { file: "favicon.svg", type: "image/svg+xml" },
};

const SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
};

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost", "0.0.0.0", "::", ""]);

function bracket(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}

function byteLength(data: string | Buffer): number {
  return typeof data === "string" ? Buffer.byteLength(data) : data.length;
}

export async function startDemoServer(options: DemoServerOptions = {}): Promise<DemoServer> {
  const host = options.host ?? "127.0.0.1";
  const log = options.logger;
  const metrics = createMetrics(options.metricLabels, options.processMetrics ?? true);
  const processId = randomUUID();
  const ownsBroker = options.broker === undefined;
  const brokerName = options.broker !== undefined ? "shared" : brokerKind(options.brokerUrl);
  // Rooms keep their history in the broker (NATS keeps none yet: rooms there are live only).
  const broker: Broker =
    options.broker ??
    createBroker(options.brokerUrl, {
      prefix: "wirecable-demo",
      history: brokerName === "nats" ? undefined : CHAT_HISTORY,
      presence: options.presence,
    });
  // Broker errors repeat on every reconnection attempt: count them all, log one per 10 s.
  let lastBrokerLog = 0;
  let quietErrors = 0;
  broker.on("error", (err) => {
    metrics.errors.inc({ kind: "broker" });
    const now = Date.now();
    if (now - lastBrokerLog < 10_000) {
      quietErrors++;
      return;
    }
    log?.warn({ err: err.message, suppressed: quietErrors }, "broker error");
    lastBrokerLog = now;
    quietErrors = 0;
  });
  broker.on("disconnected", () => log?.warn("broker disconnected"));
  broker.on("reconnected", (info) => log?.info(info, "broker reconnected"));
  broker.on("lost", (info) => {
    metrics.dropped.inc({ reason: "broker" });
    log?.warn({ stream: info.stream, reason: info.reason }, "broadcast lost");
  });
  const ChatChannel = createChatChannel({
    limits: options.chat,
    onMessage: (room, message) => {
      metrics.chatMessages.inc();
      log?.debug({ room, id: message.id, length: message.text.length }, "chat message");
    },
    onDropped: (reason, count) => metrics.dropped.inc({ reason }, count),
  });
  const cable = new CableCore({
    channels: { ChatChannel },
    broker,
    pingInterval: options.pingInterval ?? 3000,
    prepare: (text) => prepareMessage(text),
    // The page waits up to 10 minutes for a message's acknowledgement (re-sending it after each
    // reconnection): its id must be remembered longer than that, or a late re-send runs twice.
    acks: { window: 15 * 60_000 },
    presence: { interval: options.presenceInterval ?? 100 },
  });
  cable.on("error", (err: Error) => {
    metrics.errors.inc({ kind: "cable" });
    log?.info({ err: err.message }, "cable error");
  });

  const publicDir = options.publicDir ?? defaultPublicDir();
  const files = new Map<string, Buffer>();
  const readStatic = (name: string): Buffer | undefined => {
    let data = files.get(name);
    if (data === undefined) {
      try {
        data = readFileSync(join(publicDir, name));
        files.set(name, data);
      } catch {
        return undefined;
      }
    }
    return data;
  };

  let shuttingDown = false;
  const tls = options.tls;
  const http: Server | Http2SecureServer =
    tls === undefined
      ? createServer((req, res) => void handle(req, res))
      : createSecureServer({ cert: tls.cert, key: tls.key, allowHTTP1: true }, (req, res) => void handle(req, res));
  // Open sockets, for shutdown (node:http2's server has no closeAllConnections).
  const sockets = new Set<Socket>();
  http.on(tls === undefined ? "connection" : "secureConnection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  async function handle(
    req: IncomingMessage | Http2ServerRequest,
    res: ServerResponse | Http2ServerResponse,
  ): Promise<void> {
    // The cable's HTTP fallback (HTTP/1.1), for browsers whose network blocks WebSockets.
    if (req instanceof IncomingMessage && wss.handleRequest(req, res as ServerResponse)) return;
    const path = (req.url ?? "/").split("?")[0]!;
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    if (path === "/healthz") {
      const body = JSON.stringify({
        status: shuttingDown ? "shutting down" : "ok",
        connections: wss.clients.size,
        uptime: Math.round(process.uptime()),
        ...(options.worker !== undefined ? { worker: options.worker } : {}),
      });
      res.writeHead(shuttingDown ? 503 : 200, { "content-type": "application/json" }).end(body);
      return;
    }
    if (path === "/metrics") {
      try {
        const body = await (options.metricsText ?? (() => metrics.registry.metrics()))();
        res.writeHead(200, { "content-type": metrics.registry.contentType }).end(body);
      } catch (err) {
        log?.error({ err }, "metrics failed");
        res.writeHead(500).end();
      }
      return;
    }
    const entry = STATIC[path];
    const data = entry ? readStatic(entry.file) : undefined;
    if (entry === undefined || data === undefined) {
      const missing = entry !== undefined;
      res
        .writeHead(missing ? 500 : 404, { "content-type": "text/plain; charset=utf-8", ...SECURITY_HEADERS })
        .end(missing ? "demo page not built: run `npm run build`\n" : "not found\n");
      return;
    }
    res.writeHead(200, { "content-type": entry.type, "content-length": data.length, ...SECURITY_HEADERS });
    if (req.method === "HEAD") res.end();
    else res.end(data);
  }

  // Origins: the server's own URLs (filled in once the port is known), plus the configured ones.
  const allowed = new Set<string>((options.origins ?? []).map((o) => new URL(o).origin));
  const wss = new WebSocketServer({
    server: http,
    path: "/cable",
    protocols: (offered) => selectProtocol(offered),
    // Browsers always send Origin: refusing foreign ones stops cross-site WebSocket hijacking.
    // Non-browser clients (CLI, scripts) send none and are let in.
    origins: (origin) => {
      if (origin === undefined) return true;
      try {
        return allowed.has(new URL(origin).origin);
      } catch {
        return false;
      }
    },
    maxPayload: options.maxPayload ?? 64 * 1024,
    rateLimit: options.rateLimit ?? { messages: 60, interval: 10_000 },
    maxBufferedAmount: 1024 * 1024,
    backpressure: "close",
    // Sessions over HTTP for networks that block WebSockets; under --workers or with a shared
    // broker, POSTs landing on another process reach their session through the broker.
    fallback: { relay: broker instanceof MemoryBroker ? undefined : brokerRelay(broker) },
  });
  wss.on("rejected", (req: IncomingMessage, error: Error) => {
    metrics.errors.inc({ kind: "handshake" });
    log?.info({ origin: req.headers.origin, url: req.url, err: error.message }, "upgrade refused");
  });
  wss.on("connection", (conn: Connection, req: IncomingMessage) => {
    metrics.connections.inc();
    metrics.connectionsTotal.inc();
    log?.debug({ remote: conn.remoteAddress }, "connected");
    const transport = {
      protocol: conn.protocol,
      send(message: string | PreparedMessage) {
        const result = typeof message === "string" ? conn.send(message) : conn.sendPrepared(message);
        if (result === "dropped") {
          metrics.dropped.inc({ reason: "slow consumer" });
          return;
        }
        metrics.messagesOut.inc();
        metrics.bytesOut.inc(typeof message === "string" ? Buffer.byteLength(message) : message.payload.length);
      },
      // On shutdown the cable closes with 1000 after its server_restart message; say 1001
      // ("going away", RFC 6455 7.4.1) so every client knows to reconnect.
      close: (code?: number, reason?: string) =>
        shuttingDown ? conn.close(1001, "server shutting down") : conn.close(code, reason),
    };
    const connection = cable.accept(transport, req);
    conn.on("message", (data: string | Buffer, isBinary: boolean) => {
      metrics.messagesIn.inc();
      metrics.bytesIn.inc(byteLength(data));
      if (isBinary) return; // the ActionCable protocol is JSON text
      connection.receive(typeof data === "string" ? data : data.toString("utf8"));
    });
    conn.on("dropped", (count: number) => metrics.dropped.inc({ reason: "slow consumer" }, count));
    conn.on("error", (err: Error) => {
      metrics.errors.inc({ kind: "connection" });
      log?.debug({ err: err.message }, "connection error");
    });
    conn.on("close", (code: number) => {
      metrics.connections.dec();
      log?.debug({ code }, "disconnected");
      void connection.closed();
    });
  });

  // Broker lag: a probe published on a stream of our own every 5 s, timed until it comes back.
  const probeStream = `probe:${processId}`;
  let probeSent = 0;
  const unprobe = await broker.subscribe(probeStream, (payload) => {
    if (Number(payload) !== probeSent) return;
    metrics.brokerLag.set((performance.now() - probeSent) / 1000);
    probeSent = 0;
  });
  const probe = (): void => {
    if (probeSent !== 0) metrics.brokerLag.set(-1); // the previous probe never came back
    probeSent = performance.now();
    broker.publish(probeStream, String(probeSent)).catch(() => {});
  };
  if (options.brokerUrl !== undefined && brokerName !== "memory") {
    // Fail fast when the broker cannot be reached at start (later outages are ridden out).
    try {
      await broker.publish(probeStream, "0");
    } catch (err) {
      await unprobe().catch(() => {});
      await broker.close().catch(() => {});
      throw new Error(
        `the broker at ${options.brokerUrl} is unreachable (${err instanceof Error ? err.message : String(err)})`,
      );
    }
  }
  probe();
  const probeTimer = setInterval(probe, 5000);
  probeTimer.unref();

  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen(options.port ?? 3000, host, () => {
      http.off("error", reject);
      resolve();
    });
  });
  const port = (http.address() as AddressInfo).port;
  const scheme = tls === undefined ? "http" : "https";
  const own = LOOPBACK.has(host) ? ["localhost", "127.0.0.1", "::1"] : [host];
  if (host === "0.0.0.0" || host === "::") {
    // Bound to every interface: the server's URLs are those of each address, and its host name.
    own.push(hostname());
    for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) own.push(a.address);
  }
  for (const h of own) {
    try {
      allowed.add(new URL(`${scheme}://${bracket(h)}:${port}`).origin);
    } catch {
      // an address URL cannot express (none expected): not allowed
    }
  }
  const url = `${scheme}://${LOOPBACK.has(host) ? "localhost" : bracket(host)}:${port}`;
  log?.info({ url, host, port, broker: brokerName }, "listening");

  let closing: Promise<void> | undefined;
  return {
    http,
    cable,
    wss,
    metrics,
    broker,
    port,
    url,
    close() {
      closing ??= (async () => {
        shuttingDown = true;
        log?.info({ connections: wss.clients.size }, "shutting down");
        clearInterval(probeTimer);
        await cable.shutdown({ reconnect: true });
        log?.debug("cable closed");
        await wss.close({ code: 1001, reason: "server shutting down", timeout: 2000 });
        log?.debug("websocket server closed");
        await unprobe().catch(() => {});
        if (ownsBroker) await broker.close().catch(() => {});
        log?.debug("broker closed");
        await new Promise<void>((resolve) => {
          http.close(() => resolve());
          for (const socket of sockets) socket.destroy();
        });
        log?.info("stopped");
      })();
      return closing;
    },
  };
}
