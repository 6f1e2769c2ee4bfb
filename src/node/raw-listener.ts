/**
 * RawListener: the TCP listener of a standalone WebSocketServer (`new WebSocketServer({ port })`).
 * A `net` server that reads each request head itself with the sans-I/O {@link HttpHeadParser}
 * instead of node:http (whose accept, parser and bookkeeping cost about as much per upgrade as
 * the whole WebSocket handshake), then hands upgrade requests over exactly as node:http's
 * `upgrade` event does.
 *
 * Contract:
 * - An upgrade request (an Upgrade header and a Connection header listing "upgrade": node's
 *   rule) goes to `onUpgrade(req, socket, head)` and the socket is no longer ours: `req` is a
 *   genuine `http.IncomingMessage` (method, url, httpVersion/Major/Minor, headers lowercased
 *   with node's duplicate rules, rawHeaders, complete, upgrade, its stream ended), `head` holds
 *   the bytes received after the head (frames sent with the request; often empty), and the
 *   socket is paused the way node:http leaves it (`readableFlowing` null, so the next 'data'
 *   listener resumes it and nothing is lost meanwhile), with only a no-op 'error' listener of ours.
 * - Any other complete request is answered 426 (Upgrade: websocket, Sec-WebSocket-Version: 13, 8, 7)
 *   and closed, unless the server claims it (`plain`: the fallback transport's requests), in
 *   which case the socket goes to node:http with the request's bytes put back in front. A head
 *   the parser refuses gets its status (400 malformed, 414 request line, 431 header caps:
 *   `maxHeaderBytes`, `maxHeaderCount`) and is closed; there is no request to emit then, as
 *   with node:http's own 400/431. A head not complete within `handshakeTimeout` ms
 *   (slowloris) gets 408 and is closed; 0 disables. EOF before a complete head: closed.
 * - Answered sockets are destroyed once the answer is flushed, or {@link LINGER} ms later for a
 *   peer that does not read. Socket errors before the hand-off are swallowed. (Node's stream
 *   `destroy()` still reads `err.stack` of an ECONNRESET, to avoid a V8 leak: not ours to skip.)
 * - `close()` stops accepting; `destroyPending()` destroys every socket not yet handed over.
 *
 * Cost per socket: one {@link PendingSocket} (parser, list links) stored on the socket under a
 * symbol, reused for a later socket once this one is handed over or closed (up to {@link SPARES}
 * kept per listener: a handshake allocates no parser); the socket handlers are shared functions,
 * no closures, no timers. The heads' deadlines share one timer-wheel entry (deadline-queue.ts);
 * sockets answered 4xx get their own for LINGER.
 */
import { type IncomingHttpHeaders, IncomingMessage } from "node:http";
import { type AddressInfo, createServer, type Server as NetServer, type Socket } from "node:net";
import { HandshakeError } from "../protocol/errors.js";
import { listHasToken } from "../protocol/handshake/header-tokens.js";
import {
  flatRawHeaders,
  type HeadLimits,
  type HttpHead,
  HttpHeadParser,
  headerKeys,
} from "../protocol/handshake/http-head-parser.js";
import { renderRejection, renderResponse, SUPPORTED_VERSIONS } from "../protocol/handshake/server-handshake.js";
import { DEFAULT_MAX_HEADER_LINE, DEFAULT_MAX_START_LINE } from "../protocol/limits.js";
import { DeadlineQueue, type QueuedEntry } from "./deadline-queue.js";
import { kSocketOwner } from "./read-path.js";
import { type TimerEntry, wheel } from "./timer-wheel.js";

export interface RawListenerOptions {
  /** Max request head bytes, line endings included (0: no total cap). Exceeded: 431. */
  maxHeaderBytes: number;
  /** Max header lines (0: no cap). Exceeded: 431. */
  maxHeaderCount: number;
  /** Time allowed from accept to a complete head, ms (0: none). Exceeded: 408. */
  handshakeTimeout: number;
  /** An upgrade request: from here on the socket belongs to the callee. */
  onUpgrade: (req: IncomingMessage, socket: Socket, head: Buffer) => void;
  /** `onUpgrade` threw (the socket has been destroyed). */
  onError: (error: unknown) => void;
  /**
   * Plain requests the server answers over HTTP (the fallback transport): when `claims(target)`
   * is true for a request's target, the socket goes to `take` with the request's bytes put back
   * in front of it (for a node:http server's `connection` event) instead of being answered 426.
   */
  plain?: { claims(target: string): boolean; take(socket: Socket): void };
}

/** How long an answered socket may take to flush before it is destroyed, ms. */
export const LINGER = 1000;

const READING = 0;
const CLOSING = 1;
const DONE = 2;

const EMPTY = Buffer.alloc(0);
/** PendingSockets kept for reuse per listener (about the heads read at once in a burst of connects). */
export const SPARES = 128;

/** RFC 6455 4.2.2 / RFC 9110 15.5.22: plain HTTP on a WebSocket endpoint. Rendered once. */
const UPGRADE_REQUIRED = renderResponse(
  426,
  {
    Upgrade: "websocket",
    Connection: "Upgrade, close",
    "Sec-WebSocket-Version": SUPPORTED_VERSIONS,
    "Content-Type": "text/plain",
  },
  "Upgrade Required: this is a WebSocket endpoint",
);
const REQUEST_TIMEOUT = renderRejection(408, {}, "Request head not received in time");

/** The socket's pending state, under the key its Connection is found by later (read-path.ts). */
const kPending = kSocketOwner;
type Tagged = Socket & { [kPending]?: PendingSocket | undefined };

/** What every PendingSocket of one listener shares. */
interface Core {
  readonly options: RawListenerOptions;
  /** The head parser's limits, one object for every socket. */
  readonly limits: HeadLimits;
  /** Head of the doubly linked list of sockets not handed over yet. */
  first: PendingSocket | null;
  count: number;
  /** The sockets reading their head, for `handshakeTimeout` (one wheel entry); null without it. */
  readonly heads: DeadlineQueue<PendingSocket> | null;
  /** PendingSockets done with their socket, parser reset, for the next ones (at most SPARES). */
  readonly spares: PendingSocket[];
}

/**
 * One accepted socket before its hand-off: parser, list nodes, its LINGER timer once answered.
 * Reused (see {@link recycle}): `socket` is null while it waits among the core's spares.
 */
class PendingSocket implements TimerEntry, QueuedEntry {
  deadline = -1;
  slot = -1;
  wheelNext: TimerEntry | null = null;
  wheelPrev: TimerEntry | null = null;
  prev: PendingSocket | null = null;
  next: PendingSocket | null = null;
  // DeadlineQueue's links (the core's queue of heads).
  expires = 0;
  older: PendingSocket | null = null;
  newer: PendingSocket | null = null;
  queued = false;
  state = READING;
  readonly core: Core;
  socket: Socket | null;
  readonly parser: HttpHeadParser;

  constructor(core: Core, socket: Socket) {
    this.core = core;
    this.socket = socket;
    this.parser = HttpHeadParser.lazy("request", core.limits);
  }

  /** LINGER is over (the wheel holds only answered sockets). */
  onTimer(): void {
    if (this.state === CLOSING) this.socket?.destroy();
  }
}

/**
 * `pending` is out of every book (forgotten: not listed, queued, scheduled nor tagged) and nothing
 * of it is used any more: it lets go of its socket and its parser's head, and waits for the next
 * socket among the spares (or is dropped when there are enough).
 */
function recycle(pending: PendingSocket): void {
  pending.socket = null;
  const spares = pending.core.spares;
  if (spares.length >= SPARES) return;
  pending.parser.reset();
  spares.push(pending);
}

/** The head did not arrive within `handshakeTimeout`. */
function headTimedOut(pending: PendingSocket): void {
  if (pending.state === READING) answer(pending, REQUEST_TIMEOUT);
}

/**
 * The 'error' listener of a socket between accept and its Connection (an unheard 'error' would
 * crash the process). The server removes it once the Connection has its own listener.
 */
export function ignoreSocketError(): void {}

function onConnection(core: Core, socket: Socket): void {
  let pending = core.spares.pop();
  if (pending === undefined) pending = new PendingSocket(core, socket);
  else {
    pending.socket = socket;
    pending.state = READING;
  }
  (socket as Tagged)[kPending] = pending;
  const first = core.first;
  pending.next = first;
  if (first !== null) first.prev = pending;
  core.first = pending;
  core.count++;
  socket.on("error", ignoreSocketError);
  socket.on("data", onData);
  socket.on("end", onEnd);
  socket.on("close", onClose);
  core.heads?.add(pending);
}

/** Take `pending` out of the listener's books (list, wheel, socket tag). */
function forget(pending: PendingSocket): void {
  if (pending.state === DONE) return;
  pending.state = DONE;
  const core = pending.core;
  if (pending.prev !== null) pending.prev.next = pending.next;
  else core.first = pending.next;
  if (pending.next !== null) pending.next.prev = pending.prev;
  pending.prev = null;
  pending.next = null;
  core.count--;
  core.heads?.remove(pending);
  wheel.cancel(pending);
  (pending.socket as Tagged)[kPending] = undefined;
}

function onData(this: Socket, chunk: Buffer): void {
  const pending = (this as Tagged)[kPending];
  if (pending === undefined || pending.state !== READING) return;
  const result = pending.parser.push(chunk);
  if (result === null) return;
  if (result instanceof HandshakeError) {
    answer(pending, renderRejection(result.status, result.headers as Record<string, string>, result.message));
    return;
  }
  const raw = flatRawHeaders(result);
  const headers = nodeHeaders(headerKeys(result), raw);
  // node:http's rule (llhttp): an Upgrade header plus "upgrade" in Connection.
  if (headers.upgrade === undefined || !listHasToken(headers.connection, "upgrade")) {
    const plain = pending.core.options.plain;
    if (plain?.claims(result.target ?? "/")) handOverPlain(pending, plain, result, raw);
    else answer(pending, UPGRADE_REQUIRED);
    return;
  }
  handOver(pending, result, raw, headers);
}

function onEnd(this: Socket): void {
  const pending = (this as Tagged)[kPending];
  // The peer finished sending before its head was complete: nobody to answer.
  if (pending !== undefined && pending.state === READING) this.destroy();
}

function onClose(this: Socket): void {
  const pending = (this as Tagged)[kPending];
  if (pending === undefined) return;
  forget(pending);
  recycle(pending);
}

function destroyOnFinish(this: Socket): void {
  this.destroy();
}

/** Answer and close: end with `response`, destroy once flushed or after LINGER ms. */
function answer(pending: PendingSocket, response: Uint8Array): void {
  pending.state = CLOSING;
  pending.core.heads?.remove(pending);
  const socket = pending.socket!;
  if (socket.destroyed || !socket.writable) {
    socket.destroy();
    return;
  }
  socket.once("finish", destroyOnFinish);
  socket.end(response);
  wheel.scheduleIn(pending, LINGER);
}

/**
 * Take the socket away from the listener for its next owner. As node:http does before its
 * 'upgrade' event: stop the flow without pausing, so that the new owner's first 'data' listener
 * resumes it; bytes arriving meanwhile wait in the stream.
 */
function release(pending: PendingSocket): Socket {
  const socket = pending.socket!;
  forget(pending);
  socket.removeListener("data", onData);
  socket.removeListener("end", onEnd);
  socket.removeListener("close", onClose);
  (socket as { readableFlowing: boolean | null }).readableFlowing = null;
  return socket;
}

function handOver(pending: PendingSocket, head: HttpHead, raw: string[], headers: IncomingHttpHeaders): void {
  const socket = release(pending);
  const rest = pending.parser.remainder();
  const bodyHead =
    rest.length === 0 ? EMPTY : Buffer.isBuffer(rest) ? rest : Buffer.from(rest.buffer, rest.byteOffset, rest.length);
  const req = toIncomingMessage(socket, head, raw, headers);
  const options = pending.core.options;
  recycle(pending);
  try {
    options.onUpgrade(req, socket, bodyHead);
  } catch (error) {
    socket.destroy();
    options.onError(error);
  }
}

/**
 * Give a plain request's socket to node:http: the head is rendered back (request line and raw
 * header lines, as received) and put in front of the bytes that followed it, so the HTTP server
 * parses the request, and the next ones on a kept-alive connection, from the start.
 */
function handOverPlain(
  pending: PendingSocket,
  plain: NonNullable<RawListenerOptions["plain"]>,
  head: HttpHead,
  raw: readonly string[],
): void {
  const socket = release(pending);
  let text = `${head.method} ${head.target} HTTP/${head.httpVersion}\r\n`;
  for (let i = 0; i < raw.length; i += 2) text += `${raw[i]}: ${raw[i + 1]}\r\n`;
  const rest = pending.parser.remainder();
  socket.unshift(Buffer.concat([Buffer.from(`${text}\r\n`, "latin1"), rest]));
  const options = pending.core.options;
  recycle(pending);
  try {
    plain.take(socket);
  } catch (error) {
    socket.destroy();
    options.onError(error);
  }
}

/** The parsed head as node:http would have delivered it (`raw`, `headers`: its lines in node's two forms). */
function toIncomingMessage(
  socket: Socket,
  head: HttpHead,
  raw: string[],
  headers: IncomingHttpHeaders,
): IncomingMessage {
  const req = new IncomingMessage(socket);
  const fields = req as unknown as NodeFields;
  req.method = head.method ?? "GET";
  req.url = head.target ?? "/";
  const version = head.httpVersion;
  req.httpVersion = version;
  req.httpVersionMajor = version.charCodeAt(0) - 0x30;
  req.httpVersionMinor = version.charCodeAt(2) - 0x30;
  // The parser's own array, handed over (no copy), with its length: node's parser sets both this
  // way, and `headersDistinct` is made from that count.
  fields._addHeaderLines(raw, raw.length);
  req.headers = headers;
  req.complete = true;
  fields.upgrade = true;
  // As node:http leaves an upgrade request (lib/_http_server.js, lib/_http_common.js).
  fields.joinDuplicateHeaders = null;
  fields.parser = null;
  req.push(null); // no body: node:http ends an upgrade request's stream too
  return req;
}

/** node:http's fields of an IncomingMessage that its type does not declare. */
interface NodeFields {
  upgrade: boolean;
  joinDuplicateHeaders: boolean | null;
  parser: null;
  _addHeaderLines(raw: string[], count: number): void;
}

/** node:http (lib/_http_incoming.js matchKnownFields): a repeat of these is dropped. */
const FIRST_WINS = new Set([
  "age",
  "authorization",
  "content-length",
  "content-type",
  "etag",
  "expires",
  "from",
  "host",
  "if-modified-since",
  "if-unmodified-since",
  "last-modified",
  "location",
  "max-forwards",
  "proxy-authorization",
  "referer",
  "retry-after",
  "server",
  "user-agent",
]);

/**
 * What `req.headers` objects are made with: plain objects as `{}` makes them (prototype
 * Object.prototype, so `constructor` is Object; own enumerable data properties in insertion order),
 * but V8 sizes a constructor's objects to the properties the first ones received (slack tracking):
 * a usual request's headers fit in the object, where a `{}` holds 4 and puts the rest in a separate
 * array (~40 bytes more per connection that keeps its request). Named `Object`: V8 takes the class
 * name debuggers and heap snapshots show from the constructor, and `{}` shows as Object.
 */
// biome-ignore lint/complexity/useArrowFunction: a constructor, named Object by its key (a name no bundler renames)
const HeaderFields = { Object: function (): void {} }.Object as unknown as new () => Record<string, string | string[]>;
HeaderFields.prototype = Object.prototype;

/**
 * `req.headers` with node:http's rules, from each line's lowercased name (`keys`) and the flat
 * lines (`raw`): a repeated field joined with ", " (cookie: "; "), except the FIRST_WINS fields,
 * whose repeats are dropped; set-cookie an array. Plain assignments into a plain object, as
 * node:http does (so a `__proto__` header is ignored there too).
 */
function nodeHeaders(keys: readonly string[], raw: readonly string[]): IncomingHttpHeaders {
  const out = new HeaderFields();
  for (let i = 0; i < keys.length; i++) {
    const name = keys[i];
    const value = raw[2 * i + 1];
    const previous = out[name];
    if (previous === undefined) out[name] = name === "set-cookie" ? [value] : value;
    else if (name === "set-cookie") {
      if (Array.isArray(previous)) previous.push(value);
      else out[name] = [value];
    } else if (!FIRST_WINS.has(name)) {
      out[name] = typeof previous === "string" ? `${previous}${name === "cookie" ? "; " : ", "}${value}` : value;
    }
  }
  return out;
}

/** The standalone server's listener. See the module comment. */
export class RawListener {
  /** The underlying `net` server ('listening' and 'error' events, `listening`). */
  readonly server: NetServer;
  readonly #core: Core;

  constructor(options: RawListenerOptions) {
    const { maxHeaderBytes, maxHeaderCount } = options;
    const limits: HeadLimits = {
      maxStartLine: DEFAULT_MAX_START_LINE,
      // node:http has one cap, the total: a single header line may use all of it.
      maxHeaderLine: maxHeaderBytes > 0 ? maxHeaderBytes : DEFAULT_MAX_HEADER_LINE,
      maxHeaderCount,
      maxHeaderBytes,
      // CRLF only, as node:http's llhttp: a front proxy that splits lines differently must not
      // see other headers than we do (request smuggling).
      allowBareLf: false,
    };
    const timeout = options.handshakeTimeout;
    const heads = timeout > 0 ? new DeadlineQueue<PendingSocket>(timeout, headTimedOut) : null;
    const core: Core = { options, limits, first: null, count: 0, heads, spares: [] };
    this.#core = core;
    // allowHalfOpen and noDelay as node:http sets them, so upgraded sockets behave the same.
    this.server = createServer({ allowHalfOpen: true, noDelay: true }, (socket) => onConnection(core, socket));
  }

  /** Sockets accepted and not handed over (or closed) yet. */
  get pendingCount(): number {
    return this.#core.count;
  }

  listen(port: number, host?: string): void {
    this.server.listen(port, host);
  }

  address(): AddressInfo | string | null {
    return this.server.address();
  }

  /** Stop accepting. Sockets already accepted go on (see destroyPending). */
  close(): void {
    this.server.close();
  }

  /** Destroy every socket accepted and not handed over yet. */
  destroyPending(): void {
    let pending = this.#core.first;
    while (pending !== null) {
      const next = pending.next;
      const socket = pending.socket!;
      forget(pending);
      recycle(pending);
      socket.destroy();
      pending = next;
    }
    this.#core.heads?.clear();
  }
}
