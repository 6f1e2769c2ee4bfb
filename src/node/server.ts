/**
 * WebSocketServer: accepts upgrades (RFC 6455 section 4.2) and hands out {@link Connection}s.
 *
 * Modes: `{ port, host }` listens with its own `net` server ({@link RawListener}: no node:http)
 * that parses request heads with the sans-I/O HttpHeadParser, answers plain requests with 426
 * and malformed or oversized heads (`maxHeaderBytes`, `maxHeaderCount`) with 400/414/431 itself
 * (no `rejected` event: there is no request), cuts heads slower than `handshakeTimeout` with
 * 408, and hands upgrade requests over as a genuine `http.IncomingMessage` to the same checks
 * as the other modes; `{ server, path }` attaches to an existing http/https server;
 * `{ noServer: true }` leaves the routing to the application, which calls
 * `handleUpgrade(req, socket, head)`.
 *
 * Several servers on one HTTP server share one `upgrade` listener (http1-server.ts); HTTP/2
 * streams (RFC 8441) are routed by http2-server.ts. Every request, whatever carries it, goes
 * through the same admission (admission.ts), each refusal answered with an HTTP error and a
 * `rejected` event: closing server (503), header caps (431), path (400), origin (403), capacity
 * (503 + Retry-After), `authenticate` (its status, headers, body; 500 if it throws something
 * else), then the RFC 6455 handshake itself (400/405/426). A handshake timeout covers everything
 * before 101 (in standalone mode: the head's arrival, then, afresh, `authenticate`), on the
 * process-wide timer wheel. `close()` stops accepting, closes the
 * clients, then destroys the sockets still before their upgrade.
 *
 * Fallback (`fallback` option, docs/fallback.md): the same path also serves WebSocket sessions
 * over plain HTTP for clients whose network blocks upgrades. Their `open` request goes through
 * the same checks (origin, capacity, authenticate, timeout; refusals answered over HTTP with the
 * same statuses and `rejected` events) and becomes a {@link Connection} like any other, on a
 * virtual transport (fallback/transport.ts). A standalone server routes those requests itself
 * (to an internal node:http server); in `server` mode the application calls `handleRequest`.
 */
import { EventEmitter } from "node:events";
import {
  createServer as createHttpServer,
  type Server as HttpServer,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import type { IncomingHttpHeaders, ServerHttp2Stream } from "node:http2";
import type { AddressInfo, Socket } from "node:net";
import type { Duplex } from "node:stream";
import { Server as TlsServer } from "node:tls";
import { HandshakeError, OptionError } from "../protocol/errors.js";
import type { ServerExtension } from "../protocol/extensions/extension.js";
import { negotiate } from "../protocol/handshake/server-handshake.js";
import { PreparedMessage, prepareMessage } from "../protocol/prepared-message.js";
import { type AcceptContext, AdmissionChecks, asError, pathOf, serverProtocols } from "./admission.js";
import { ClientList } from "./client-list.js";
import type { AnyConnection, Connection } from "./connection.js";
import type { ConnectionRequest, SendResult } from "./connection-types.js";
import { serverDeflate } from "./extensions.js";
import { FallbackEndpoint, type FallbackOptions } from "./fallback/endpoint.js";
import { attachUpgrades, detachUpgrades, UpgradeAdmission } from "./http1-server.js";
import {
  attachHttp2,
  detachHttp2,
  type Http2ServerLike,
  http2Request,
  isHttp2Server,
  StreamAdmission,
} from "./http2-server.js";
import { ownMessage } from "./lent-messages.js";
import {
  type BackpressurePolicy,
  type ImmediatePolicy,
  type ResolvedConnectionOptions,
  resolveConnectionOptions,
  type ServerOptions,
  validateServerOptions,
} from "./options.js";
import { ignoreSocketError, RawListener } from "./raw-listener.js";
import type { EmitterBase, TypedEvents } from "./typed-events.js";

export interface ServerCloseOptions {
  code?: number;
  reason?: string;
  /** How long to wait for closing handshakes before destroying sockets. Default: closeTimeout. */
  timeout?: number;
}

/** A server's events and their listeners' arguments; `P`: the connections' backpressure policy. */
export interface WebSocketServerEvents<P extends BackpressurePolicy = ImmediatePolicy> {
  listening: [];
  /** An upgrade succeeded; `req` is the upgrade request (the connection keeps only its {@link ConnectionRequest}). */
  connection: [conn: Connection<P>, req: IncomingMessage];
  /** An upgrade was refused with an HTTP error (see the module comment for the checks). */
  rejected: [req: IncomingMessage, error: HandshakeError];
  /** Never crashes the process: a default listener exists. */
  error: [error: Error];
  close: [];
}

function noop(): void {}

export interface WebSocketServer<out P extends BackpressurePolicy = ImmediatePolicy>
  extends TypedEvents<WebSocketServerEvents<P>> {}

/**
 * `P` is the `backpressure` option's type (inferred from the options): with "wait", a
 * connection's `send` may return a promise ({@link SendReturn}).
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the interface adds the typed event methods (typed-events.ts)
export class WebSocketServer<out P extends BackpressurePolicy = ImmediatePolicy> extends (EventEmitter as EmitterBase) {
  /** The path this server answers (undefined: any). */
  readonly path: string | undefined;
  /** Resolves once listening (immediately for noServer). */
  readonly ready: Promise<void>;
  readonly #connOptions: ResolvedConnectionOptions;
  /** Open connections (client-list.ts; `clients` is its read-only view). */
  readonly #clients = new ClientList<Connection<P>>();
  /** `server` mode: the application's HTTP server. */
  #httpServer: HttpServer | undefined;
  /** `server` mode with a node:http2 server: WebSocket streams are routed here too (RFC 8441). */
  #http2Server: Http2ServerLike | undefined;
  /** Standalone (`port`) mode: our own listener. */
  #listener: RawListener | undefined;
  /** What accepting a WebSocket needs, for every carrier (admission.ts). */
  readonly #accept: AcceptContext;
  readonly #checks: AdmissionChecks;
  #closing: Promise<void> | undefined;
  readonly #fallback: FallbackEndpoint | undefined;
  /** Standalone mode with fallback: the HTTP server its requests are handed to. */
  #fallbackHttp: HttpServer | undefined;

  constructor(options: ServerOptions & { backpressure?: P }, onListening?: () => void) {
    super();
    this.on("error", noop); // default listener: see module comment of connection.ts
    validateServerOptions(options);
    this.#connOptions = resolveConnectionOptions(options);
    this.path = options.path;
    const extensions: ServerExtension[] = [];
    if (options.perMessageDeflate) {
      try {
        extensions.push(serverDeflate(options.perMessageDeflate));
      } catch (error) {
        if (error instanceof OptionError) throw error;
        throw new OptionError("perMessageDeflate", String(error));
      }
    }
    const rejected = (req: IncomingMessage, error: HandshakeError): void => {
      this.emit("rejected", req, error);
    };
    this.#accept = {
      connectionOptions: this.#connOptions,
      protocols: serverProtocols(options.protocols),
      extensions,
      headers: options.headers,
      legacyDrafts: options.legacyDrafts === true,
      userProtocols: options.protocols,
      rejected,
    };
    const server = this;
    this.#checks = new AdmissionChecks(
      {
        get closing() {
          return server.#closing !== undefined;
        },
        get open() {
          return server.#clients.size;
        },
        error: (error) => this.emit("error", error),
        rejected,
        // The carriers make connections with this server's options, so under its policy P.
        adopt: (conn, req, cb) => this.#adopt(conn as Connection<P>, req, cb),
      },
      options,
    );

    this.#fallback = options.fallback ? this.#createFallback(options.fallback) : undefined;

    if (options.port !== undefined) {
      const checks = this.#checks;
      const listener = new RawListener({
        maxHeaderBytes: checks.maxHeaderBytes,
        maxHeaderCount: checks.maxHeaderCount,
        handshakeTimeout: checks.handshakeTimeout,
        // The parser enforced the header caps already; the socket has its 'error' listener.
        onUpgrade: (req, socket, head) =>
          checks.admit(new UpgradeAdmission(req, socket, head, this.#accept), undefined),
        onError: (error) => this.emit("error", asError(error)),
        plain: this.#fallback === undefined ? undefined : this.#plainRequests(),
      });
      this.#listener = listener;
      const server = listener.server;
      server.on("error", (error) => this.emit("error", error));
      this.ready = new Promise((resolve, reject) => {
        server.once("listening", () => {
          this.emit("listening");
          resolve();
        });
        server.once("error", reject);
      });
      this.ready.catch(noop);
      listener.listen(options.port, options.host);
    } else if (options.server !== undefined) {
      const server = options.server as HttpServer;
      this.#httpServer = server;
      attachUpgrades(server, this);
      if (isHttp2Server(options.server)) {
        this.#http2Server = options.server;
        attachHttp2(options.server, this);
      }
      this.ready = server.listening
        ? Promise.resolve()
        : new Promise((resolve) => server.once("listening", () => resolve()));
      if (!server.listening) server.once("listening", () => this.emit("listening"));
    } else {
      this.ready = Promise.resolve();
    }
    if (onListening) this.once("listening", onListening);
  }

  #createFallback(option: true | FallbackOptions): FallbackEndpoint {
    return new FallbackEndpoint(
      {
        connectionOptions: this.#connOptions,
        handshakeTimeout: this.#checks.handshakeTimeout,
        admit: (admission) => this.#checks.admit(admission, undefined),
        negotiate: (offered, req) => this.#negotiateFallback(offered, req),
        rejected: this.#accept.rejected,
        corsAllowed: (req) => this.#checks.originAllowed(req),
      },
      option === true ? {} : option,
    );
  }

  /**
   * The subprotocol of a fallback session, chosen as for an upgrade: the handshake's own
   * `negotiate` (the `protocols` option; no extensions over the fallback). A failing chooser is a
   * CALLBACK_FAILED refusal carrying its error as `cause`, as on the upgrade path.
   */
  #negotiateFallback(
    offered: string[],
    req: IncomingMessage,
  ): { ok: true; protocol: string } | { ok: false; error: HandshakeError } {
    const headers = new Map<string, string>();
    if (offered.length > 0) headers.set("sec-websocket-protocol", offered.join(", "));
    const request = {
      method: req.method ?? "POST",
      target: req.url ?? "/",
      httpVersion: req.httpVersion,
      headers,
      req,
    };
    const result = negotiate(request, { protocols: this.#accept.protocols });
    if (!result.ok) {
      return { ok: false, error: new HandshakeError(result.code, result.message, { cause: result.cause }) };
    }
    return { ok: true, protocol: result.protocol };
  }

  /** Standalone mode: the fallback's requests go to an internal node:http server. */
  #plainRequests(): { claims(target: string): boolean; take(socket: Socket): void } {
    const checks = this.#checks;
    const http = createHttpServer({ maxHeaderSize: checks.maxHeaderBytes || undefined }, (req, res) => {
      if (!this.handleRequest(req, res)) res.writeHead(426, { upgrade: "websocket", connection: "close" }).end();
    });
    http.maxHeadersCount = checks.maxHeaderCount;
    http.requestTimeout = checks.handshakeTimeout;
    http.headersTimeout = checks.handshakeTimeout || 60_000;
    http.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => this.handleUpgrade(req, socket, head));
    this.#fallbackHttp = http;
    return {
      claims: (target) => (this.path === undefined || pathOf(target) === this.path) && FallbackEndpoint.claims(target),
      take: (socket) => http.emit("connection", socket),
    };
  }

  /**
   * Answer a request of the fallback transport (`fallback` option) and return true, or return
   * false and leave `res` alone when `req` is not one (another path, or no fallback parameter).
   * Standalone servers call it themselves; in `server` mode call it first in your request handler.
   */
  handleRequest(req: IncomingMessage, res: ServerResponse): boolean {
    const fallback = this.#fallback;
    if (fallback === undefined) return false;
    if (this.path !== undefined && pathOf(req.url) !== this.path) return false;
    return fallback.handle(req, res);
  }

  /** Open connections: a live read-only view; its iterators visit those open when they start. */
  get clients(): ReadonlySet<Connection<P>> {
    return this.#clients.view();
  }

  address(): AddressInfo | string | null {
    if (this.#listener !== undefined) return this.#listener.address();
    return this.#httpServer?.address() ?? null;
  }

  /** The ws:// URL of a standalone or attached server (for logs and tests). */
  get url(): string | undefined {
    const address = this.address();
    if (address === null || typeof address === "string") return undefined;
    const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
    const scheme = this.#httpServer instanceof TlsServer ? "wss" : "ws";
    return `${scheme}://${host}:${address.port}${this.path ?? "/"}`;
  }

  /**
   * Send one message to every open client (framed once), except `options.except`. Slow
   * consumers (above maxBufferedAmount) are skipped: dropped, or closed with the "close" policy.
   * Returns the number of deliveries (sends not dropped).
   */
  broadcast(
    data: string | Uint8Array | ArrayBuffer | PreparedMessage,
    options?: { except?: Connection<BackpressurePolicy>; binary?: boolean },
  ): number {
    // Lent bytes are copied once here (a recipient's send may be framed later: see sendable).
    const message = ownMessage(data instanceof PreparedMessage ? data : prepareMessage(data, options));
    const except = options?.except;
    let delivered = 0;
    this.#clients.forEach((client) => {
      if (client === except) return;
      const result: SendResult = client.sendPrepared(message);
      if (result !== "dropped") delivered++;
    });
    return delivered;
  }

  /**
   * Take over an upgrade request. `cb` runs with the connection right before the `connection`
   * event. The socket is always either answered and closed, or turned into a connection.
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, cb?: (conn: Connection<P>) => void): void {
    socket.on("error", ignoreSocketError);
    const admission = new UpgradeAdmission<P>(req, socket, head, this.#accept);
    this.#checks.admitParsed(admission, cb as ((conn: AnyConnection) => void) | undefined);
  }

  /**
   * Take over a WebSocket stream of an HTTP/2 server (RFC 8441: an extended CONNECT with
   * `:protocol` websocket): the same checks as {@link handleUpgrade}, answered on the stream
   * (200, or the refusal's status), then a {@link Connection} over the stream. `req` in the
   * checks and the `connection` event is an `IncomingMessage` with method CONNECT and
   * httpVersion "2.0". A server given an http2 server as `server` routes its streams itself;
   * this is for applications that route streams (`noServer`).
   */
  handleStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, cb?: (conn: Connection<P>) => void): void {
    stream.on("error", ignoreSocketError);
    const admission = new StreamAdmission<P>(http2Request(stream, headers), stream, this.#accept);
    this.#checks.admitParsed(admission, cb as ((conn: AnyConnection) => void) | undefined);
  }

  #adopt(conn: Connection<P>, req: IncomingMessage, cb: ((conn: Connection<P>) => void) | undefined): void {
    // The connection listens for the socket's errors: the handshake's guard goes (one listener, not two).
    conn.socket.removeListener("error", ignoreSocketError);
    if (conn.readyState >= 2) return;
    this.#clients.add(conn); // sets conn.onFinish: the connection leaves the list when finished
    try {
      cb?.(conn);
      this.emit("connection", conn, req);
    } catch (error) {
      // A throwing connection handler closes only this connection (1011).
      const err = asError(error);
      conn.emit("error", err);
      conn.fail(err);
    }
  }

  /**
   * Graceful shutdown: stop accepting, close every client with 1001 (or `code`), wait for the
   * closing handshakes up to `timeout` (default closeTimeout), then destroy what remains.
   */
  close(options?: ServerCloseOptions): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    const code = options?.code ?? 1001;
    const reason = options?.reason ?? "server shutting down";
    const timeout = options?.timeout ?? (this.#connOptions.closeTimeout || 10_000);
    this.#closing = (async () => {
      const server = this.#httpServer;
      if (server !== undefined) detachUpgrades(server, this);
      if (this.#http2Server !== undefined) detachHttp2(this.#http2Server, this);
      this.#listener?.close();
      this.#fallback?.close();
      const waits: Array<Promise<unknown>> = [];
      this.#clients.forEach((client) => {
        try {
          client.close(code, reason);
        } catch {
          client.terminate();
        }
        waits.push(client.closed);
      });
      if (waits.length > 0) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          Promise.all(waits),
          new Promise((resolve) => {
            timer = setTimeout(resolve, timeout);
            timer.unref();
          }),
        ]);
        clearTimeout(timer);
        this.#clients.forEach((client) => {
          client.terminate();
        });
      }
      // Sockets still before their upgrade (a slow head, a slowloris) go now.
      this.#listener?.destroyPending();
      this.#fallbackHttp?.closeAllConnections();
      this.emit("close");
    })();
    return this.#closing;
  }
}
