/**
 * The HTTP/2 side of WebSocketServer (RFC 8441): what it takes to accept WebSockets on the
 * streams of a node:http2 server, next to the HTTP/1.1 upgrades the same server may take
 * (`allowHTTP1`, ALPN h2 and http/1.1).
 *
 * Contract:
 * - {@link attachHttp2} makes a server advertise SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441 3;
 *   node's `enableConnectProtocol`, for sessions opened from then on) and routes every extended
 *   CONNECT with `:protocol` websocket to the WebSocketServer whose `path` equals the stream's
 *   `:path` (a server without `path` takes what no other claims; unclaimed streams get 400).
 *   One router per http2 server, whatever the number of WebSocketServers. Other streams (plain
 *   requests, CONNECT without `:protocol` websocket) are left alone; with node's compatibility
 *   API on (a `request` listener), plain CONNECTs keep node's 405 when nobody else listens to
 *   `connect`, and WebSocket streams are not answered twice.
 * - {@link http2Request} gives the checks (`origins`, `authenticate`, `protocols`) and the
 *   `connection` event a genuine `http.IncomingMessage`: method CONNECT, url = `:path`,
 *   httpVersion "2.0", headers as node:http2 delivers them (pseudo-header fields included)
 *   plus a `host` copied from `:authority` when the request has none (RFC 9113 8.3.1, as an
 *   intermediary converting to HTTP/1.1 does), `socket` the session's socket.
 * - {@link StreamAdmission}: the {@link Admission} of such a stream: refused with
 *   {@link refuseStream}; accepted with 200 (RFC 8441 5: the subprotocol and extensions chosen as
 *   for an upgrade; a refusal of the handshake itself is answered on the stream with a
 *   `rejected` event) and a {@link Connection} over the stream.
 * - {@link refuseStream} answers a refusal on the stream (status, headers fit for HTTP/2, text
 *   body), then resets it with NO_ERROR once the answer is out (RFC 9113 8.1: the client may
 *   stop sending its request); {@link cancelStream} ends a WebSocket abnormally with
 *   RST_STREAM(CANCEL) (RFC 8441 6).
 */
import { IncomingMessage } from "node:http";
import {
  constants,
  type Http2SecureServer,
  type Http2Server,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type IncomingHttpHeaders,
  type ServerHttp2Stream,
} from "node:http2";
import type { Socket } from "node:net";
import { HandshakeError } from "../protocol/errors.js";
import { acceptExtendedConnect } from "../protocol/handshake/extended-connect.js";
import { type AcceptContext, type Admission, pathOf, routeByPath } from "./admission.js";
import { Connection } from "./connection.js";
import type { Transport } from "./connection-types.js";
import { createHybiEngine } from "./engines.js";
import { acceptSafely, type BackpressurePolicy } from "./options.js";

export type Http2ServerLike = Http2Server | Http2SecureServer;

/** Whoever takes the WebSocket streams of an http2 server (a WebSocketServer). */
export interface StreamHandler {
  readonly path: string | undefined;
  handleStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void;
}

/** node:http2 servers (cleartext or secure); http and https servers have no `updateSettings`. */
export function isHttp2Server(server: unknown): server is Http2ServerLike {
  return typeof (server as { updateSettings?: unknown }).updateSettings === "function";
}

/** An RFC 8441 WebSocket request: CONNECT with `:protocol` websocket. */
export function isWebSocketConnect(headers: IncomingHttpHeaders): boolean {
  return headers[":method"] === "CONNECT" && headers[":protocol"] === "websocket";
}

/** The request as `http.IncomingMessage` (see the module comment). */
export function http2Request(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): IncomingMessage {
  const req = new IncomingMessage(stream.session?.socket as Socket);
  req.method = "CONNECT";
  req.url = (headers[":path"] as string | undefined) ?? "/";
  req.httpVersion = "2.0";
  req.httpVersionMajor = 2;
  req.httpVersionMinor = 0;
  const all: IncomingHttpHeaders = { ...headers };
  const authority = headers[":authority"];
  if (all.host === undefined && typeof authority === "string") all.host = authority;
  req.headers = all;
  const raw: string[] = [];
  for (const name of Object.keys(all)) {
    const value = all[name];
    if (Array.isArray(value)) for (const v of value) raw.push(name, v);
    else if (value !== undefined) raw.push(name, String(value));
  }
  req.rawHeaders = raw;
  req.complete = true;
  req.push(null);
  return req;
}

/** Connection-specific fields are malformed in HTTP/2 (RFC 9113 8.2.2); node refuses them. */
const NOT_IN_HTTP2 = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te"]);

/** How long a refused stream may take to flush its answer before it is reset anyway, ms. */
const LINGER = 1000;

/** Answer a refusal on the stream and reset it once the answer is out. */
export function refuseStream(stream: ServerHttp2Stream, error: HandshakeError, body?: string | Uint8Array): void {
  if (stream.destroyed || stream.closed) return;
  if (stream.headersSent) {
    cancelStream(stream);
    return;
  }
  const headers: Record<string, string | number> = {
    ":status": error.status,
    "content-type": "text/plain; charset=utf-8",
  };
  for (const name of Object.keys(error.headers)) {
    const lower = name.toLowerCase();
    if (!NOT_IN_HTTP2.has(lower) && lower !== "content-length") headers[lower] = error.headers[name]!;
  }
  try {
    stream.respond(headers);
  } catch {
    // A header value node refuses (from a Rejection): the status alone.
    try {
      stream.respond({ ":status": error.status });
    } catch {
      stream.destroy();
      return;
    }
  }
  const timer = setTimeout(() => cancelStream(stream), LINGER);
  timer.unref();
  stream.once("close", () => clearTimeout(timer));
  // RFC 9113 8.1: after a complete response, RST_STREAM(NO_ERROR) tells the client to stop sending.
  stream.once("finish", () => {
    if (!stream.closed) stream.close(constants.NGHTTP2_NO_ERROR);
  });
  stream.end(body === undefined || typeof body === "string" ? (body ?? error.message) : Buffer.from(body));
}

/** RFC 8441 6: "RST exceptions represent RST_STREAM frames ... with the CANCEL error code". */
export function cancelStream(transport: Transport): void {
  const stream = transport as unknown as ServerHttp2Stream;
  if (!stream.closed && !stream.destroyed) stream.close(constants.NGHTTP2_CANCEL);
  else stream.destroy();
}

/** The admission of a WebSocket stream (see the module comment). */
export class StreamAdmission<P extends BackpressurePolicy> implements Admission<Connection<P>> {
  readonly req: IncomingMessage;
  readonly #stream: ServerHttp2Stream;
  readonly #context: AcceptContext;
  constructor(req: IncomingMessage, stream: ServerHttp2Stream, context: AcceptContext) {
    this.req = req;
    this.#stream = stream;
    this.#context = context;
  }

  get gone(): boolean {
    return this.#stream.destroyed || !this.#stream.writable;
  }

  refuse(error: HandshakeError, body?: string | Uint8Array): void {
    if (!this.#stream.destroyed) refuseStream(this.#stream, error, body || error.message);
  }

  accept(data: unknown): Connection<P> | null {
    return acceptStream<P>(this.req, this.#stream, data, this.#context);
  }
}

/** RFC 8441 5: answer the extended CONNECT with 200 and run the connection on the stream. */
function acceptStream<P extends BackpressurePolicy>(
  req: IncomingMessage,
  stream: ServerHttp2Stream,
  data: unknown,
  context: AcceptContext,
): Connection<P> | null {
  const result = acceptSafely(
    acceptExtendedConnect,
    { headers: req.headers, req },
    {
      protocols: context.protocols,
      extensions: context.extensions,
      headers: context.headers,
    },
  );
  if (!result.ok) {
    context.rejected(req, result.error);
    refuseStream(stream, result.error, result.error.message);
    return null;
  }
  try {
    stream.respond(result.headers);
    return new Connection<P>({
      role: "server",
      socket: stream,
      createEngine: createHybiEngine,
      options: context.connectionOptions,
      protocol: result.protocol,
      extensions: result.extensions,
      extensionsHeader: result.extensionsHeader,
      request: req,
      data,
      remoteAddress: stream.session?.socket?.remoteAddress,
      abortTransport: cancelStream,
    });
  } catch (error) {
    cancelStream(stream);
    throw error;
  }
}

interface Router {
  readonly handlers: Set<StreamHandler>;
  readonly onStream: (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => void;
  readonly onConnect: (req: Http2ServerRequest, res: Http2ServerResponse) => void;
}

const routers = new WeakMap<Http2ServerLike, Router>();

/** Route the server's WebSocket streams to `handler` too (see the module comment). */
export function attachHttp2(server: Http2ServerLike, handler: StreamHandler): void {
  let router = routers.get(server);
  if (router === undefined) {
    const handlers = new Set<StreamHandler>();
    const onStream = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void => {
      if (!isWebSocketConnect(headers)) return;
      const claimant = routeByPath(handlers, pathOf(headers[":path"] as string | undefined));
      if (claimant !== undefined) claimant.handleStream(stream, headers);
      else refuseStream(stream, new HandshakeError("BAD_REQUEST", "No WebSocket endpoint at this path"));
    };
    // node's compatibility layer emits `connect` for every CONNECT stream and answers 405 when
    // nobody listens: WebSocket streams are ours (answered in onStream); other CONNECTs keep
    // node's answer unless the application listens too.
    const onConnect = (req: Http2ServerRequest, res: Http2ServerResponse): void => {
      if (req.headers[":protocol"] === "websocket") return;
      if (server.listenerCount("connect") === 1) {
        res.statusCode = constants.HTTP_STATUS_METHOD_NOT_ALLOWED;
        res.end();
      }
    };
    router = { handlers, onStream, onConnect };
    routers.set(server, router);
    server.on("stream", onStream);
    server.on("connect", onConnect);
  }
  router.handlers.add(handler);
  // RFC 8441 3: advertise SETTINGS_ENABLE_CONNECT_PROTOCOL (sessions opened from now on).
  server.updateSettings({ enableConnectProtocol: true });
}

export function detachHttp2(server: Http2ServerLike, handler: StreamHandler): void {
  const router = routers.get(server);
  if (router === undefined) return;
  router.handlers.delete(handler);
  if (router.handlers.size === 0) {
    server.off("stream", router.onStream);
    server.off("connect", router.onConnect);
    routers.delete(server);
  }
}
