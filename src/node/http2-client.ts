/**
 * The client side of WebSockets over HTTP/2 (RFC 8441), for `connect(url, { http2: true })`:
 * WebSockets to one origin share one HTTP/2 session, each on its own stream opened with an
 * extended CONNECT (`:protocol` websocket), and fall back to HTTP/1.1 when the server does not
 * offer it.
 *
 * Contract:
 * - `wss:`: one TLS connection offering ALPN h2 and http/1.1. A server that picks http/1.1 keeps
 *   that very socket for the HTTP/1.1 handshake (nothing is wasted); one that picks h2 becomes a
 *   pooled session. `ws:`: HTTP/2 with prior knowledge (h2c); a server that does not speak it
 *   fails the session and the client falls back.
 * - A session is used once its peer's SETTINGS arrived with SETTINGS_ENABLE_CONNECT_PROTOCOL
 *   (RFC 8441 3); without it the client falls back to HTTP/1.1 on a new connection and
 *   remembers the origin (bounded: up to 256 origins), so later connects go to HTTP/1.1 at once.
 * - Sessions are keyed by origin, socket path and the TLS options (compared by identity: pass
 *   the same `ca`/`cert`/`key` values to share); a session full up to its peer's
 *   SETTINGS_MAX_CONCURRENT_STREAMS makes another. A session closes when its last WebSocket
 *   stream closes, and leaves the pool when it closes or fails.
 * - The answer is judged by {@link ExtendedConnectHandshake}: 2xx opens a {@link Connection}
 *   over the stream (the same engine and API as over TCP); a 3xx is returned for the redirect
 *   logic of `connect`; anything else rejects with a HandshakeError carrying the status,
 *   headers and up to 4 KiB of body.
 */
import {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  constants,
  connect as http2Connect,
  type IncomingHttpHeaders,
} from "node:http2";
import { connect as netConnect } from "node:net";
import { type TLSSocket, connect as tlsConnect } from "node:tls";
import { HandshakeError } from "../protocol/errors.js";
import type { ClientExtension } from "../protocol/extensions/extension.js";
import { ExtendedConnectHandshake } from "../protocol/handshake/extended-connect.js";
import { Connection } from "./connection.js";
import type { Transport } from "./connection-types.js";
import { createHybiEngine } from "./engines.js";
import type { ResolvedConnectionOptions } from "./options.js";

/** What the HTTP/2 client needs of a target (see client.ts's Target). */
export interface Http2Target {
  handshakeUrl: URL;
  secure: boolean;
  host: string;
  port: number;
  socketPath?: string;
}

/** The TLS options a pooled session is made with. */
export interface Http2TlsOptions {
  ca?: string | Buffer | Array<string | Buffer>;
  cert?: string | Buffer;
  key?: string | Buffer;
  rejectUnauthorized?: boolean;
  servername?: string;
  localAddress?: string;
}

export interface Http2AttemptOptions extends Http2TlsOptions {
  origin?: string;
  protocols?: string[];
  extensions: ClientExtension[];
  headers: Record<string, string>;
  connection: ResolvedConnectionOptions;
}

/**
 * What an attempt gave: an open connection, a redirect answer, or "use HTTP/1.1" (with the TLS
 * socket ALPN left to HTTP/1.1, when there is one).
 */
export type Http2Outcome =
  | { kind: "open"; conn: Connection }
  | { kind: "redirect"; error: HandshakeError }
  | { kind: "fallback"; socket?: TLSSocket };

const MAX_ERROR_BODY = 4096;
const MAX_REMEMBERED = 256;

class PooledSession {
  streams = 0;
  maxStreams = Number.POSITIVE_INFINITY;
  closing = false;
  /** Resolves true once the peer's SETTINGS allow extended CONNECT, false if they do not (or the session failed). */
  readonly ready: Promise<boolean>;
  constructor(
    readonly key: string,
    readonly tls: Http2TlsOptions,
    readonly session: ClientHttp2Session,
  ) {
    this.ready = new Promise((resolve) => {
      session.once("remoteSettings", (settings) => {
        if (settings.maxConcurrentStreams !== undefined) this.maxStreams = settings.maxConcurrentStreams;
        resolve(settings.enableConnectProtocol === true);
      });
      session.once("close", () => resolve(false));
      session.once("error", () => resolve(false));
    });
  }
}

const pool = new Map<string, PooledSession[]>();
/** Origins whose HTTP/2 server does not offer extended CONNECT (or that do not speak HTTP/2 in cleartext). */
const withoutExtendedConnect = new Set<string>();

function poolKey(target: Http2Target): string {
  return `${target.secure ? "https" : "http"}://${target.host}:${target.port}${target.socketPath === undefined ? "" : `@${target.socketPath}`}`;
}

function sameTls(a: Http2TlsOptions, b: Http2TlsOptions): boolean {
  return (
    a.ca === b.ca &&
    a.cert === b.cert &&
    a.key === b.key &&
    a.rejectUnauthorized === b.rejectUnauthorized &&
    a.servername === b.servername &&
    a.localAddress === b.localAddress
  );
}

function remember(key: string): void {
  if (withoutExtendedConnect.size >= MAX_REMEMBERED) withoutExtendedConnect.clear();
  withoutExtendedConnect.add(key);
}

function forget(pooled: PooledSession): void {
  const list = pool.get(pooled.key);
  if (list === undefined) return;
  const i = list.indexOf(pooled);
  if (i !== -1) list.splice(i, 1);
  if (list.length === 0) pool.delete(pooled.key);
}

function adopt(key: string, tls: Http2TlsOptions, session: ClientHttp2Session): PooledSession {
  session.on("error", () => {}); // reported through the streams; a failed session just leaves the pool
  const pooled = new PooledSession(key, tls, session);
  session.once("close", () => forget(pooled));
  let list = pool.get(key);
  if (list === undefined) pool.set(key, (list = []));
  list.push(pooled);
  return pooled;
}

/** The connected TLS socket, or the error. */
function connectTls(target: Http2Target, tls: Http2TlsOptions, signal: AbortSignal): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({
      ...(target.socketPath !== undefined ? { path: target.socketPath } : { host: target.host, port: target.port }),
      ca: tls.ca,
      cert: tls.cert,
      key: tls.key,
      rejectUnauthorized: tls.rejectUnauthorized,
      servername:
        tls.servername ?? (/^[\d.]+$/.test(target.host) || target.host.includes(":") ? undefined : target.host),
      ALPNProtocols: ["h2", "http/1.1"],
    });
    const onAbort = (): void => {
      socket.destroy();
    };
    signal.addEventListener("abort", onAbort, { once: true });
    socket.once("error", (error) => {
      signal.removeEventListener("abort", onAbort);
      reject(error);
    });
    socket.once("secureConnect", () => {
      signal.removeEventListener("abort", onAbort);
      resolve(socket);
    });
  });
}

type Found = PooledSession | { fallback: TLSSocket | undefined };

/** Sessions being established, per key: concurrent connects to one origin wait for the same one. */
const connecting = new Map<string, { tls: Http2TlsOptions; found: Promise<Found> }>();

/** A pooled session with room for one more stream, or why there is none. */
async function sessionFor(target: Http2Target, tls: Http2TlsOptions, signal: AbortSignal): Promise<Found> {
  const key = poolKey(target);
  if (withoutExtendedConnect.has(key)) return { fallback: undefined };
  for (const pooled of pool.get(key) ?? []) {
    if (!pooled.closing && sameTls(pooled.tls, tls) && pooled.streams < pooled.maxStreams) return pooled;
  }
  const inflight = connecting.get(key);
  if (inflight !== undefined && sameTls(inflight.tls, tls)) {
    const found = await inflight.found;
    // The first caller keeps an http/1.1 socket; the others make their own.
    if (!(found instanceof PooledSession)) return { fallback: undefined };
    await found.ready;
    return found.closing || found.streams >= found.maxStreams ? sessionFor(target, tls, signal) : found;
  }
  const found = openSession(key, target, tls, signal);
  const entry = { tls, found };
  connecting.set(key, entry);
  try {
    return await found;
  } finally {
    if (connecting.get(key) === entry) connecting.delete(key);
  }
}

async function openSession(
  key: string,
  target: Http2Target,
  tls: Http2TlsOptions,
  signal: AbortSignal,
): Promise<Found> {
  let session: ClientHttp2Session;
  const origin = `${target.secure ? "https" : "http"}://${target.host.includes(":") ? `[${target.host}]` : target.host}:${target.port}`;
  if (target.secure) {
    const socket = await connectTls(target, tls, signal);
    if (socket.alpnProtocol !== "h2") return { fallback: socket };
    session = http2Connect(origin, { createConnection: () => socket });
  } else {
    const path = target.socketPath;
    session = http2Connect(origin, {
      createConnection: () =>
        path !== undefined
          ? netConnect({ path })
          : netConnect({ host: target.host, port: target.port, localAddress: tls.localAddress }),
    });
  }
  return adopt(key, tls, session);
}

/** The session stopped carrying WebSockets (or never did): close it once its last stream is gone. */
function release(pooled: PooledSession): void {
  pooled.streams--;
  if (pooled.streams > 0) return;
  pooled.closing = true;
  forget(pooled);
  pooled.session.close();
}

/** RFC 8441 6: an abnormal end is RST_STREAM(CANCEL). */
function cancel(transport: Transport): void {
  const stream = transport as unknown as ClientHttp2Stream;
  if (!stream.closed && !stream.destroyed) stream.close(constants.NGHTTP2_CANCEL);
  else stream.destroy();
}

function headerPairs(headers: IncomingHttpHeaders): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (const name of Object.keys(headers)) {
    if (name.charCodeAt(0) === 0x3a) continue;
    const value = headers[name];
    if (Array.isArray(value)) for (const v of value) pairs.push([name, v]);
    else if (value !== undefined) pairs.push([name, String(value)]);
  }
  return pairs;
}

/** Read up to MAX_ERROR_BODY bytes of a refusal's body. */
function readBody(stream: ClientHttp2Stream): Promise<Uint8Array> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (): void => {
      resolve(Buffer.concat(chunks).subarray(0, MAX_ERROR_BODY));
      if (!stream.closed) stream.close(constants.NGHTTP2_CANCEL);
    };
    stream.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= MAX_ERROR_BODY) done();
    });
    stream.once("end", done);
    stream.once("close", done);
  });
}

/**
 * Open a WebSocket over HTTP/2 to `target`, or say why not (see the module comment). Rejects
 * with the network error, a HandshakeError (refusal, invalid answer) or the abort reason.
 */
export async function attemptHttp2(
  target: Http2Target,
  options: Http2AttemptOptions,
  signal: AbortSignal,
): Promise<Http2Outcome> {
  const handshake = new ExtendedConnectHandshake({
    url: target.handshakeUrl,
    origin: options.origin,
    protocols: options.protocols,
    extensions: options.extensions,
    headers: options.headers,
  });
  const found = await sessionFor(target, options, signal);
  if (!(found instanceof PooledSession)) return { kind: "fallback", socket: found.fallback };
  const pooled = found;
  pooled.streams++; // claimed before the wait: release() must not close the session under us
  let claimed = true;
  const giveBack = (): void => {
    if (claimed) {
      claimed = false;
      release(pooled);
    }
  };
  const onAbort = (): void => giveBack();
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    if (!(await pooled.ready)) {
      remember(pooled.key);
      giveBack();
      return { kind: "fallback" };
    }
    signal.throwIfAborted();
    const stream = pooled.session.request(handshake.headers(), { endStream: false });
    return await new Promise<Http2Outcome>((resolve, reject) => {
      let settled = false;
      const fail = (error: unknown): void => {
        if (settled) return;
        settled = true;
        signal.removeEventListener("abort", abortStream);
        if (!stream.destroyed) cancel(stream as unknown as Transport);
        giveBack();
        reject(error);
      };
      const abortStream = (): void => fail(signal.reason);
      signal.addEventListener("abort", abortStream, { once: true });
      stream.on("error", fail);
      stream.once("close", () =>
        fail(new HandshakeError("BAD_RESPONSE", "The stream closed before the server answered")),
      );
      stream.once("response", (headers) => {
        if (settled) return;
        const status = Number(headers[":status"]);
        const result = handshake.response(status, headers);
        if (result.ok) {
          settled = true;
          signal.removeEventListener("abort", abortStream);
          stream.removeAllListeners("error");
          stream.removeAllListeners("close");
          stream.once("close", giveBack);
          const conn = new Connection({
            role: "client",
            socket: stream as unknown as Transport,
            createEngine: createHybiEngine,
            options: options.connection,
            protocol: result.protocol,
            extensions: result.extensions,
            extensionsHeader: result.extensionsHeader,
            url: handshake.url.href,
            remoteAddress: pooled.session.socket?.remoteAddress,
            abortTransport: cancel,
          });
          resolve({ kind: "open", conn });
          return;
        }
        if (status < 200 || status > 299) {
          settled = true;
          signal.removeEventListener("abort", abortStream);
          stream.removeAllListeners("close");
          stream.once("close", giveBack);
          void readBody(stream).then((body) => {
            const error = new HandshakeError("UNEXPECTED_RESPONSE", result.error.message, {
              status,
              response: { status, statusText: "", headers: headerPairs(headers), body },
            });
            if (status >= 300 && status <= 399) resolve({ kind: "redirect", error });
            else reject(error);
          });
          return;
        }
        fail(result.error);
      });
    });
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}
