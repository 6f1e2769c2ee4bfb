/**
 * Option types, defaults and validation for the Node layer. Every option is checked once, at
 * construction, and a bad value throws an {@link OptionError} naming it. Durations are in ms;
 * 0 disables a timer or a limit.
 */
import type { Server as HttpServer, IncomingMessage } from "node:http";
import type { Http2SecureServer, Http2Server } from "node:http2";
import type { Server as HttpsServer } from "node:https";
import { HandshakeError, OptionError } from "../protocol/errors.js";
import { renderRejection, type ServerHandshakeResult } from "../protocol/handshake/server-handshake.js";
import {
  DEFAULT_MAX_FRAGMENTS,
  DEFAULT_MAX_HEADER_BYTES,
  DEFAULT_MAX_HEADER_COUNT,
  DEFAULT_MAX_PAYLOAD,
} from "../protocol/limits.js";
import type { PerMessageDeflateOptions } from "./deflate/index.js";
import type { FallbackOptions } from "./fallback/endpoint.js";
import { isProcessId } from "./fallback/relay.js";
import type { OriginRule } from "./origin.js";

export type BackpressurePolicy = "close" | "drop" | "wait";
/** The policies under which `send` never returns a promise: every one but "wait" (the default is "close"). */
export type ImmediatePolicy = Exclude<BackpressurePolicy, "wait">;

/** Options shared by both roles (server connections and clients). */
export interface ConnectionOptions {
  /** Max message size, bytes (after decompression). Default 64 MiB. Exceeded: 1009. */
  maxPayload?: number;
  /** Max frames per fragmented message. Default 4096. Exceeded: 1009. */
  maxFragments?: number;
  /** Send a ping after this long without hearing from the peer. Default 30 s; 0 disables. */
  pingInterval?: number;
  /**
   * Terminate when nothing (pong or any data) arrives this long after a ping. Default 10 s; 0:
   * never (a silent peer is pinged again after each `pingInterval`).
   */
  pongTimeout?: number;
  /** Close (1001 "idle timeout") after this long without a data message either way. Default 0 (off). */
  idleTimeout?: number;
  /** After sending a close frame, wait this long for the peer's before destroying the socket. Default 10 s. */
  closeTimeout?: number;
  /** Bytes queued for the socket (ours + Node's) above which `backpressure` applies. Default 16 MiB. */
  maxBufferedAmount?: number;
  /** What a send does above `maxBufferedAmount`: close (1008, default), drop, or wait (a promise). */
  backpressure?: BackpressurePolicy;
  /** Opt-in inbound rate limit: at most `messages` per `interval` ms (token bucket); excess closes with 1008. */
  rateLimit?: { messages: number; interval: number };
  /**
   * Lend large messages to the `message` handler instead of giving them away: a binary message's
   * Buffer (and a text message's bytes) is valid only until the handler returns, after which
   * its memory is reused for the next messages. Messages from 64 KiB up are then read into
   * buffers from one process-wide pool (warm memory, no allocation per message): about a fifth
   * less CPU per MiB for servers that handle large messages at once (echo, relay, hash, parse).
   * Sending it (or a view of it) from the handler is safe on every path: `send`, `sendPrepared`,
   * `broadcast`, `startMessage` writers and `stream`, `ping`/`pong`, WebSocket `send`, to any
   * connection (with or without compression, behind an open writer): the bytes are kept until
   * written, or copied where they would wait. The one exception: a chunk written to a
   * WebSocketStream's `writable` may wait in the stream's own queue, out of wirecable's reach:
   * write a copy (`Buffer.from(data)`). An async handler must not use `data` after an `await` (the handler has
   * returned by then); keep anything past the handler only as a copy (`Buffer.from(data)`). Async
   * iteration, WebSocketStream and WebSocket copy. `data.buffer` beyond the message's view may hold
   * bytes of earlier messages. Messages of a connection with permessage-deflate are not lent. The
   * ws drop-in (`wirecable/ws`) does not offer the option. Default false.
   */
  lendMessages?: boolean;
}

export const CONNECTION_DEFAULTS = {
  maxPayload: DEFAULT_MAX_PAYLOAD,
  maxFragments: DEFAULT_MAX_FRAGMENTS,
  /** 30 s: below the 60 s idle cut-off of most load balancers and NATs. */
  pingInterval: 30_000,
  /** 10 s: generous for mobile networks, short enough to reclaim dead peers quickly. */
  pongTimeout: 10_000,
  idleTimeout: 0,
  /** 10 s: RFC 6455 leaves it open; browsers use a few seconds, ws 30 s. */
  closeTimeout: 10_000,
  /** 16 MiB: a consumer this far behind is not catching up; bounds memory per slow peer. */
  maxBufferedAmount: 16 * 1024 * 1024,
  backpressure: "close" as BackpressurePolicy,
};

export interface ResolvedConnectionOptions {
  maxPayload: number;
  maxFragments: number;
  pingInterval: number;
  pongTimeout: number;
  idleTimeout: number;
  closeTimeout: number;
  maxBufferedAmount: number;
  backpressure: BackpressurePolicy;
  rateLimit: { messages: number; interval: number } | undefined;
  lendMessages: boolean;
}

/** A refusal from `authenticate`: throw or return one to answer the upgrade with an HTTP error. */
export class Rejection {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string | Uint8Array;
  constructor(status = 401, options?: { headers?: Record<string, string>; body?: string | Uint8Array }) {
    if (!Number.isInteger(status) || status < 400 || status > 599) throw new OptionError("status", "must be 400-599");
    this.status = status;
    this.headers = options?.headers ?? {};
    this.body = options?.body ?? "";
  }
}

export interface ServerOptions extends ConnectionOptions {
  /**
   * Attach to this server. A node:http2 server (`http2.createSecureServer`, or
   * `http2.createServer` for h2c) also takes WebSockets over HTTP/2 (RFC 8441): the server
   * advertises SETTINGS_ENABLE_CONNECT_PROTOCOL and its extended CONNECT streams become
   * connections; with `allowHTTP1: true` the same port still takes HTTP/1.1 upgrades.
   */
  server?: HttpServer | HttpsServer | Http2Server | Http2SecureServer;
  port?: number;
  host?: string;
  /** Only upgrade requests for this exact path (query string ignored). Default: every path. */
  path?: string;
  noServer?: boolean;
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  protocols?: string[] | ((offered: string[], req: IncomingMessage) => string | null | undefined);
  /** Allowed origins, checked first (403 when refused). */
  origins?: OriginRule;
  /** Runs before the handshake is accepted: return data (becomes `conn.data`), or throw/return a Rejection. */
  authenticate?: (req: IncomingMessage) => unknown | Promise<unknown>;
  /** Max open connections plus handshakes in progress; excess gets 503 + Retry-After. Default 0 (no limit). */
  maxConnections?: number;
  /** Seconds sent in Retry-After with a 503. Default 5. */
  retryAfter?: number;
  /** Time allowed for an upgrade (including `authenticate`). Default 10 s. */
  handshakeTimeout?: number;
  /** Max request header count. Default 100. Exceeded: 431. */
  maxHeaderCount?: number;
  /** Max request head size in bytes. Default 16 KiB. Exceeded: 431. */
  maxHeaderBytes?: number;
  /** Route hixie-75/76 requests to the legacy driver. Default false (refused with 426). */
  legacyDrafts?: boolean;
  /** Extra headers in every 101 response. */
  headers?: Record<string, string>;
  /**
   * Also accept WebSocket sessions over plain HTTP (event stream down, POST up) on the same
   * path, for clients behind proxies that block WebSockets (docs/fallback.md). Default false.
   * In `server` mode the application routes those requests with `handleRequest(req, res)`.
   */
  fallback?: boolean | FallbackOptions;
}

export const SERVER_DEFAULTS = {
  maxConnections: 0,
  retryAfter: 5,
  handshakeTimeout: 10_000,
  maxHeaderCount: DEFAULT_MAX_HEADER_COUNT,
  maxHeaderBytes: DEFAULT_MAX_HEADER_BYTES,
};

export function checkCount(name: string, value: unknown, min = 0): void {
  if (value === undefined) return;
  if (typeof value !== "number" || !Number.isFinite(value) || value < min || !Number.isInteger(value)) {
    throw new OptionError(name, `expected an integer >= ${min}, got ${String(value)}`);
  }
}

function checkFunction(name: string, value: unknown): void {
  if (value !== undefined && typeof value !== "function") throw new OptionError(name, "expected a function");
}

export function resolveConnectionOptions(options: ConnectionOptions): ResolvedConnectionOptions {
  for (const name of [
    "maxPayload",
    "maxFragments",
    "pingInterval",
    "pongTimeout",
    "idleTimeout",
    "closeTimeout",
    "maxBufferedAmount",
  ] as const) {
    checkCount(name, options[name]);
  }
  const policy = options.backpressure;
  if (policy !== undefined && policy !== "close" && policy !== "drop" && policy !== "wait") {
    throw new OptionError("backpressure", `expected "close", "drop" or "wait", got ${String(policy)}`);
  }
  const rate = options.rateLimit;
  if (rate !== undefined) {
    if (typeof rate !== "object" || rate === null)
      throw new OptionError("rateLimit", "expected { messages, interval }");
    checkCount("rateLimit.messages", rate.messages, 1);
    checkCount("rateLimit.interval", rate.interval, 1);
    if (rate.messages === undefined || rate.interval === undefined) {
      throw new OptionError("rateLimit", "both messages and interval are required");
    }
  }
  const lend = options.lendMessages;
  if (lend !== undefined && typeof lend !== "boolean") {
    throw new OptionError("lendMessages", `expected a boolean, got ${String(lend)}`);
  }
  return {
    maxPayload: options.maxPayload ?? CONNECTION_DEFAULTS.maxPayload,
    maxFragments: options.maxFragments ?? CONNECTION_DEFAULTS.maxFragments,
    pingInterval: options.pingInterval ?? CONNECTION_DEFAULTS.pingInterval,
    pongTimeout: options.pongTimeout ?? CONNECTION_DEFAULTS.pongTimeout,
    idleTimeout: options.idleTimeout ?? CONNECTION_DEFAULTS.idleTimeout,
    closeTimeout: options.closeTimeout ?? CONNECTION_DEFAULTS.closeTimeout,
    maxBufferedAmount: options.maxBufferedAmount ?? CONNECTION_DEFAULTS.maxBufferedAmount,
    backpressure: policy ?? CONNECTION_DEFAULTS.backpressure,
    rateLimit: rate === undefined ? undefined : { messages: rate.messages, interval: rate.interval },
    lendMessages: lend === true,
  };
}

/**
 * Response headers the 101 handshake sets itself (RFC 6455 4.2.2: Upgrade, Connection,
 * Sec-WebSocket-*), plus the framing headers of HTTP; `headers` may not set them.
 */
export function isReservedResponseHeader(name: string): boolean {
  const lower = name.trim().toLowerCase();
  return (
    lower === "upgrade" ||
    lower === "connection" ||
    lower === "content-length" ||
    lower === "transfer-encoding" ||
    lower.startsWith("sec-websocket-")
  );
}

/**
 * Run the handshake, answering 500 instead of throwing when it refuses a value that got past
 * construction (`headers` mutated afterwards, or a `protocols` function answering a value with
 * CR/LF): a throw from the upgrade listener would otherwise crash the process.
 */
export function acceptSafely<R, O, T extends { ok: boolean }>(
  accept: (request: R, options: O) => T,
  request: R,
  options: O,
): T | Extract<ServerHandshakeResult, { ok: false }> {
  try {
    return accept(request, options);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const error = new HandshakeError("CALLBACK_FAILED", `Handshake failed: ${message}`);
    return { ok: false, error, response: renderRejection(500, {}, "Internal Server Error") };
  }
}

/** Validate server options; throws OptionError naming the first bad one. */
export function validateServerOptions(options: ServerOptions): void {
  if (typeof options !== "object" || options === null) throw new OptionError("options", "expected an object");
  const modes =
    Number(options.server !== undefined) + Number(options.port !== undefined) + Number(options.noServer === true);
  if (modes !== 1) {
    throw new OptionError("port", "exactly one of port, server or noServer: true is required");
  }
  if (options.port !== undefined) checkCount("port", options.port);
  if (options.port !== undefined && options.port > 65535) throw new OptionError("port", "must be <= 65535");
  if (options.host !== undefined && typeof options.host !== "string")
    throw new OptionError("host", "expected a string");
  if (options.server !== undefined && typeof (options.server as { on?: unknown }).on !== "function") {
    throw new OptionError("server", "expected an http.Server or https.Server");
  }
  if (options.path !== undefined && (typeof options.path !== "string" || !options.path.startsWith("/"))) {
    throw new OptionError("path", 'expected a string starting with "/"');
  }
  for (const name of [
    "maxConnections",
    "handshakeTimeout",
    "maxHeaderCount",
    "maxHeaderBytes",
    "retryAfter",
  ] as const) {
    checkCount(name, options[name]);
  }
  checkFunction("authenticate", options.authenticate);
  const protocols = options.protocols;
  if (protocols !== undefined && typeof protocols !== "function") {
    if (!Array.isArray(protocols) || protocols.some((p) => typeof p !== "string" || p.length === 0)) {
      throw new OptionError("protocols", "expected an array of tokens or a function");
    }
  }
  const origins = options.origins;
  if (origins !== undefined && typeof origins !== "function") {
    if (!Array.isArray(origins) || origins.some((o) => typeof o !== "string" && !(o instanceof RegExp))) {
      throw new OptionError("origins", "expected an array of strings and RegExps, or a function");
    }
  }
  validateFallbackOptions(options.fallback);
  const pmd = options.perMessageDeflate;
  if (pmd !== undefined && typeof pmd !== "boolean" && (typeof pmd !== "object" || pmd === null)) {
    throw new OptionError("perMessageDeflate", "expected a boolean or an options object");
  }
  if (options.headers !== undefined) {
    if (typeof options.headers !== "object" || options.headers === null) {
      throw new OptionError("headers", "expected an object of strings");
    }
    for (const [k, v] of Object.entries(options.headers)) {
      if (typeof v !== "string" || /[\r\n]/.test(v) || /[\r\n:]/.test(k)) {
        throw new OptionError("headers", `bad header ${JSON.stringify(k)}`);
      }
      if (isReservedResponseHeader(k)) {
        throw new OptionError("headers", `${JSON.stringify(k)} is set by the handshake and cannot be overridden`);
      }
    }
  }
  resolveConnectionOptions(options);
}

function validateFallbackOptions(fallback: ServerOptions["fallback"]): void {
  if (fallback === undefined || typeof fallback === "boolean") return;
  if (typeof fallback !== "object" || fallback === null) {
    throw new OptionError("fallback", "expected a boolean or an options object");
  }
  for (const name of ["resumeTimeout", "replayBytes", "maxRequestBytes", "requestTimeout"] as const) {
    checkCount(`fallback.${name}`, fallback[name]);
  }
  if (fallback.maxRequestBytes === 0) throw new OptionError("fallback.maxRequestBytes", "must be at least 1");
  const relay = fallback.relay;
  if (relay !== undefined) {
    if (
      typeof relay !== "object" ||
      relay === null ||
      typeof relay.forward !== "function" ||
      typeof relay.serve !== "function"
    ) {
      throw new OptionError("fallback.relay", "expected a FallbackRelay ({ id, forward, serve })");
    }
    if (!isProcessId(relay.id)) {
      throw new OptionError("fallback.relay", "its id must be 1-32 characters of A-Z a-z 0-9 _ -");
    }
  }
}
