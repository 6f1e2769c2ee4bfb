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
 * Several servers on one HTTP server: all wirecable servers attached to the same HTTP server
 * share ONE `upgrade` listener (a router) that picks the server whose `path` equals the
 * request's path (a server without `path` takes what no other claims). When no wirecable
 * server claims a request, the router answers 400 and destroys the socket ONLY if it is the
 * sole `upgrade` listener: otherwise another listener (the application's, another library's)
 * may handle it, and the socket is left alone (as ws does).
 *
 * Checks, in order, each answered with an HTTP error and a `rejected` event: closing server
 * (503), header caps (431), path (400), origin (403), capacity (503 + Retry-After),
 * `authenticate` (its status, headers, body; 500 if it throws something else), then the
 * RFC 6455 handshake itself (400/405/426). A handshake timeout covers everything before 101
 * (in standalone mode: the head's arrival, then, afresh, the checks and `authenticate`), on the
 * process-wide timer wheel. `close()` stops accepting, closes the clients, then destroys the
 * sockets still before their upgrade.
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
import { acceptExtendedConnect } from "../protocol/handshake/extended-connect.js";
import {
  acceptHandshake,
  type HandshakeRequest,
  negotiate,
  renderRejection,
} from "../protocol/handshake/server-handshake.js";
import { PreparedMessage, prepareMessage } from "../protocol/prepared-message.js";
import { type AnyConnection, Connection } from "./connection.js";
import type { ConnectionRequest, SendResult } from "./connection-types.js";
import { createHybiEngine, legacyUpgrade } from "./engines.js";
import { serverDeflate } from "./extensions.js";
import { type FallbackAdmission, FallbackEndpoint } from "./fallback/endpoint.js";
import {
  attachHttp2,
  cancelStream,
  detachHttp2,
  type Http2ServerLike,
  http2Request,
  isHttp2Request,
  isHttp2Server,
  refuseStream,
} from "./http2-server.js";
import { computeAccept, encodeLatin1 } from "./native.js";
import {
  acceptSafely,
  type BackpressurePolicy,
  type ImmediatePolicy,
  Rejection,
  type ResolvedConnectionOptions,
  resolveConnectionOptions,
  SERVER_DEFAULTS,
  type ServerOptions,
  validateServerOptions,
} from "./options.js";
import { compileOrigins, requestOrigin } from "./origin.js";
import { ignoreSocketError, RawListener } from "./raw-listener.js";
import { type TimerEntry, wheel } from "./timer-wheel.js";
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

/** A server under any backpressure policy (the router's view). */
type AnyServer = WebSocketServer<BackpressurePolicy>;

/** A handshake in progress: its timer entry (the expiry handler is the server's, shared). */
class PendingUpgrade implements TimerEntry {
  deadline = -1;
  slot = -1;
  readonly req: IncomingMessage;
  readonly socket: Duplex;
  done = false;
  readonly onExpire: (p: PendingUpgrade) => void;
  constructor(req: IncomingMessage, socket: Duplex, onExpire: (p: PendingUpgrade) => void) {
    this.req = req;
    this.socket = socket;
    this.onExpire = onExpire;
  }
  onTimer(): void {
    if (!this.done) this.onExpire(this);
  }
}

/** Shared routers: one `upgrade` listener per HTTP server, whatever the number of WebSocketServers. */
type UpgradeListener = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
const routers = new WeakMap<HttpServer, { servers: Set<AnyServer>; listener: UpgradeListener }>();

function pathOf(url: string | undefined): string {
  if (url === undefined) return "/";
  const q = url.indexOf("?");
  return q === -1 ? url : url.slice(0, q);
}

function attach(server: HttpServer, wss: AnyServer): void {
  let router = routers.get(server);
  if (router === undefined) {
    const servers = new Set<WebSocketServer>();
    const listener: UpgradeListener = (req, socket, head) => {
      const path = pathOf(req.url);
      let fallback: WebSocketServer | undefined;
      for (const candidate of servers) {
        if (candidate.path === path) {
          candidate.handleUpgrade(req, socket, head);
          return;
        }
        if (candidate.path === undefined && fallback === undefined) fallback = candidate;
      }
      if (fallback !== undefined) {
        fallback.handleUpgrade(req, socket, head);
        return;
      }
      // Unclaimed: leave it to the other listeners if there are any.
      if (server.listenerCount("upgrade") > 1) return;
      socket.on("error", ignoreSocketError);
      answerAndClose(socket, renderRejection(400, {}, "No WebSocket endpoint at this path"));
    };
    router = { servers, listener };
    routers.set(server, router);
    server.on("upgrade", listener);
  }
  router.servers.add(wss);
}

function detach(server: HttpServer, wss: AnyServer): void {
  const router = routers.get(server);
  if (router === undefined) return;
  router.servers.delete(wss);
  if (router.servers.size === 0) {
    server.off("upgrade", router.listener);
    routers.delete(server);
  }
}

function noop(): void {}
const EMPTY_HEAD = Buffer.alloc(0);

/** The admission of a fallback `open` whose request this is (the checks answer through it). */
const fallbackAdmissions = new WeakMap<IncomingMessage, FallbackAdmission>();

/**
 * Write a refusal and close: destroy once it is flushed, or 1 s later for a peer that does not
 * read. The socket must not wait for the peer's FIN: after the upgrade's hand-over nobody reads
 * it (node:http leaves it paused), so a peer's FIN or RST would go unnoticed and the descriptor
 * would outlive the connection (issue 25, finding 6: a refused handshake followed by a frame and
 * a RST left the socket open with the kernel's connection gone).
 */
function answerAndClose(socket: Duplex, bytes: Uint8Array): void {
  if (socket.destroyed) return;
  socket.end(bytes);
  const timer = setTimeout(() => socket.destroy(), 1000);
  timer.unref();
  socket.once("close", () => clearTimeout(timer));
  socket.once("finish", () => socket.destroy());
}

/** What a user callback threw, as the Error the `error` event carries. */
function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error), { cause: error });
}

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
  readonly #options: ServerOptions;
  readonly #connOptions: ResolvedConnectionOptions;
  readonly #clients = new Set<Connection<P>>();
  #pending = 0;
  /** `server` mode: the application's HTTP server. */
  #httpServer: HttpServer | undefined;
  /** `server` mode with a node:http2 server: WebSocket streams are routed here too (RFC 8441). */
  #http2Server: Http2ServerLike | undefined;
  /** Standalone (`port`) mode: our own listener. */
  #listener: RawListener | undefined;
  #originCheck: ((origin: string | undefined, req: IncomingMessage) => boolean) | undefined;
  #extensions: ServerExtension[] = [];
  #protocols: ServerOptionsProtocols;
  #closing: Promise<void> | undefined;
  #maxConnections: number;
  #handshakeTimeout: number;
  #maxHeaderCount: number;
  #maxHeaderBytes: number;
  readonly #fallback: FallbackEndpoint | undefined;
  /** Standalone mode with fallback: the HTTP server its requests are handed to. */
  #fallbackHttp: HttpServer | undefined;

  constructor(options: ServerOptions & { backpressure?: P }, onListening?: () => void) {
    super();
    this.on("error", noop); // default listener: see module comment of connection.ts
    validateServerOptions(options);
    this.#options = options;
    this.#connOptions = resolveConnectionOptions(options);
    this.path = options.path;
    this.#maxConnections = options.maxConnections ?? SERVER_DEFAULTS.maxConnections;
    this.#handshakeTimeout = options.handshakeTimeout ?? SERVER_DEFAULTS.handshakeTimeout;
    this.#maxHeaderCount = options.maxHeaderCount ?? SERVER_DEFAULTS.maxHeaderCount;
    this.#maxHeaderBytes = options.maxHeaderBytes ?? SERVER_DEFAULTS.maxHeaderBytes;
    if (options.origins !== undefined) this.#originCheck = compileOrigins(options.origins);
    if (options.perMessageDeflate) {
      try {
        this.#extensions.push(serverDeflate(options.perMessageDeflate));
      } catch (error) {
        if (error instanceof OptionError) throw error;
        throw new OptionError("perMessageDeflate", String(error));
      }
    }
    const protocols = options.protocols;
    this.#protocols =
      typeof protocols === "function"
        ? (offered: string[], request: HandshakeRequest) =>
            protocols(offered, (request as HandshakeRequest & { req: IncomingMessage }).req)
        : protocols;

    this.#fallback = options.fallback ? this.#createFallback(options.fallback) : undefined;

    if (options.port !== undefined) {
      const listener = new RawListener({
        maxHeaderBytes: this.#maxHeaderBytes,
        maxHeaderCount: this.#maxHeaderCount,
        handshakeTimeout: this.#handshakeTimeout,
        // The parser enforced the header caps already; the socket has its 'error' listener.
        onUpgrade: (req, socket, head) => this.#upgrade(req, socket, head, undefined),
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
      attach(server, this);
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

  #createFallback(option: true | import("./fallback/endpoint.js").FallbackOptions): FallbackEndpoint {
    const server = this;
    return new FallbackEndpoint(
      {
        connectionOptions: this.#connOptions,
        handshakeTimeout: this.#handshakeTimeout,
        admit: (admission) => {
          fallbackAdmissions.set(admission.req, admission);
          this.#upgrade(admission.req, admission.req.socket, EMPTY_HEAD, undefined);
        },
        negotiate: (offered, req) => this.#negotiateFallback(offered, req),
        rejected: (req, error) => this.emit("rejected", req, error),
        corsAllowed(req) {
          const check = server.#originCheck;
          if (check === undefined || req.headers.origin === undefined) return false;
          try {
            return check(req.headers.origin, req) === true;
          } catch {
            return false;
          }
        },
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
    const result = negotiate(request, { protocols: this.#protocols });
    if (!result.ok) {
      return { ok: false, error: new HandshakeError(result.code, result.message, { cause: result.cause }) };
    }
    return { ok: true, protocol: result.protocol };
  }

  /** Standalone mode: the fallback's requests go to an internal node:http server. */
  #plainRequests(): { claims(target: string): boolean; take(socket: Socket): void } {
    const http = createHttpServer({ maxHeaderSize: this.#maxHeaderBytes || undefined }, (req, res) => {
      if (!this.handleRequest(req, res)) res.writeHead(426, { upgrade: "websocket", connection: "close" }).end();
    });
    http.maxHeadersCount = this.#maxHeaderCount;
    http.requestTimeout = this.#handshakeTimeout;
    http.headersTimeout = this.#handshakeTimeout || 60_000;
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

  /** Open connections. */
  get clients(): ReadonlySet<Connection<P>> {
    return this.#clients;
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
    const message = data instanceof PreparedMessage ? data : prepareMessage(data, options);
    const except = options?.except;
    let delivered = 0;
    for (const client of this.#clients) {
      if (client === except) continue;
      const result: SendResult = client.sendPrepared(message);
      if (result !== "dropped") delivered++;
    }
    return delivered;
  }

  /**
   * Take over an upgrade request. `cb` runs with the connection right before the `connection`
   * event. The socket is always either answered and closed, or turned into a connection.
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, cb?: (conn: Connection<P>) => void): void {
    socket.on("error", ignoreSocketError);
    if (this.#closing === undefined && !this.#withinCaps(req, socket)) return;
    this.#upgrade(req, socket, head, cb);
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
    const req = http2Request(stream, headers);
    if (this.#closing === undefined && !this.#withinCaps(req, stream)) return;
    this.#upgrade(req, stream, EMPTY_HEAD, cb);
  }

  /** Header caps (node has parsed already; its own limits may be larger). Refuses and returns false beyond. */
  #withinCaps(req: IncomingMessage, socket: Duplex): boolean {
    const raw = req.rawHeaders;
    if (this.#maxHeaderCount > 0 && raw.length / 2 > this.#maxHeaderCount) {
      this.#reject(req, socket, new HandshakeError("HEADERS_TOO_LARGE", "Too many header fields"));
      return false;
    }
    if (this.#maxHeaderBytes > 0) {
      let size = (req.url?.length ?? 0) + 16;
      for (let i = 0; i < raw.length; i++) size += raw[i]!.length + 2;
      if (size > this.#maxHeaderBytes) {
        this.#reject(req, socket, new HandshakeError("HEADERS_TOO_LARGE", "Request header fields too large"));
        return false;
      }
    }
    return true;
  }

  /** handleUpgrade after the header caps (the standalone listener's parser enforces them itself). */
  #upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, cb: ((conn: Connection<P>) => void) | undefined): void {
    if (this.#closing !== undefined) {
      this.#reject(req, socket, new HandshakeError("SERVER_UNAVAILABLE", "Server is closing"));
      return;
    }
    if (this.path !== undefined && pathOf(req.url) !== this.path) {
      this.#reject(req, socket, new HandshakeError("BAD_REQUEST", "No WebSocket endpoint at this path"));
      return;
    }
    if (this.#originCheck !== undefined) {
      let allowed = false;
      try {
        allowed = this.#originCheck(requestOrigin(req), req) === true;
      } catch (error) {
        this.emit("error", asError(error));
      }
      if (!allowed) {
        this.#reject(req, socket, new HandshakeError("ORIGIN_FORBIDDEN", "Origin not allowed"));
        return;
      }
    }
    if (this.#maxConnections > 0 && this.#clients.size + this.#pending >= this.#maxConnections) {
      const retry = String(this.#options.retryAfter ?? SERVER_DEFAULTS.retryAfter);
      this.#reject(
        req,
        socket,
        new HandshakeError("SERVER_UNAVAILABLE", "Server is full", { headers: { "Retry-After": retry } }),
      );
      return;
    }
    const authenticate = this.#options.authenticate;
    // Without authenticate nothing waits before the 101: no pending handshake, no timer.
    if (authenticate === undefined) {
      this.#complete(req, socket, head, null, undefined, cb);
      return;
    }
    this.#pending++;
    const pending = new PendingUpgrade(req, socket, this.#expire);
    if (this.#handshakeTimeout > 0) wheel.scheduleIn(pending, this.#handshakeTimeout);
    let result: unknown;
    try {
      result = authenticate(req);
    } catch (error) {
      this.#authFailed(req, socket, pending, error);
      return;
    }
    if (result instanceof Rejection) {
      this.#authFailed(req, socket, pending, result);
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (data) =>
          data instanceof Rejection
            ? this.#authFailed(req, socket, pending, data)
            : this.#complete(req, socket, head, pending, data, cb),
        (error) => this.#authFailed(req, socket, pending, error),
      );
    } else {
      this.#complete(req, socket, head, pending, result, cb);
    }
  }

  /** A handshake timed out (shared by every PendingUpgrade of this server). */
  readonly #expire = (pending: PendingUpgrade): void => {
    pending.done = true;
    this.#pending--;
    this.#reject(pending.req, pending.socket, new HandshakeError("HANDSHAKE_TIMEOUT", "Handshake timeout"));
  };

  readonly #forget = (conn: AnyConnection): void => {
    this.#clients.delete(conn as Connection<P>);
  };

  #settle(pending: PendingUpgrade | null): boolean {
    if (pending === null) return true;
    if (pending.done) return false;
    pending.done = true;
    this.#pending--;
    wheel.cancel(pending);
    return true;
  }

  #authFailed(req: IncomingMessage, socket: Duplex, pending: PendingUpgrade, error: unknown): void {
    if (!this.#settle(pending)) return;
    if (error instanceof Rejection) {
      const refusal = new HandshakeError("REJECTED", "Rejected by authenticate", {
        status: error.status,
        headers: error.headers,
      });
      this.#reject(req, socket, refusal, error.body);
      return;
    }
    if (error instanceof HandshakeError) {
      this.#reject(req, socket, error, error.message);
      return;
    }
    this.emit("error", asError(error));
    this.#reject(req, socket, new HandshakeError("CALLBACK_FAILED", "authenticate failed", { cause: error }));
  }

  #complete(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    pending: PendingUpgrade | null,
    data: unknown,
    cb: ((conn: Connection<P>) => void) | undefined,
  ): void {
    if (!this.#settle(pending)) return;
    if (socket.destroyed || !socket.writable) return;
    if (this.#closing !== undefined) {
      this.#reject(req, socket, new HandshakeError("SERVER_UNAVAILABLE", "Server is closing"));
      return;
    }
    const admission = fallbackAdmissions.get(req);
    if (admission !== undefined) {
      if (admission.gone) return;
      let conn: Connection<P> | null;
      try {
        // Made with this server's connection options, so under its policy P.
        conn = admission.accept(data) as Connection<P> | null;
      } catch (error) {
        this.emit("error", asError(error));
        return;
      }
      if (conn !== null) this.#adopt(conn, req, cb);
      return;
    }
    if (isHttp2Request(req)) {
      this.#completeStream(req, socket as ServerHttp2Stream, data, cb);
      return;
    }
    if (this.#options.legacyDrafts) {
      let conn: Connection<P> | null;
      try {
        conn = legacyUpgrade<P>(req, socket as Socket, head, {
          options: this.#connOptions,
          protocols: this.#options.protocols,
          headers: this.#options.headers,
          data,
        });
      } catch (error) {
        this.emit("error", asError(error));
        socket.destroy();
        return;
      }
      if (conn !== null) {
        // draft-76 opens once its 8-byte key arrived: hand the connection out then.
        if (conn.readyState === 0) conn.once("open", () => this.#adopt(conn, req, cb));
        else this.#adopt(conn, req, cb);
        return;
      }
    }
    const request = {
      method: req.method ?? "GET",
      target: req.url ?? "/",
      httpVersion: req.httpVersion,
      headers: req.headers,
      req,
    };
    const result = acceptSafely(acceptHandshake, request, {
      protocols: this.#protocols,
      extensions: this.#extensions,
      headers: this.#options.headers,
      computeAccept,
      encodeHead: encodeLatin1,
    });
    if (!result.ok) {
      this.emit("rejected", req, result.error);
      answerAndClose(socket, result.response);
      return;
    }
    socket.write(result.response);
    let conn: Connection<P>;
    try {
      conn = new Connection({
        role: "server",
        socket: socket as Socket,
        createEngine: createHybiEngine,
        options: this.#connOptions,
        protocol: result.protocol,
        extensions: result.extensions,
        extensionsHeader: result.extensionsHeader,
        head,
        request: req,
        data,
      });
    } catch (error) {
      this.emit("error", asError(error));
      socket.destroy();
      return;
    }
    this.#adopt(conn, req, cb);
  }

  /** RFC 8441 5: answer the extended CONNECT with 200 and run the connection on the stream. */
  #completeStream(
    req: IncomingMessage,
    stream: ServerHttp2Stream,
    data: unknown,
    cb: ((conn: Connection<P>) => void) | undefined,
  ): void {
    const request = { headers: req.headers, req };
    const result = acceptSafely(acceptExtendedConnect, request, {
      protocols: this.#protocols,
      extensions: this.#extensions,
      headers: this.#options.headers,
    });
    if (!result.ok) {
      this.#reject(req, stream, result.error);
      return;
    }
    let conn: Connection<P>;
    try {
      stream.respond(result.headers);
      conn = new Connection<P>({
        role: "server",
        socket: stream,
        createEngine: createHybiEngine,
        options: this.#connOptions,
        protocol: result.protocol,
        extensions: result.extensions,
        extensionsHeader: result.extensionsHeader,
        request: req,
        data,
        remoteAddress: stream.session?.socket?.remoteAddress,
        abortTransport: cancelStream,
      });
    } catch (error) {
      this.emit("error", asError(error));
      cancelStream(stream);
      return;
    }
    this.#adopt(conn, req, cb);
  }

  #adopt(conn: Connection<P>, req: IncomingMessage, cb: ((conn: Connection<P>) => void) | undefined): void {
    // The connection listens for the socket's errors: the handshake's guard goes (one listener, not two).
    conn.socket.removeListener("error", ignoreSocketError);
    if (conn.readyState >= 2) return;
    this.#clients.add(conn);
    conn.onFinish = this.#forget;
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

  #reject(req: IncomingMessage, socket: Duplex, error: HandshakeError, body?: string | Uint8Array): void {
    this.emit("rejected", req, error);
    const admission = fallbackAdmissions.get(req);
    if (admission !== undefined) {
      if (!admission.gone) admission.refuse(error, body || error.message);
      return;
    }
    if (socket.destroyed) return;
    if (isHttp2Request(req)) {
      refuseStream(socket as ServerHttp2Stream, error, body || error.message);
      return;
    }
    let bytes: Uint8Array;
    try {
      bytes = renderRejection(error.status, error.headers as Record<string, string>, body || error.message);
    } catch {
      bytes = renderRejection(error.status);
    }
    answerAndClose(socket, bytes);
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
      if (server !== undefined) detach(server, this);
      if (this.#http2Server !== undefined) detachHttp2(this.#http2Server, this);
      this.#listener?.close();
      this.#fallback?.close();
      const waits: Array<Promise<unknown>> = [];
      for (const client of this.#clients) {
        try {
          client.close(code, reason);
        } catch {
          client.terminate();
        }
        waits.push(client.closed);
      }
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
        for (const client of this.#clients) client.terminate();
      }
      // Sockets still before their upgrade (a slow head, a slowloris) go now.
      this.#listener?.destroyPending();
      this.#fallbackHttp?.closeAllConnections();
      this.emit("close");
    })();
    return this.#closing;
  }
}

type ServerOptionsProtocols =
  | readonly string[]
  | ((offered: string[], request: HandshakeRequest) => string | null | undefined)
  | undefined;
