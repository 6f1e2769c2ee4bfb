/**
 * One WebSocket connection in either role: the host of a sans-I/O {@link WebSocketEngine} (it
 * implements {@link EngineHost}) over a Duplex transport ({@link Transport}: a `net.Socket`, a
 * `tls.TLSSocket`, an HTTP/2 stream, a virtual one).
 *
 * Contract:
 * - Bytes from the transport (read-path.ts) go to the engine as they arrive; its output leaves in
 *   ONE write per turn, or after the read that queued 64 KiB of it (connection-output.ts,
 *   flush-queue.ts). The engine is made when first needed (connection-engine.ts), dropped again by
 *   a plain server connection at rest after a heartbeat; events reach listeners via connection-events.ts.
 * - `send` reports "written" (nothing queued in the transport's buffer), "buffered" (queued,
 *   `drain` follows) or "dropped" (not sent: closing, or the backpressure policy). With the
 *   "wait" policy a send above `maxBufferedAmount` returns a promise resolved on drain.
 * - The engine's decisions arrive as calls: `awaitClose` arms the close timeout, `closeTransport`
 *   ends the transport (a server at once, a client after a grace delay).
 * - Timers (heartbeat, pong, idle, close) live on the process-wide timer wheel: one entry per
 *   connection, re-armed lazily; activity only stores a timestamp (connection-clock.ts).
 * - `close` (and `closed`) mean what RFC 6455 7.1.1-7.1.4 calls closed: the closing handshake
 *   is over (or the connection failed), our close frame has been handed to the kernel and the
 *   TCP connection is closed, on both sides (connection-close.ts). So a program may exit as soon
 *   as `closed` resolves. Until then `readyState` is CLOSING. The server closes TCP first
 *   (7.1.1); the client waits for it, at most `closeTimeout` ms.
 * - Never crashes the process: peer errors become close frames (the engine's job); a user
 *   handler that throws is reported as `error` and closes only this connection with 1011;
 *   `error` has a default listener; `closed` always resolves.
 */
import type { IncomingHttpHeaders } from "node:http";
import type { Readable } from "node:stream";
import { InvalidStateError, ProtocolError } from "../protocol/errors.js";
import { SERVER_HEARTBEAT_PING } from "../protocol/heartbeat.js";
import { PreparedMessage } from "../protocol/prepared-message.js";
import type { EngineEvent, MessageWriter, Role, WebSocketEngine } from "../protocol/types.js";
import {
  CLOCK_BITS,
  clockArm,
  clockFire,
  clockFlags,
  clockHeard,
  clockResume,
  clockTransportClosing,
  FAILED,
  FINISH,
  HEARTBEAT,
  PAUSED,
  TRACK_MESSAGE,
} from "./connection-clock.js";
import { madeEngine, type PendingEngine, pendingEngine, receiveLent, startEngine } from "./connection-engine.js";
import { deliver, deliverText } from "./connection-events.js";
import { afterQueued, anyChunks, ConnectionOutput, sendOn, sizeOf, streamMessage } from "./connection-output.js";
import { initialRare, RareState, transportClosing } from "./connection-rare.js";
import {
  type CloseInfo,
  type ConnectionEvents,
  type ConnectionInit,
  type ConnectionRequest,
  keptOrigin,
  keptRequest,
  type SendData,
  type SendResult,
  type SendReturn,
  type Transport,
  usualHeaders,
} from "./connection-types.js";
import { messagePool, ownMessage } from "./lent-messages.js";
import { messageIterator } from "./message-iterator.js";
import type { BackpressurePolicy, ImmediatePolicy } from "./options.js";
import { toBytes } from "./output-buffers.js";
import { attachTransport, deliverHead, detachData, onceFlushed, pauseReading, resumeReading } from "./read-path.js";
import { emitSafe, ShapedEmitter } from "./shaped-emitter.js";
import { type TimerEntry, wheel } from "./timer-wheel.js";
import type { EmitterBase, TypedEvents } from "./typed-events.js";

export type { ConnectionEvents } from "./connection-types.js";

const OPEN = 1;
const EMPTY = new Uint8Array(0);
function noop(): void {}
const is = (c: { flags: number }, bit: number): boolean => (c.flags & bit) !== 0; // c.flags has `bit`
// `flags` bits of the connection's own (the clock's come first: connection-clock.ts).
const STREAMING = CLOCK_BITS; // a stream() message is being sent
const FINISHED = CLOCK_BITS << 1; // the transport is gone ([FINISH])
const TEXT_AS_BUFFER = CLOCK_BITS << 2; // ConnectionInit `textAsBuffer`
const PEER_ENDED = CLOCK_BITS << 3; // the transport's readable side ended: a half-open transport is ended once our output is out
const HEAD_PENDING = CLOCK_BITS << 4; // frames that came with the handshake wait for the next turn (deliverHead)
const RESTS = CLOCK_BITS << 5; // a plain server connection: its engine is dropped when at rest after a heartbeat (#rest)
const REST_CHECK = CLOCK_BITS << 6; // a heartbeat ping went out: the reads after it look for rest
const CLIENT = CLOCK_BITS << 7; // the client role (else the server's)

// biome-ignore lint/correctness/noUnusedVariables: P must match the class's type parameters to merge
export interface Connection<out P extends BackpressurePolicy = ImmediatePolicy> extends TypedEvents<ConnectionEvents> {}

/** A connection under any backpressure policy (what the server and client code hold). */
export type AnyConnection = Connection<BackpressurePolicy>;

/**
 * `P` is the connection's backpressure policy as far as the types know (the server's or client's
 * `backpressure` option): it decides whether `send` may return a promise ({@link SendReturn}).
 * A connection is also the engine's host (EngineHost), the timer wheel's entry (TimerEntry), the
 * clock's state (ClockState) and the read path's host, by shape: those members are tagged
 * internal, so they are absent from the published types.
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the interface adds the typed event methods (typed-events.ts)
export class Connection<out P extends BackpressurePolicy = ImmediatePolicy> extends (ShapedEmitter as EmitterBase) {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;

  /** What `authenticate` returned (server role); free for the application otherwise. */
  data: unknown;
  /** The server role's `request` (its url until first read: see #headers), the client role's `url`. */
  #origin: ConnectionRequest | string | undefined;
  #headers: IncomingHttpHeaders | null; // a usual request's, until `request` is made of them (usualHeaders)

  // The timer wheel's fields (TimerEntry), then the clock's (ClockState; `flags` also holds ours).
  /** @internal */ deadline = -1;
  /** @internal */ slot = -1;
  /** @internal */ wheelNext: TimerEntry | null = null;
  /** @internal */ wheelPrev: TimerEntry | null = null;
  /** @internal */ flags: number;
  /** @internal */ lastReceived: number;
  /** @internal */ lastMessage: number;

  /** Made when first needed for a plain server connection, dropped when at rest after a heartbeat (#rest); else at once. */
  #engine: WebSocketEngine | null = null;
  /** How to make the engine (and its protocol), and the options: madeEngine's once made unless RESTS. */
  #setup: PendingEngine;
  readonly #socket: Transport;
  /** The write path (connection-output.ts); made with the first output, dropped again at rest (see #rest). */
  #output: ConnectionOutput | null = null;
  /** The close report, closing times, rate limit, abort hook, address (connection-rare.ts); made when first needed. */
  #rare: RareState | null;
  /** @internal The server list's hook. */ onFinish: ((conn: AnyConnection) => void) | undefined;
  /** @internal Server list links. */ clientPrev: AnyConnection | null = null;
  /** @internal */ clientNext: AnyConnection | null = null;

  constructor(init: ConnectionInit) {
    super();
    this.on("error", noop); // a default listener: an unheard 'error' must never crash the process
    const client = init.role === "client";
    this.#headers = client ? null : usualHeaders(init.request);
    this.#origin = client ? init.url : keptOrigin(init.request, this.#headers);
    this.data = init.data;
    const socket = init.socket;
    this.#socket = socket;
    const now = wheel.now;
    this.#rare = initialRare(init, now);
    const hybi = init.engineVersion === undefined || init.engineVersion === "hybi-13";
    // A plain server connection starts OPEN with nothing to say: its engine can wait. Others (a
    // client, extensions, the hixie drafts, frames that came with the handshake) start with theirs.
    const plain = init.role === "server" && hybi && init.extensions.length === 0;
    const lazy = plain && (init.head === undefined || init.head.byteLength === 0);
    // Ready before the engine exists: an engine may call its host while it is being built.
    const bits = (init.textAsBuffer ? TEXT_AS_BUFFER : 0) | (lazy ? RESTS : 0) | (client ? CLIENT : 0);
    this.flags = clockFlags(init.options, hybi) | bits;
    this.lastReceived = now;
    this.lastMessage = now;
    this.#setup = lazy ? pendingEngine(init) : init;
    if (!lazy) Connection.#eng(this);
    if (socket.writableLength > 0) this.#output = new ConnectionOutput(this, socket, true); // the 101 waits
    attachTransport(socket, this, init.dataEvents !== true);
    Connection.#arm(this);
    const head = init.head;
    if (head !== undefined && head.byteLength > 0) {
      this.flags |= HEAD_PENDING;
      deliverHead(socket, this, head);
    }
  }

  /** The engine, created now if it was waiting (see #engine); CLOSED (silently) if the transport ended first. */
  static #eng(c: AnyConnection): WebSocketEngine {
    if (c.#engine !== null) return c.#engine;
    const engine = startEngine(c, c.#setup, c.role, !is(c, TEXT_AS_BUFFER));
    c.#engine = engine;
    if (!is(c, RESTS)) c.#setup = madeEngine(c.#setup.options); // not `init` (socket, request...)
    if (c.#output?.pongsHeld === true) engine.holdPongs?.(true);
    if (c.#rare?.info !== undefined) engine.receiveEof(); // the close is reported already: nothing happens twice
    return engine;
  }

  /** The rare state (connection-rare.ts), made now if there is none. */
  static #more(c: AnyConnection): RareState {
    return (c.#rare ??= new RareState());
  }

  /** The transport ended: the engine's receiveEof, or what a waiting one would do (1006, RFC 6455 7.1.5) without it. */
  static #receiveEof(c: AnyConnection): void {
    if (c.#engine !== null) c.#engine.receiveEof();
    else if (!transportClosing(c.#rare)) {
      c.closeTransport(true);
      Connection.#onClose(c, 1006, "", false);
    }
  }

  /** The engine's readyState; OPEN while a waiting engine does not exist yet. */
  static #state(c: AnyConnection): number {
    return c.#engine !== null ? c.#engine.readyState : c.#rare?.info === undefined ? OPEN : Connection.CLOSED;
  }

  /** Resolves once the connection is over: closing handshake done (or failed), our close frame and TCP closed. */
  get closed(): Promise<CloseInfo> {
    return Connection.#more(this).promise;
  }

  /** The upgrade request's method, url, HTTP version and headers (server role); see {@link ConnectionRequest}. */
  get request(): ConnectionRequest | undefined {
    if (this.#headers === null) return is(this, CLIENT) ? undefined : (this.#origin as ConnectionRequest | undefined);
    const request = keptRequest(this.#origin as string, this.#headers);
    this.#headers = null;
    return (this.#origin = request);
  }
  /** The URL connected to (client role). */
  get url(): string | undefined {
    return is(this, CLIENT) ? (this.#origin as string | undefined) : undefined;
  }
  get role(): Role {
    return is(this, CLIENT) ? "client" : "server";
  }

  /** CONNECTING, OPEN, CLOSING (also after the closing handshake, until TCP is closed), CLOSED. */
  get readyState(): number {
    const state = Connection.#state(this);
    return state === Connection.CLOSED && this.#rare?.emitted !== true ? Connection.CLOSING : state;
  }
  get protocol(): string {
    return this.#engine !== null ? this.#engine.protocol : this.#setup.protocol;
  }
  get extensions(): string {
    return this.#engine !== null ? this.#engine.extensions : this.#setup.extensionsHeader;
  }
  /** "hybi-13" (RFC 6455 framing, also for its drafts hybi-07/08), or "hixie-75" / "hixie-76". */
  get version(): string {
    return this.#engine?.version ?? "hybi-13";
  }
  /** Bytes accepted by send() and not yet handed to the kernel: ours plus Node's socket buffer. */
  get bufferedAmount(): number {
    return (this.#output?.size ?? 0) + this.#socket.writableLength;
  }
  /** Messages dropped by the "drop" policy so far. */
  get droppedCount(): number {
    return this.#output?.dropped ?? 0;
  }
  /** The peer's address, read from the transport when first asked (as Node's own: undefined once it closed unread). */
  get remoteAddress(): string | undefined {
    return (Connection.#more(this).remoteAddress ??= this.#socket.remoteAddress ?? "") || undefined;
  }
  /** The underlying transport, usually a `net.Socket` (for diagnostics; do not write to it). */
  get socket(): Transport {
    return this.#socket;
  }

  /** Send a message. See the module comment for the results, and {@link SendReturn} for the type. */
  send(data: SendData, options?: { binary?: boolean; compress?: boolean }): SendReturn<P>;
  send(
    data: SendData,
    options?: { binary?: boolean; compress?: boolean },
  ): SendResult | Promise<"written" | "buffered"> {
    const engine = Connection.#eng(this);
    if (engine.readyState !== OPEN) {
      if (engine.readyState === 0) throw new InvalidStateError("send: the connection is not open yet");
      return "dropped";
    }
    const message = typeof data === "string" || data instanceof PreparedMessage ? data : toBytes(data);
    const admitted = Connection.#admit(this, sizeOf(message), this.#setup.options.backpressure);
    if (admitted === "dropped" || !sendOn(this, engine, message, options)) return "dropped";
    if (admitted === "wait") return Connection.#out(this).wait();
    return this.#socket.writableLength === 0 ? "written" : "buffered";
  }

  /** Send a broadcast; never waits: above `maxBufferedAmount` it is dropped (counted, `dropped` event), or "close" closes. */
  sendPrepared(message: PreparedMessage): SendResult {
    const engine = this.#engine; // none, or no write path yet: #firstPrepared makes them off this path (bcast13)
    const policy = this.#setup.options.backpressure === "close" ? "close" : "drop";
    if (engine === null || this.#output === null) return Connection.#firstPrepared(this, message, policy);
    if (engine.readyState !== OPEN) return "dropped";
    if (Connection.#admit(this, message.payload.byteLength, policy) === "dropped") return "dropped";
    if (messagePool.out === 0 ? !engine.sendPrepared(message) : !sendOn(this, engine, message)) return "dropped"; // lent
    return this.#output?.needDrain === true && this.#socket.writableLength !== 0 ? "buffered" : "written";
  }

  static #firstPrepared(c: AnyConnection, m: PreparedMessage, p: "close" | "drop"): SendResult {
    if (Connection.#state(c) !== OPEN || Connection.#admit(c, m.payload.byteLength, p) === "dropped") return "dropped";
    return Connection.#eng(c) && Connection.#out(c) && c.sendPrepared(m); // admitted: no engine for a dropped one
  }

  /** Backpressure before a send of `size` bytes: "send", "wait", or "dropped" (by "drop", counted; by "close", 1008). */
  static #admit(c: AnyConnection, size: number, policy: "close" | "drop" | "wait"): "send" | "wait" | "dropped" {
    const verdict = c.#output === null ? "send" : c.#output.admit(size, policy, c.#setup.options.maxBufferedAmount);
    if (verdict !== "fail") return verdict;
    Connection.#eng(c).fail(new ProtocolError("POLICY_VIOLATION", "send buffer full"));
    return "dropped";
  }

  /**
   * Send one message fragment by fragment from an async iterable or a Readable, waiting for
   * `drain` whenever the socket's buffer is above `maxBufferedAmount` (or Node's high-water mark).
   * The message is binary unless `binary: false` or the first chunk is a string.
   */
  async stream(source: AsyncIterable<Uint8Array | string> | Readable, options?: { binary?: boolean }): Promise<void> {
    if (Connection.#state(this) !== OPEN) throw new InvalidStateError("stream: the connection is not open");
    if (is(this, STREAMING)) throw new InvalidStateError("stream: another message is being streamed");
    this.flags |= STREAMING;
    try {
      const limit = Math.min(this.#setup.options.maxBufferedAmount || Infinity, 1024 * 1024);
      await streamMessage(this, source, options?.binary, limit, () =>
        is(this, FINISHED) ? null : Connection.#out(this).wait(),
      );
    } finally {
      this.flags &= ~STREAMING;
    }
  }

  /**
   * Start a message sent fragment by fragment (RFC 6455 5.4): each `write` sends one frame, `end` the final one. Other
   * sends wait until it ends. A closed connection gives a writer whose calls return false.
   */
  startMessage(kind: "text" | "binary", options?: { compress?: boolean }): MessageWriter {
    return anyChunks(this, Connection.#eng(this).startMessage(kind, options));
  }

  /**
   * Run `cb` once everything sent so far has been handed to the kernel (`cb()`), or with the
   * error when the socket is gone first: the hook behind ws's `send(data, cb)` callbacks. While
   * compression runs, that waits until everything sent so far is framed.
   */
  afterWrite(cb: (error?: Error | null) => void): void {
    const engine = this.#engine;
    if (engine?.afterFramed !== undefined) engine.afterFramed(() => afterQueued(this.#output, this.#socket, cb));
    else afterQueued(this.#output, this.#socket, cb);
  }

  /** Send a ping; `cb` runs when the matching pong arrives. */
  ping(data?: Uint8Array | string, cb?: () => void): boolean {
    return Connection.#eng(this).ping(ownMessage(data ?? EMPTY), cb);
  }

  pong(data?: Uint8Array | string): boolean {
    return Connection.#eng(this).pong(ownMessage(data ?? EMPTY));
  }

  /** Start the closing handshake (RFC 6455 section 7.1.2). Throws on an invalid code or reason. */
  close(code?: number, reason?: string): void {
    if (is(this, FINISHED)) return;
    Connection.#eng(this).close(code, reason);
  }

  /** Destroy the socket now, without a closing handshake (close event: 1006). */
  terminate(): void {
    if (is(this, FINISHED)) return;
    this.#output?.clear();
    this.destroyTransport();
    Connection.#receiveEof(this);
  }

  /**
   * Stop reading from the transport until `resume()`: what the peer sends waits in the transport (TCP's receive
   * window, HTTP/2 flow control) and its sends back up in turn. The heartbeat and the idle timeout are suspended
   * meanwhile (a pong cannot be read while paused) and start afresh on resume. Closing resumes reading.
   */
  pause(): void {
    if (is(this, PAUSED) || is(this, FINISHED)) return;
    this.flags |= PAUSED;
    pauseReading(this.#socket);
    Connection.#arm(this);
  }

  /** Read from the transport again (see {@link pause}). */
  resume(): void {
    if (!is(this, PAUSED)) return;
    clockResume(this, wheel.now);
    if (!is(this, FINISHED) && !is(this, HEAD_PENDING)) resumeReading(this.#socket);
    Connection.#arm(this);
  }

  /** Whether reading is paused by {@link pause}. */
  get isPaused(): boolean {
    return is(this, PAUSED);
  }

  /**
   * Fail the connection because of `error` (RFC 6455 7.1.7): a ProtocolError closes with its
   * close code (docs/errors.md's table) and message, anything else with 1011 and no reason.
   * For servers and policies; `close` is for ending a connection that did nothing wrong.
   */
  fail(error: Error): void {
    if (is(this, FINISHED)) return;
    Connection.#eng(this).fail(error);
  }

  /** Messages as an async iterator; ends when the connection closes. */
  [Symbol.asyncIterator](): AsyncIterableIterator<string | Buffer> {
    return messageIterator(this, this.#rare?.emitted === true);
  }

  // ---- write path (connection-output.ts) -----------------------------------------------

  /** The write path, created on first use. */
  static #out(c: AnyConnection): ConnectionOutput {
    return (c.#output ??= new ConnectionOutput(c, c.#socket, false));
  }

  /** @internal Write this turn's output now rather than at the end of the turn. */
  flushNow(): void {
    this.#output?.flushNow();
  }

  /** @internal Called by the write path: the engine holds its automatic pongs while the socket is backed up. */
  holdPongs(hold: boolean): void {
    this.#engine?.holdPongs?.(hold);
  }

  /**
   * @internal Called by the write path after a flush: end a transport whose end waited for the
   * output: a half-open one the peer ended, or one this side closes first (a server always, RFC
   * 6455 7.1.1; a client when the connection failed, 7.1.7).
   */
  endsAfterFlush(): boolean {
    return is(this, PEER_ENDED) || (transportClosing(this.#rare) && (!is(this, CLIENT) || is(this, FAILED)));
  }

  // ---- the engine's host (EngineHost) ------------------------------------------------------

  /** @internal Called by the engine: bytes for the transport (`shared`: a prepared message's frame, FrameOutput). */
  output(chunk: Uint8Array, shared?: boolean): void {
    if (shared !== true && chunk.byteLength === 0) return;
    const queue = (this.#output ?? Connection.#out(this)).queue(); // one #out: small, inlined (bcast13)
    shared === true ? queue.pushShared(chunk) : queue.push(chunk);
  }

  /** @internal Called by the engine: a frame it wrote into the output arena. */
  outputRange(bytes: Uint8Array, start: number, end: number): void {
    Connection.#out(this).queue().pushRange(bytes, start, end);
  }

  /** @internal Called by the engine: an event (delivered to the listeners by connection-events.ts). */
  dispatch(event: EngineEvent): void {
    const type = event.type;
    if (type === "close") Connection.#onClose(this, event.code, event.reason, event.wasClean);
    else {
      // (Not a pong: its event may come behind an extension's transform, after a newer ping; clockHeard ends the wait.)
      if ((type === "text" || type === "binary") && is(this, TRACK_MESSAGE)) this.lastMessage = wheel.now;
      deliver(this, event, is(this, TEXT_AS_BUFFER), this.#rare?.bucket); // (lent messages: lent-messages.ts)
    }
  }

  /** @internal The engine's text message as its string (not with `textAsBuffer`). */ dispatchText(data: string): void {
    deliverText(this, data, is(this, TRACK_MESSAGE));
  }

  /** @internal Called by the engine: it sent its close frame; the peer has `closeTimeout` to answer. */
  awaitClose(): void {
    const rare = Connection.#more(this);
    if (rare.closeStartedAt !== -1) return;
    if (is(this, PAUSED)) this.resume(); // the peer's close frame must be read
    rare.closeStartedAt = wheel.now;
    Connection.#arm(this);
  }

  /**
   * @internal Called by the engine: the connection is over; end the transport: a server once this turn's output is
   * written (RFC 6455 7.1.1), a client only if it `failed` (7.1.7), else the server does, within `closeTimeout`.
   */
  closeTransport(failed = false): void {
    if (transportClosing(this.#rare)) return;
    const rare = Connection.#more(this);
    const socket = this.#socket;
    const ending = !socket.destroyed && (!is(this, CLIENT) || failed);
    clockTransportClosing(this, rare, wheel.now, failed, ending);
    if (socket.destroyed) this[FINISH]();
    else if (ending) {
      if (this.#output?.dirty !== true && !socket.writableEnded) socket.end();
      if (failed && socket.writableFinished) rare.flushedAt = wheel.now;
      else if (failed) onceFlushed(socket);
    }
    Connection.#arm(this);
  }

  /** @internal The failed connection's close frame and FIN are written out: its linger starts. */
  transportFlushed(): void {
    Connection.#more(this).flushedAt = wheel.now;
    Connection.#arm(this);
  }

  /** The engine's close (handshake over, or failed): close TCP; `close` follows when it is closed. */
  static #onClose(c: AnyConnection, code: number, reason: string, wasClean: boolean): void {
    const report = Connection.#more(c);
    if (report.info !== undefined) return;
    report.info = { code, reason, wasClean };
    c.#output?.releaseWaiters("buffered");
    // RFC 6455 7.1.4: closed once the transport is closed too (closeTransport began closing it).
    if (is(c, FINISHED)) report.emit(c);
  }

  // ---- the transport's events (through read-path.ts's shared listeners) ---------------------

  /** @internal The frames that came with the handshake (read-path.ts deliverHead): true when reading may resume. */
  transportHead(head: Uint8Array): boolean {
    this.flags &= ~HEAD_PENDING;
    if (is(this, FINISHED)) return false;
    this.transportData(head);
    return !is(this, PAUSED);
  }

  /** @internal Bytes from the transport. */
  transportData(chunk: Uint8Array): void {
    clockHeard(this);
    Connection.#eng(this).receiveData(chunk);
    if (is(this, REST_CHECK)) Connection.#rest(this);
  }

  /** @internal `bytes[0..length)` read into the shared read buffer, lent for this call (read-path.ts, TransportOwner). */
  transportLent(bytes: Uint8Array, length: number): number {
    clockHeard(this);
    const payload = receiveLent(Connection.#eng(this), bytes, length);
    if (is(this, REST_CHECK)) Connection.#rest(this);
    return payload;
  }

  /** After a heartbeat: drop the engine once at rest, and the write path if it rests too (#eng makes new ones). */
  static #rest(c: AnyConnection): void {
    const engine = c.#engine;
    if (engine !== null && engine.readyState === OPEN && engine.atRest !== undefined) {
      if (!engine.atRest()) return;
      c.#engine = null;
      if (c.#output?.resting === true) c.#output = null;
    }
    c.flags &= ~REST_CHECK;
  }

  /** @internal Where the next read should land (read-path.ts): the engine's in-place target, if any. */
  readTarget(): Uint8Array | null {
    return this.#engine?.readTarget?.() ?? null;
  }

  /** @internal The readable side ended: a half-open transport (HTTP/2 END_STREAM, RFC 8441 6) is ended after our output. */
  transportEnd(): void {
    Connection.#receiveEof(this);
    const socket = this.#socket;
    if (socket.allowHalfOpen && !socket.writableEnded) {
      this.flags |= PEER_ENDED;
      if (this.#output?.dirty !== true) socket.end();
    }
  }

  /** @internal The transport is closed. */
  transportClose(): void {
    Connection.#receiveEof(this);
    this[FINISH]();
  }

  /** @internal The transport failed (ECONNRESET and friends): `close` follows and reports 1006. */
  transportError(error: Error): void {
    if (!is(this, FINISHED)) emitSafe(this, "error", error);
  }

  /** @internal The transport's write buffer drained. */
  transportDrain(): void {
    this.#output?.drained();
  }

  /** @internal The transport is gone: stop timers, report the close, forget the connection. */
  [FINISH](): void {
    if (is(this, FINISHED)) return;
    this.flags |= FINISHED;
    wheel.cancel(this);
    detachData(this.#socket);
    // Without a close from the engine yet, EOF makes one (1006, or the handshake's result).
    if (this.#rare?.info === undefined) Connection.#receiveEof(this);
    this.onFinish?.(this); // off the server's list first: 'close' listeners see `clients` without it (as ws)
    this.#rare?.emit(this);
  }

  /** @internal End the transport abnormally: destroy it, or the host's way (ConnectionInit `abortTransport`). */
  destroyTransport(): void {
    const abort = this.#rare?.abort;
    if (abort === undefined) this.#socket.destroy();
    else abort(this.#socket);
  }

  // ---- timers -----------------------------------------------------------------------------

  static #arm(c: AnyConnection): void {
    if (!is(c, FINISHED)) clockArm(c, c.#rare, c.#setup.options, Connection.#state(c) === OPEN);
  }

  /** @internal Called by the timer wheel (TimerEntry): do what is due (connection-clock.ts), then wait for what is next. */
  onTimer(): void {
    if (is(this, FINISHED)) return;
    const open = Connection.#state(this) === OPEN;
    if (clockFire(this, this.#rare, this.#setup.options, wheel.now, open)) Connection.#arm(this);
  }

  /** @internal The heartbeat (clockFire): without an engine, the frame its ping() would write; then reads look for rest. */
  [HEARTBEAT](): void {
    if (this.#engine === null) this.output(SERVER_HEARTBEAT_PING);
    else this.#engine.ping(EMPTY);
    if (is(this, RESTS)) this.flags |= REST_CHECK;
  }
}
