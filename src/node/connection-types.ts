/**
 * The types a {@link Connection} is made from and reports with, shared by the server, the
 * client and the connection itself.
 */
import type { IncomingHttpHeaders, IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { ExtensionSession } from "../protocol/extensions/extension.js";
import type { PreparedMessage } from "../protocol/prepared-message.js";
import type { EngineFactory, EngineOptions, Role } from "../protocol/types.js";
import type { BackpressurePolicy, ResolvedConnectionOptions } from "./options.js";

/** A connection's events and their listeners' arguments. */
export interface ConnectionEvents {
  /** Client role: the opening handshake completed (server connections are open when handed over). */
  open: [];
  /** A whole message: text as a string, binary as a Buffer. */
  message: [data: string | Buffer, isBinary: boolean];
  ping: [data: Buffer];
  pong: [data: Buffer];
  /** The peer started the closing handshake (its close frame arrived). */
  closing: [code: number, reason: string];
  close: [code: number, reason: string, wasClean: boolean];
  /** Never crashes the process: a default listener exists. */
  error: [error: Error];
  /** What was buffered has been written. */
  drain: [];
  /** A message was dropped by the backpressure policy; the count so far. */
  dropped: [count: number];
}

/** What `send` did: written to the socket, buffered in it (a `drain` follows), or dropped. */
export type SendResult = "written" | "buffered" | "dropped";
/**
 * What `send` returns on a connection with backpressure policy `P`: a {@link SendResult}, or
 * with "wait" possibly a promise resolved once the buffer drained (so only then a promise the
 * caller has to handle, for lint rules such as no-floating-promises).
 */
export type SendReturn<P extends BackpressurePolicy> = SendReturnByPolicy[P];

/** See {@link SendReturn}. */
export interface SendReturnByPolicy {
  close: SendResult;
  drop: SendResult;
  wait: SendResult | Promise<"written" | "buffered">;
}
export type SendData = string | Buffer | ArrayBuffer | ArrayBufferView | PreparedMessage;

/**
 * What a {@link Connection} runs over: a Duplex stream of the connection's bytes (`net.Socket`,
 * `tls.TLSSocket`, an HTTP/2 stream, a virtual transport), and the socket extras it uses when
 * present. It writes with `write` (and `cork`/`uncork` for large turns), reads `data`, `end`,
 * `close`, `error` and `drain`, ends with `end` or `destroy`, and reads `writableLength` for
 * `bufferedAmount`.
 */
export type Transport = Duplex & {
  /** Sockets: no Nagle delay (set once). */
  setNoDelay?(noDelay?: boolean): unknown;
  /** Sockets: no idle timeout of Node's own (a server's `timeout` must not cut a WebSocket). */
  setTimeout?(ms: number): unknown;
  readonly remoteAddress?: string | undefined;
};
/**
 * What a server connection keeps of its upgrade request. The `IncomingMessage` itself (its stream
 * state, raw header arrays and socket references: ~1.7 KB per idle connection) is not retained;
 * the server's `connection` event and `authenticate` receive the full object.
 */
export interface ConnectionRequest {
  readonly method: string;
  /** The request target, e.g. "/chat?room=1". */
  readonly url: string;
  readonly httpVersion: string;
  /** node:http's parsed headers (lowercased names). */
  readonly headers: IncomingHttpHeaders;
}

/** What a connection keeps of `req` (not the IncomingMessage itself). */
export function connectionRequest(req: IncomingMessage): ConnectionRequest {
  return { method: req.method ?? "GET", url: req.url ?? "/", httpVersion: req.httpVersion, headers: req.headers };
}

/**
 * A usual request's headers (GET over HTTP/1.1), else null. A server connection keeps only these
 * and the url ({@link keptOrigin}), and makes its {@link ConnectionRequest} (56 bytes) when first
 * read, with {@link keptRequest}: the object {@link connectionRequest} would have made.
 */
export function usualHeaders(req: IncomingMessage | undefined): IncomingHttpHeaders | null {
  return req !== undefined && (req.method ?? "GET") === "GET" && req.httpVersion === "1.1" ? req.headers : null;
}

/** What a server connection keeps besides `headers` (see {@link usualHeaders}): the url, or the whole request. */
export function keptOrigin(
  req: IncomingMessage | undefined,
  headers: IncomingHttpHeaders | null,
): ConnectionRequest | string | undefined {
  return req === undefined ? undefined : headers !== null ? (req.url ?? "/") : connectionRequest(req);
}

/** The {@link ConnectionRequest} of a usual request (see {@link usualHeaders}). */
export function keptRequest(url: string, headers: IncomingHttpHeaders): ConnectionRequest {
  return { method: "GET", url, httpVersion: "1.1", headers };
}

export interface CloseInfo {
  code: number;
  reason: string;
  wasClean: boolean;
}

/** What the server or client knows when it creates a connection. */
export interface ConnectionInit {
  role: Role;
  socket: Transport;
  createEngine: EngineFactory;
  /** The version of the engine `createEngine` makes: "hybi-13" (default), "hixie-75" or "hixie-76". */
  engineVersion?: string;
  options: ResolvedConnectionOptions;
  protocol: string;
  extensions: readonly ExtensionSession[];
  extensionsHeader: string;
  /** Bytes that arrived after the handshake head (first frames). */
  head?: Uint8Array;
  request?: IncomingMessage;
  data?: unknown;
  url?: string;
  /** Engine behaviours a compatibility host chooses (ws's `autoPong`, `skipUTF8Validation`...). */
  engine?: Partial<
    Pick<
      EngineOptions,
      "autoPong" | "validateUtf8" | "closeReason" | "requireMasking" | "echoCloseReason" | "randomFill"
    >
  >;
  /**
   * Keep the transport's 'data' events: no in-place reads (read-path.ts) even on a plain TCP
   * socket. For hosts whose users may listen to the socket themselves (ws's `ws._socket`).
   */
  dataEvents?: boolean;
  /** `message` carries text as a Buffer of its UTF-8 bytes (ws's shape) instead of a string. */
  textAsBuffer?: boolean;
  /** The peer's address when the transport has none of its own (an HTTP/2 stream: its session's socket's). */
  remoteAddress?: string;
  /**
   * End the transport abnormally (terminate, timeouts). Default `destroy()`; an HTTP/2 stream
   * is reset with CANCEL instead (RFC 8441 6).
   */
  abortTransport?: (transport: Transport) => void;
}
