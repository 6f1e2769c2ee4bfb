/**
 * The fallback endpoint of a WebSocketServer: answers the HTTP requests of the fallback
 * transport (the wire: src/protocol/fallback/wire.ts) on the server's own path, and keeps the
 * sessions of this process.
 *
 * Contract:
 * - `handle(req, res)` takes a request whose query has the fallback parameter (the server checks
 *   the path first) and answers it, always; it returns false for any other request.
 * - `open` goes through the server's own admission, exactly as an upgrade does (closing 503,
 *   origin 403, capacity 503, `authenticate`, handshake timeout: `host.admit`), then the
 *   subprotocol negotiation; admitted, the response becomes the session's downstream and a
 *   {@link Connection} runs over its {@link FallbackTransport}, handed out like any other.
 * - Sessions: an id of 128 random bits (plus the owning process's name) and a separate 128-bit
 *   token that only the client that opened the session has seen (it came in its event stream).
 *   `send` and `resume` need both; a wrong token is answered exactly like an unknown session
 *   (404), so the id alone neither reveals nor opens anything. A second downstream for a live
 *   session is only ever a `resume` with the token: it replaces the first one.
 * - Limits: POST bodies above `maxRequestBytes` get 413, bodies not received within
 *   `requestTimeout` get 408 (both close the HTTP connection); one POST at a time per session
 *   (409 for a second); everything else is the Connection's (maxPayload, rateLimit,
 *   maxBufferedAmount...).
 * - CORS: a request from an origin the server's `origins` rule allows is answered with
 *   Access-Control-Allow-Origin (credentials allowed), preflights included; without `origins`,
 *   browsers can use the fallback from the server's own origin only.
 * - A `send` for a session of another process goes through the relay, if there is one (404
 *   otherwise). A `resume` is served by the owner only: elsewhere it is a 404 and the client
 *   opens a new session.
 */
import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { HandshakeError } from "../../protocol/errors.js";
import { encodeEvent } from "../../protocol/fallback/sse.js";
import {
  ACK_PARAM,
  EVENT_STREAM,
  FALLBACK_PARAM,
  FallbackOp,
  isWireId,
  OFFSET_PARAM,
  OPEN_EVENT,
  type OpenInfo,
  PROTOCOLS_PARAM,
  SESSION_PARAM,
  TOKEN_HEADER,
} from "../../protocol/fallback/wire.js";
import type { Admission } from "../admission.js";
import { Connection } from "../connection.js";
import { createHybiEngine } from "../engines.js";
import type { ResolvedConnectionOptions } from "../options.js";
import { type FallbackRelay, isProcessId, type RelayedPost, tokenDigest } from "./relay.js";
import { FallbackTransport } from "./transport.js";

export interface FallbackOptions {
  /** How long a session waits for a new event stream after one broke, ms. Default 10 000. */
  resumeTimeout?: number;
  /** Characters of sent events kept to replay on a resumed stream. Default 64 KiB. */
  replayBytes?: number;
  /** Max body of one POST, bytes. Default 1 MiB. Exceeded: 413. */
  maxRequestBytes?: number;
  /** Time allowed to receive one POST's body, ms. Default: the server's handshakeTimeout. */
  requestTimeout?: number;
  /** Hands POSTs to the process owning their session (several processes behind one port). */
  relay?: FallbackRelay;
}

export const FALLBACK_DEFAULTS = {
  resumeTimeout: 10_000,
  replayBytes: 64 * 1024,
  maxRequestBytes: 1024 * 1024,
};

/** What the endpoint needs from its server. */
export interface FallbackHost {
  readonly connectionOptions: ResolvedConnectionOptions;
  readonly handshakeTimeout: number;
  /** Run the server's admission checks, then `admission.accept` or `admission.refuse`. */
  admit(admission: Admission<Connection>): void;
  /** The subprotocol for `offered`, or the refusal (a {@link HandshakeError}) to answer with. */
  negotiate(
    offered: string[],
    req: IncomingMessage,
  ): { ok: true; protocol: string } | { ok: false; error: HandshakeError };
  /** The request comes from an origin that the server's `origins` rule explicitly allows. */
  corsAllowed(req: IncomingMessage): boolean;
  /** An `open` refused by the endpoint itself (malformed offer, negotiation): the `rejected` event. */
  rejected(req: IncomingMessage, error: HandshakeError): void;
}

const TOKEN = /^[A-Za-z0-9_-]{1,64}$/;
const SSE_HEADERS = {
  "content-type": EVENT_STREAM,
  // no-transform: compressing or buffering intermediaries must pass the stream through as is.
  "cache-control": "no-store, no-transform",
  "x-accel-buffering": "no",
};
const TOKEN_RE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function noop(): void {}

/** A non-negative safe integer from a query value, or undefined. */
function count(value: string | null): number | undefined {
  if (value === null || !/^\d{1,15}$/.test(value)) return undefined;
  return Number(value);
}

export class FallbackEndpoint {
  readonly #host: FallbackHost;
  readonly #resumeTimeout: number;
  readonly #replayBytes: number;
  readonly #maxRequestBytes: number;
  readonly #requestTimeout: number;
  readonly #relay: FallbackRelay | undefined;
  readonly #processId: string;
  readonly #sessions = new Map<string, FallbackTransport>();
  readonly #stopServing: (() => void) | undefined;
  readonly #forget = (transport: FallbackTransport): void => {
    if (this.#sessions.get(transport.session) === transport) this.#sessions.delete(transport.session);
  };

  constructor(host: FallbackHost, options: FallbackOptions) {
    this.#host = host;
    this.#resumeTimeout = options.resumeTimeout ?? FALLBACK_DEFAULTS.resumeTimeout;
    this.#replayBytes = options.replayBytes ?? FALLBACK_DEFAULTS.replayBytes;
    this.#maxRequestBytes = options.maxRequestBytes ?? FALLBACK_DEFAULTS.maxRequestBytes;
    this.#requestTimeout = options.requestTimeout ?? host.handshakeTimeout;
    this.#relay = options.relay;
    this.#processId = options.relay?.id ?? randomBytes(6).toString("base64url");
    if (this.#relay !== undefined) this.#stopServing = this.#relay.serve((post) => this.#deliver(post));
  }

  /** Sessions of this process (open, or waiting for a resume). */
  get sessionCount(): number {
    return this.#sessions.size;
  }

  /** Whether `url`'s query marks a fallback request. */
  static claims(url: string | undefined): boolean {
    if (url === undefined) return false;
    const q = url.indexOf("?");
    return q !== -1 && new URLSearchParams(url.slice(q + 1)).has(FALLBACK_PARAM);
  }

  /** Answer a fallback request (see the module comment); false when `req` is not one. */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    if (q === -1) return false;
    const params = new URLSearchParams(url.slice(q + 1));
    const op = params.get(FALLBACK_PARAM);
    if (op === null) return false;
    res.on("error", noop);
    if (req.method === "OPTIONS") {
      this.#preflight(req, res);
      return true;
    }
    if (req.method !== "POST") {
      this.#answer(req, res, 405, "fallback requests are POSTs", { allow: "POST, OPTIONS" });
      return true;
    }
    switch (op) {
      case FallbackOp.open:
        this.#open(req, res, params);
        break;
      case FallbackOp.send:
        void this.#send(req, res, params);
        break;
      case FallbackOp.resume:
        this.#resume(req, res, params);
        break;
      default:
        this.#answer(req, res, 400, "unknown fallback operation");
    }
    return true;
  }

  /** Stop serving relayed posts (the server is closing; its connections close on their own). */
  close(): void {
    this.#stopServing?.();
  }

  // ---- open ---------------------------------------------------------------------------------

  #open(req: IncomingMessage, res: ServerResponse, params: URLSearchParams): void {
    req.resume(); // an open has no body worth reading
    const list = params.get(PROTOCOLS_PARAM);
    const offered = list === null || list === "" ? [] : list.split(",").map((p) => p.trim());
    if (offered.some((p) => !TOKEN_RE.test(p))) {
      this.#refuseOpen(req, res, new HandshakeError("BAD_REQUEST", "Invalid subprotocol list"));
      return;
    }
    const endpoint = this;
    this.#host.admit({
      req,
      get gone() {
        return res.destroyed || res.headersSent || req.socket.destroyed || !req.socket.writable;
      },
      refuse(error, body) {
        if (res.destroyed || res.headersSent) return;
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(error.headers ?? {})) headers[name] = String(value);
        endpoint.#answer(req, res, error.status, body ?? error.message, headers);
      },
      accept: (data) => this.#accept(req, res, offered, data),
    });
  }

  #accept(req: IncomingMessage, res: ServerResponse, offered: string[], data: unknown): Connection | null {
    const negotiated = this.#host.negotiate(offered, req);
    if (!negotiated.ok) {
      this.#refuseOpen(req, res, negotiated.error);
      return null;
    }
    const session = `${this.#processId}.${randomBytes(16).toString("base64url")}`;
    const token = randomBytes(16).toString("base64url");
    const transport = new FallbackTransport({
      session,
      token,
      remoteAddress: req.socket.remoteAddress,
      replayBytes: this.#replayBytes,
      resumeTimeout: this.#resumeTimeout,
      onGone: this.#forget,
    });
    let conn: Connection;
    try {
      conn = new Connection({
        role: "server",
        socket: transport,
        createEngine: createHybiEngine,
        options: this.#host.connectionOptions,
        protocol: negotiated.protocol,
        extensions: [],
        extensionsHeader: "",
        request: req,
        data,
      });
    } catch (error) {
      transport.destroy();
      this.#answer(req, res, 500, "Internal Server Error");
      throw error;
    }
    this.#sessions.set(session, transport);
    res.writeHead(200, { ...SSE_HEADERS, ...this.#corsHeaders(req) });
    const info: OpenInfo = { session, token, protocol: negotiated.protocol };
    transport.attach(res, 0, encodeEvent(JSON.stringify(info), OPEN_EVENT));
    return conn;
  }

  #refuseOpen(req: IncomingMessage, res: ServerResponse, error: HandshakeError): void {
    this.#host.rejected(req, error);
    this.#answer(req, res, error.status, error.message);
  }

  // ---- resume -------------------------------------------------------------------------------

  #resume(req: IncomingMessage, res: ServerResponse, params: URLSearchParams): void {
    req.resume();
    const transport = this.#find(req, params);
    const from = count(params.get(OFFSET_PARAM));
    if (transport === undefined || from === undefined) {
      this.#answer(req, res, from === undefined ? 400 : 404, from === undefined ? "bad offset" : "no such session");
      return;
    }
    if (!transport.canResume(from)) {
      // The events the client misses are gone: this session cannot go on.
      this.#answer(req, res, 410, "the stream cannot be resumed from there");
      transport.destroy();
      return;
    }
    res.writeHead(200, { ...SSE_HEADERS, ...this.#corsHeaders(req) });
    res.flushHeaders(); // the client learns at once that it is back, events or not
    transport.attach(res, from);
  }

  // ---- send ---------------------------------------------------------------------------------

  async #send(req: IncomingMessage, res: ServerResponse, params: URLSearchParams): Promise<void> {
    const session = params.get(SESSION_PARAM);
    const offset = count(params.get(OFFSET_PARAM));
    const ackParam = params.get(ACK_PARAM);
    const ack = ackParam === null ? undefined : count(ackParam);
    const token = req.headers[TOKEN_HEADER];
    if (!isWireId(session) || offset === undefined || (ackParam !== null && ack === undefined)) {
      this.#answer(req, res, 400, "bad session, offset or ack");
      return;
    }
    if (typeof token !== "string" || !TOKEN.test(token)) {
      this.#answer(req, res, 404, "no such session");
      return;
    }
    const local = this.#sessions.get(session);
    if (local === undefined) {
      const owner = session.slice(0, session.indexOf("."));
      const relay = this.#relay;
      if (relay === undefined || owner === this.#processId || !isProcessId(owner)) {
        this.#answer(req, res, 404, "no such session");
        return;
      }
      const body = await this.#readBody(req, res);
      if (body === null) return;
      const status = await relay.forward(owner, { session, tokenDigest: tokenDigest(token), offset, ack, body });
      this.#answer(req, res, status);
      return;
    }
    if (!local.matches(token)) {
      this.#answer(req, res, 404, "no such session");
      return;
    }
    if (local.posting) {
      this.#answer(req, res, 409, "another request of this session is running");
      return;
    }
    local.posting = true;
    try {
      const body = await this.#readBody(req, res);
      if (body === null) return;
      if (ack !== undefined) local.acknowledge(ack);
      this.#answer(req, res, await local.receive(offset, body));
    } finally {
      local.posting = false;
    }
  }

  /** A relayed POST for a session of this process: the status its sender answers with. */
  async #deliver(post: RelayedPost): Promise<number> {
    const local = this.#sessions.get(post.session);
    if (local === undefined || !local.matchesDigest(post.tokenDigest)) return 404;
    if (local.posting) return 409;
    local.posting = true;
    try {
      if (post.ack !== undefined) local.acknowledge(post.ack);
      return await local.receive(post.offset, post.body);
    } finally {
      local.posting = false;
    }
  }

  /** The body, within maxRequestBytes and requestTimeout; null once answered with 413/408/aborted. */
  #readBody(req: IncomingMessage, res: ServerResponse): Promise<Buffer | null> {
    const max = this.#maxRequestBytes;
    const declared = Number(req.headers["content-length"]);
    if (declared > max) {
      this.#refuseBody(req, res, 413, "request body too large");
      return Promise.resolve(null);
    }
    return new Promise((resolve) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let done = false;
      const finish = (body: Buffer | null): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        req.off("data", onData);
        req.off("end", onEnd);
        req.off("aborted", onAborted);
        req.off("error", onAborted);
        resolve(body);
      };
      const onData = (chunk: Buffer): void => {
        size += chunk.length;
        if (size > max) {
          finish(null);
          this.#refuseBody(req, res, 413, "request body too large");
          return;
        }
        chunks.push(chunk);
      };
      const onEnd = (): void => finish(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
      const onAborted = (): void => finish(null);
      const timer = setTimeout(() => {
        finish(null);
        this.#refuseBody(req, res, 408, "request body not received in time");
      }, this.#requestTimeout || 2_147_483_647);
      timer.unref();
      req.on("data", onData);
      req.on("end", onEnd);
      req.on("aborted", onAborted);
      req.on("error", onAborted);
    });
  }

  /** Refuse a body that is not read: the HTTP connection cannot be reused, so it is closed. */
  #refuseBody(req: IncomingMessage, res: ServerResponse, status: number, message: string): void {
    this.#answer(req, res, status, message, { connection: "close" });
    res.once("finish", () => req.socket.destroySoon?.());
  }

  // ---- helpers ------------------------------------------------------------------------------

  /** The local session a request names, if its token is right. */
  #find(req: IncomingMessage, params: URLSearchParams): FallbackTransport | undefined {
    const session = params.get(SESSION_PARAM);
    const token = req.headers[TOKEN_HEADER];
    if (!isWireId(session) || typeof token !== "string" || !TOKEN.test(token)) return undefined;
    const transport = this.#sessions.get(session);
    return transport?.matches(token) ? transport : undefined;
  }

  #corsHeaders(req: IncomingMessage): Record<string, string> {
    const origin = req.headers.origin;
    if (origin === undefined || !this.#host.corsAllowed(req)) return {};
    return { "access-control-allow-origin": origin, "access-control-allow-credentials": "true", vary: "origin" };
  }

  #preflight(req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    const cors = this.#corsHeaders(req);
    if (cors["access-control-allow-origin"] === undefined) {
      this.#answer(req, res, 403, "origin not allowed");
      return;
    }
    res.writeHead(204, {
      ...cors,
      "access-control-allow-methods": "POST",
      "access-control-allow-headers": `${TOKEN_HEADER}, content-type`,
      "access-control-max-age": "600",
    });
    res.end();
  }

  #answer(
    req: IncomingMessage,
    res: ServerResponse,
    status: number,
    body?: string | Uint8Array,
    headers?: Record<string, string>,
  ): void {
    if (res.headersSent || res.destroyed) return;
    const text = status === 204 ? undefined : (body ?? "");
    res.writeHead(status, {
      "cache-control": "no-store",
      ...(text === undefined ? {} : { "content-type": "text/plain; charset=utf-8" }),
      ...this.#corsHeaders(req),
      ...headers,
    });
    res.end(text);
  }
}
