/**
 * One WebSocket connection in either role: the host of a sans-I/O {@link WebSocketEngine} (it
 * implements {@link EngineHost}) over a Duplex transport ({@link Transport}: a `net.Socket`, a
 * `tls.TLSSocket`, an HTTP/2 stream, a virtual one).
 *
 * Contract:
 * - Bytes from the transport go to `engine.receiveData` as they arrive; the engine's output is
 *   collected and leaves in ONE write per event-loop turn (see flush-queue.ts).
 * - `send` reports "written" (nothing queued in the transport's buffer), "buffered" (queued,
 *   `drain` follows) or "dropped" (not sent: closing, or the backpressure policy). With the
 *   "wait" policy a send above `maxBufferedAmount` returns a promise resolved on drain.
 * - The engine's decisions arrive as calls: `awaitClose` arms the close timeout, `closeTransport`
 *   ends the transport (a server at once, a client after a grace delay).
 * - Timers (heartbeat, pong, idle, close) live on the process-wide timer wheel: one entry per
 *   connection, re-armed lazily; activity only stores a timestamp.
 * - `close` (and `closed`) mean what RFC 6455 7.1.1-7.1.4 calls closed: the closing handshake
 *   is over (or the connection failed), our close frame has been handed to the kernel and the
 *   TCP connection is closed, on both sides. So a program may exit as soon as `closed` resolves:
 *   nothing it still owes the peer is left in a buffer. Until then `readyState` is CLOSING.
 *   The server closes TCP first (7.1.1); the client waits for it, at most `closeTimeout` ms.
 * - Never crashes the process: peer errors become close frames (the engine's job); a user
 *   handler that throws is reported as `error` and closes only this connection with 1011;
 *   `error` has a default listener; `closed` always resolves.
 */
import type { Readable } from "node:stream";
import { InvalidStateError, ProtocolError } from "../protocol/errors.js";
import { PreparedMessage } from "../protocol/prepared-message.js";
import type { EngineEvent, MessageWriter, Role, WebSocketEngine } from "../protocol/types.js";
import { ConnectionClock, Due } from "./connection-clock.js";
import type {
  CloseInfo,
  ConnectionInit,
  ConnectionRequest,
  PendingEngine,
  SendData,
  SendResult,
  SendReturn,
  Transport,
} from "./connection-types.js";
import { connectionRequest, pendingEngine } from "./connection-types.js";
import { markDirty } from "./flush-queue.js";
import { messageIterator } from "./message-iterator.js";
import { decodeUtf8, isUtf8, masker } from "./native.js";
import type { BackpressurePolicy, ImmediatePolicy, ResolvedConnectionOptions } from "./options.js";
import { asBuffer, outputArena, slabAlloc, toBytes } from "./output-buffers.js";
import { OutputQueue } from "./output-queue.js";
import { TokenBucket } from "./rate-limiter.js";
import { attachTransport, detachData, onceFlushed, pauseReading, resumeReading } from "./read-path.js";
import { emitSafe, emitTwo, ShapedEmitter } from "./shaped-emitter.js";
import { wheel } from "./timer-wheel.js";
import type { EmitterBase, TypedEvents } from "./typed-events.js";

const OPEN = 1;
const EMPTY = new Uint8Array(0);
const EMPTY_BUFFER = Buffer.alloc(0);
function noop(): void {}

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

// biome-ignore lint/correctness/noUnusedVariables: P must match the class's type parameters to merge
export interface Connection<out P extends BackpressurePolicy = ImmediatePolicy> extends TypedEvents<ConnectionEvents> {}

/** A connection under any backpressure policy (what the server and client code hold). */
export type AnyConnection = Connection<BackpressurePolicy>;

/**
 * `P` is the connection's backpressure policy as far as the types know (the server's or client's
 * `backpressure` option): it decides whether `send` may return a promise ({@link SendReturn}).
 * A connection is also the engine's host (EngineHost), the timer wheel's entry (TimerEntry) and
 * the flush queue's item (Flushable), by shape: those members are tagged internal, so they are
 * absent from the published types.
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the interface adds the typed event methods (typed-events.ts)
export class Connection<out P extends BackpressurePolicy = ImmediatePolicy> extends (ShapedEmitter as EmitterBase) {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;

  /** The upgrade request's method, url, HTTP version and headers (server role); see {@link ConnectionRequest}. */
  readonly request: ConnectionRequest | undefined;
  /** What `authenticate` returned (server role); free for the application otherwise. */
  data: unknown;
  readonly role: Role;
  /** The URL connected to (client role). */
  readonly url: string | undefined;

  /** @internal Timer wheel entry field (TimerEntry). */
  deadline = -1;
  /** @internal Timer wheel entry field (TimerEntry). */
  slot = -1;

  /**
   * Created with the first thing that needs it (bytes from the peer, a send, a timer, our close;
   * not the transport's end) for a plain server connection; at once otherwise. An idle connection
   * holds none of the engine's objects (parser, sender, dispatcher: ~0.8 KB of heap).
   */
  #engine: WebSocketEngine | null = null;
  #engineInit: PendingEngine | null = null; // how to create the engine later; null once it exists
  readonly #protocol: string;
  readonly #extensionsHeader: string;
  readonly #socket: Transport;
  #remoteAddress: string | null; // null: not read from the transport yet ("": it had none)
  readonly #options: ResolvedConnectionOptions;
  /** This turn's output, written by flushNow; created with the first output (idle connections hold none). */
  #out: OutputQueue | null = null;
  #dirty = false;
  #needDrain: boolean; // the socket holds bytes (a flush left them, or the 101 waits) until #drained
  #waiters: Array<(result: "written" | "buffered") => void> | null = null; // "wait" sends' resolvers, made on first use
  #dropped = 0;
  #streaming = false;
  #pongsHeld = false; // automatic pongs held by the engine while the socket is backed up (see flushNow)
  #bucket: TokenBucket | undefined;
  readonly #clock: ConnectionClock;
  #finished = false;
  /** The `closed` promise and its resolver, created on first use (most connections are never awaited). */
  #closedPromise: Promise<CloseInfo> | null = null;
  #resolveClosed: ((info: CloseInfo) => void) | null = null;
  #closeInfo: CloseInfo | undefined;
  #closeEmitted = false; // `close` was emitted: the closing handshake is over and the transport closed
  readonly #textAsBuffer: boolean;
  /** How the transport ends abnormally (ConnectionInit `abortTransport`); undefined: destroy(). */
  readonly #abort: ((transport: Transport) => void) | undefined;
  /** The transport's readable side ended (EOF): a half-open transport is ended once our output is out. */
  #peerEnded = false;
  #paused = false;
  /** Frames that came with the handshake wait for the next turn (#deliverHead): the transport stays paused until then. */
  #headPending = false;
  #writeCallbacks: Array<(error?: Error | null) => void> | null = null; // afterWrite()'s, run once written
  /** @internal Set by the owning server to forget the connection. */
  onFinish: ((conn: AnyConnection) => void) | undefined;

  constructor(init: ConnectionInit) {
    super();
    this.on("error", noop); // a default listener: an unheard 'error' must never crash the process
    this.role = init.role;
    this.request = init.request === undefined ? undefined : connectionRequest(init.request);
    this.data = init.data;
    this.url = init.url;
    const socket = init.socket;
    this.#socket = socket;
    this.#options = init.options;
    this.#remoteAddress = init.remoteAddress ?? null;
    this.#abort = init.abortTransport;
    const now = wheel.now;
    if (init.options.rateLimit) {
      this.#bucket = new TokenBucket(init.options.rateLimit.messages, init.options.rateLimit.interval, now);
    }
    this.#textAsBuffer = init.textAsBuffer === true;
    const hybi = init.engineVersion === undefined || init.engineVersion === "hybi-13";
    // Ready before the engine exists: an engine may call its host while it is being built.
    this.#clock = new ConnectionClock(init.options, hybi, now);
    this.#protocol = init.protocol;
    this.#extensionsHeader = init.extensionsHeader;
    // A plain server connection starts OPEN with nothing to say: its engine can wait. Others (a
    // client, extensions, the hixie drafts, frames that came with the handshake) start with theirs.
    const plain = init.role === "server" && hybi && init.extensions.length === 0;
    if (plain && (init.head === undefined || init.head.byteLength === 0)) this.#engineInit = pendingEngine(init);
    else this.#createEngine(init);

    // A plain Duplex (an HTTP/2 stream, ws's handleUpgrade with a stream) has neither.
    socket.setNoDelay?.(true);
    socket.setTimeout?.(0);
    this.#needDrain = socket.writableLength > 0;
    attachTransport(socket, this, init.dataEvents !== true);
    this.#arm();
    const head = init.head;
    if (head !== undefined && head.byteLength > 0) this.#deliverHead(socket, head);
  }

  /** The engine, created now if it was waiting (see #engine); CLOSED (silently) if the transport ended first. */
  #eng(): WebSocketEngine {
    if (this.#engine !== null) return this.#engine;
    const engine = this.#createEngine(this.#engineInit!);
    if (this.#closeInfo !== undefined) engine.receiveEof(); // the close is reported already: nothing happens twice
    return engine;
  }

  /** The transport ended: the engine's receiveEof, or what a waiting one would do (1006, RFC 6455 7.1.5) without it. */
  #receiveEof(): void {
    if (this.#engine !== null) this.#engine.receiveEof();
    else if (this.#clock.transportClosing === -1) {
      this.closeTransport(true);
      this.#onClose(1006, "", false);
    }
  }

  #createEngine(init: PendingEngine): WebSocketEngine {
    this.#engineInit = null;
    const options = this.#options;
    const engine = init.createEngine(this, {
      ...init.engine,
      role: this.role,
      maxPayload: options.maxPayload,
      maxFragments: options.maxFragments,
      extensions: init.extensions,
      extensionsHeader: this.#extensionsHeader,
      protocol: this.#protocol,
      alloc: slabAlloc,
      arena: outputArena,
      masker,
      isUtf8,
      decodeUtf8,
    });
    this.#engine = engine;
    if (this.#pongsHeld) engine.holdPongs?.(true);
    return engine;
  }

  /** The engine's readyState; OPEN while a waiting engine does not exist yet (it starts OPEN). */
  #state(): number {
    return this.#engine !== null ? this.#engine.readyState : this.#closeInfo === undefined ? OPEN : Connection.CLOSED;
  }

  /**
   * Frames that came with the handshake: hand them over once the owner has attached its
   * listeners ('connection' handler, or the code awaiting connect()). The socket is paused
   * meanwhile so that later bytes cannot overtake them. (A method of its own: a closure in the
   * constructor would keep `head` alive as long as the connection.)
   */
  #deliverHead(socket: Transport, head: Uint8Array): void {
    pauseReading(socket);
    this.#headPending = true;
    setImmediate(() => {
      this.#headPending = false;
      if (this.#finished) return;
      this.#clock.lastReceived = wheel.now;
      this.#eng().receiveData(head);
      if (!this.#paused) resumeReading(socket);
    });
  }

  /**
   * Always resolves, once, when the connection is over: the closing handshake done (or the
   * connection failed), our close frame written and the TCP connection closed.
   */
  get closed(): Promise<CloseInfo> {
    const info = this.#closeEmitted ? this.#closeInfo : undefined;
    return (this.#closedPromise ??=
      info !== undefined ? Promise.resolve(info) : new Promise((resolve) => (this.#resolveClosed = resolve)));
  }

  /** CONNECTING, OPEN, CLOSING (also after the closing handshake, until TCP is closed), CLOSED. */
  get readyState(): number {
    const state = this.#state();
    return state === Connection.CLOSED && !this.#closeEmitted ? Connection.CLOSING : state;
  }
  get protocol(): string {
    return this.#engine?.protocol ?? this.#protocol;
  }
  get extensions(): string {
    return this.#engine?.extensions ?? this.#extensionsHeader;
  }
  /**
   * "hybi-13" (RFC 6455 framing, also for requests of its drafts hybi-07/08, whose framing it
   * is), or "hixie-75" / "hixie-76" for legacy drafts.
   */
  get version(): string {
    return this.#engine?.version ?? "hybi-13";
  }
  /** Bytes accepted by send() and not yet handed to the kernel: ours plus Node's socket buffer. */
  get bufferedAmount(): number {
    return (this.#out?.size ?? 0) + this.#socket.writableLength;
  }
  /** Messages dropped by the "drop" policy so far. */
  get droppedCount(): number {
    return this.#dropped;
  }
  /** The peer's address, read from the transport when first asked (as Node's own: undefined once it closed unread). */
  get remoteAddress(): string | undefined {
    return (this.#remoteAddress ??= this.#socket.remoteAddress ?? "") || undefined;
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
    const engine = this.#eng();
    if (engine.readyState !== OPEN) {
      if (engine.readyState === 0) throw new InvalidStateError("send: the connection is not open yet");
      return "dropped";
    }
    let size: number;
    let bytes: Uint8Array | string;
    let prepared: PreparedMessage | undefined;
    if (typeof data === "string") {
      bytes = data;
      size = data.length;
    } else if (data instanceof PreparedMessage) {
      prepared = data;
      bytes = data.payload;
      size = data.payload.byteLength;
    } else {
      bytes = toBytes(data);
      size = bytes.byteLength;
    }
    const admitted = this.#admit(size, this.#options.backpressure);
    if (admitted === "dropped") return "dropped";
    if (prepared !== undefined) {
      if (!engine.sendPrepared(prepared, options)) return "dropped";
    } else if (options === undefined) {
      if (!engine.send(bytes)) return "dropped";
    } else if (!engine.send(bytes, options)) {
      return "dropped";
    }
    if (admitted === "wait") return new Promise((resolve) => (this.#waiters ??= []).push(resolve));
    return this.#socket.writableLength === 0 ? "written" : "buffered";
  }

  /**
   * Send a broadcast message (the server's `broadcast`, channels' streams) unless this consumer is slow: above
   * `maxBufferedAmount` it is dropped (counted, `dropped` event) whatever the policy, except "close" which closes.
   * A broadcast never waits: a slow peer must not make a server queue every message of its streams.
   */
  sendPrepared(message: PreparedMessage): SendResult {
    if (this.#state() !== OPEN) return "dropped";
    const policy = this.#options.backpressure === "close" ? "close" : "drop";
    if (this.#admit(message.payload.byteLength, policy) === "dropped") return "dropped";
    if (!this.#eng().sendPrepared(message)) return "dropped";
    return this.#needDrain && this.#socket.writableLength !== 0 ? "buffered" : "written";
  }

  /**
   * Backpressure before a send of `size` bytes: "send", "wait" (the "wait" policy), or "dropped"
   * (the "drop" policy: counted and reported; "close": the connection fails with 1008).
   */
  #admit(size: number, policy: "close" | "drop" | "wait"): "send" | "wait" | "dropped" {
    const max = this.#options.maxBufferedAmount;
    if (max === 0) return "send";
    const buffered = this.#needDrain ? this.bufferedAmount : (this.#out?.size ?? 0);
    if (buffered === 0 || buffered + size <= max) return "send";
    if (policy === "wait") return "wait";
    if (policy === "drop") return this.#drop();
    this.#eng().fail(new ProtocolError("POLICY_VIOLATION", "send buffer full"));
    return "dropped";
  }

  /**
   * Send one message fragment by fragment from an async iterable or a Readable, waiting for
   * `drain` whenever the socket's buffer is above `maxBufferedAmount` (or Node's high-water mark).
   * The message is binary unless `binary: false` or the first chunk is a string.
   */
  async stream(source: AsyncIterable<Uint8Array | string> | Readable, options?: { binary?: boolean }): Promise<void> {
    if (this.#state() !== OPEN) throw new InvalidStateError("stream: the connection is not open");
    if (this.#streaming) throw new InvalidStateError("stream: another message is being streamed");
    this.#streaming = true;
    try {
      const iterator = (source as AsyncIterable<Uint8Array | string>)[Symbol.asyncIterator]();
      let step = await iterator.next();
      const kind = (options?.binary ?? typeof step.value !== "string") ? "binary" : "text";
      const writer = this.#eng().startMessage(kind);
      while (!step.done) {
        const chunk = step.value;
        if (!writer.write(typeof chunk === "string" ? chunk : toBytes(chunk))) {
          await iterator.return?.();
          throw new InvalidStateError("stream: the connection closed");
        }
        if (this.bufferedAmount > Math.min(this.#options.maxBufferedAmount || Infinity, 1024 * 1024)) {
          await this.#waitDrain();
        }
        step = await iterator.next();
      }
      if (!writer.end()) throw new InvalidStateError("stream: the connection closed");
    } finally {
      this.#streaming = false;
    }
  }

  /**
   * Start a message sent fragment by fragment (RFC 6455 5.4): each `write` sends one frame, `end`
   * the final one. Other sends wait until it ends. A closed connection gives a writer whose
   * calls return false.
   */
  startMessage(kind: "text" | "binary", options?: { compress?: boolean }): MessageWriter {
    const writer = this.#eng().startMessage(kind, options);
    return {
      write: (chunk) => writer.write(typeof chunk === "string" ? chunk : toBytes(chunk)),
      end: (chunk) => writer.end(chunk === undefined || typeof chunk === "string" ? chunk : toBytes(chunk)),
    };
  }

  /**
   * Run `cb` once everything sent so far has been handed to the kernel (`cb()`), or with the
   * error when the socket is gone first: the hook behind ws's `send(data, cb)` callbacks.
   */
  afterWrite(cb: (error?: Error | null) => void): void {
    // Compression may still be running: wait until everything sent so far is framed.
    const engine = this.#engine;
    if (engine !== null && engine.afterFramed !== undefined) engine.afterFramed(() => this.#afterQueued(cb));
    else this.#afterQueued(cb);
  }

  #afterQueued(cb: (error?: Error | null) => void): void {
    const socket = this.#socket;
    if (this.#dirty) {
      (this.#writeCallbacks ??= []).push(cb);
      return;
    }
    if (socket.destroyed || !socket.writable) {
      const error = new Error("The socket was closed before the data was written");
      process.nextTick(cb, error);
      return;
    }
    socket.write(EMPTY_BUFFER, cb);
  }

  /** Send a ping; `cb` runs when the matching pong arrives. */
  ping(data?: Uint8Array | string, cb?: () => void): boolean {
    return this.#eng().ping(data ?? EMPTY, cb);
  }

  pong(data?: Uint8Array | string): boolean {
    return this.#eng().pong(data ?? EMPTY);
  }

  /** Start the closing handshake (RFC 6455 section 7.1.2). Throws on an invalid code or reason. */
  close(code?: number, reason?: string): void {
    if (this.#finished) return;
    this.#eng().close(code, reason);
  }

  /** Destroy the socket now, without a closing handshake (close event: 1006). */
  terminate(): void {
    if (this.#finished) return;
    this.#out?.clear();
    this.#destroyTransport();
    this.#receiveEof();
  }

  /**
   * Stop reading from the transport: what the peer sends waits in the transport (TCP's receive
   * window, HTTP/2 flow control) and the peer's sends back up in turn, until `resume()`. The
   * heartbeat and the idle timeout are suspended meanwhile (a pong cannot be read while paused)
   * and start afresh on resume. Starting the closing handshake resumes reading.
   */
  pause(): void {
    if (this.#paused || this.#finished) return;
    this.#paused = true;
    this.#clock.paused = true;
    pauseReading(this.#socket);
    this.#arm();
  }

  /** Read from the transport again (see {@link pause}). */
  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#clock.resume(wheel.now);
    if (!this.#finished && !this.#headPending) resumeReading(this.#socket);
    this.#arm();
  }

  /** Whether reading is paused by {@link pause}. */
  get isPaused(): boolean {
    return this.#paused;
  }

  /**
   * Fail the connection because of `error` (RFC 6455 7.1.7): a ProtocolError closes with its
   * close code (docs/errors.md's table) and message, anything else with 1011 and no reason.
   * For servers and policies; `close` is for ending a connection that did nothing wrong.
   */
  fail(error: Error): void {
    if (this.#finished) return;
    this.#eng().fail(error);
  }

  /** Messages as an async iterator; ends when the connection closes. */
  [Symbol.asyncIterator](): AsyncIterableIterator<string | Buffer> {
    return messageIterator(this, this.#closeEmitted);
  }

  // ---- write path -------------------------------------------------------------------------

  /** This turn's output queue, the connection marked for the end-of-turn flush. */
  #dirtyOut(): OutputQueue {
    if (!this.#dirty) {
      this.#dirty = true;
      markDirty(this);
    }
    return (this.#out ??= new OutputQueue());
  }

  /** @internal Called once per turn by the flush queue (Flushable): one write for everything queued this turn. */
  flushNow(): void {
    this.#dirty = false;
    const socket = this.#socket;
    const out = this.#out;
    const callbacks = this.#writeCallbacks;
    if (callbacks !== null) this.#writeCallbacks = null;
    if (out === null || out.size === 0) {
      if (callbacks !== null) for (const cb of callbacks) this.#afterQueued(cb);
      return;
    }
    if (socket.destroyed || !socket.writable) {
      out.clear();
      if (callbacks !== null) for (const cb of callbacks) this.#afterQueued(cb);
      return;
    }
    try {
      out.writeTo(socket);
    } catch (error) {
      this.emit("error", error as Error); // socket.write throws only Errors
      this.#destroyTransport();
      if (callbacks !== null) for (const cb of callbacks) this.#afterQueued(cb);
      return;
    }
    if (callbacks !== null) {
      socket.write(EMPTY_BUFFER, (error?: Error | null) => {
        for (const cb of callbacks) cb(error);
      });
    }
    if (socket.writableLength > 0) {
      this.#needDrain = true;
      // Node only emits 'drain' above its high-water mark; below it, ask for a callback once
      // the backlog is written so that 'drain' and "wait" sends are never left hanging.
      if (!socket.writableNeedDrain) socket.write(EMPTY_BUFFER, () => this.#drained());
      // The peer is not keeping up: its pings get one pong, for the latest, once it drains
      // (RFC 6455 5.5.3), so that pings sent without reading cannot pile pongs up here.
      if (!this.#pongsHeld) {
        this.#pongsHeld = true;
        this.#engine?.holdPongs?.(true);
      }
    } else if (this.#waiters !== null) {
      this.#releaseWaiters("written");
    }
    if ((this.#peerEnded || (this.#clock.transportClosing !== -1 && this.#endsTransport())) && !socket.writableEnded) {
      socket.end();
    }
  }

  #drained(): void {
    if (this.bufferedAmount > 0) return;
    if (this.#pongsHeld) {
      this.#pongsHeld = false;
      this.#engine?.holdPongs?.(false); // the latest ping's pong, if any, goes out with this turn's flush
    }
    this.#releaseWaiters("written");
    if (this.#needDrain) {
      this.#needDrain = false;
      emitSafe(this, "drain");
    }
  }

  #releaseWaiters(result: "written" | "buffered"): void {
    const waiters = this.#waiters;
    if (waiters === null) return;
    this.#waiters = null;
    for (const resolve of waiters) resolve(result);
  }

  #waitDrain(): Promise<unknown> {
    if (this.#finished) return Promise.resolve();
    return new Promise((resolve) => (this.#waiters ??= []).push(resolve));
  }

  #drop(): "dropped" {
    this.#dropped++;
    emitSafe(this, "dropped", this.#dropped);
    return "dropped";
  }

  // ---- the engine's host (EngineHost) ------------------------------------------------------

  /** @internal Called by the engine: bytes for the transport. */
  output(chunk: Uint8Array): void {
    if (chunk.byteLength !== 0) this.#dirtyOut().push(chunk);
  }

  /** @internal Called by the engine: a frame it wrote into the output arena. */
  outputRange(bytes: Uint8Array, start: number, end: number): void {
    this.#dirtyOut().pushRange(bytes, start, end);
  }

  /** @internal Called by the engine: an event. */
  dispatch(event: EngineEvent): void {
    switch (event.type) {
      case "text":
      case "binary": {
        if (this.#clock.trackMessage) this.#clock.lastMessage = wheel.now;
        if (this.#bucket !== undefined && !this.#bucket.take(wheel.now)) {
          this.#engine!.fail(new ProtocolError("RATE_LIMITED", "rate limit exceeded"));
          return;
        }
        try {
          if (event.type === "text")
            emitTwo(this, "message", this.#textAsBuffer ? asBuffer(event.bytes) : event.data, false);
          else emitTwo(this, "message", asBuffer(event.data), true);
        } catch (error) {
          this.#handlerFailed(error);
        }
        return;
      }
      case "ping":
        this.#emitOrFail("ping", asBuffer(event.data));
        return;
      case "pong":
        this.#clock.awaitingPong = false;
        this.#emitOrFail("pong", asBuffer(event.data));
        return;
      case "open":
        this.#emitOrFail("open");
        return;
      case "closing":
        this.#emitOrFail("closing", event.code, event.reason);
        return;
      case "error":
        emitSafe(this, "error", event.error);
        return;
      case "close":
        this.#onClose(event.code, event.reason, event.wasClean);
        return;
    }
  }

  /** @internal Called by the engine: it sent its close frame; the peer has `closeTimeout` to answer. */
  awaitClose(): void {
    if (this.#clock.closeStartedAt !== -1) return;
    if (this.#paused) this.resume(); // the peer's close frame must be read
    this.#clock.closeStartedAt = wheel.now;
    this.#arm();
  }

  /**
   * @internal Called by the engine: the connection is over; end the transport. A server ends it
   * now (RFC 6455 7.1.1: the server closes TCP first), once this turn's output is written; a
   * client leaves it to the server, for at most `closeTimeout`. A connection that `failed` (RFC
   * 6455 7.1.7), either role, ends it now too and is destroyed FAILED_LINGER after its close
   * frame and FIN are out and the peer went quiet, rather than at the close timeout.
   */
  closeTransport(failed = false): void {
    if (this.#clock.transportClosing !== -1) return;
    const clock = this.#clock;
    clock.transportClosing = wheel.now;
    clock.failed = failed;
    const socket = this.#socket;
    if (socket.destroyed) {
      this.#finish();
      return;
    }
    if (this.#endsTransport()) {
      if (!this.#dirty && !socket.writableEnded) socket.end();
      if (failed) {
        clock.trackReceived = true;
        clock.lastReceived = wheel.now;
        if (socket.writableFinished) clock.flushedAt = wheel.now;
        else onceFlushed(socket);
      }
    }
    this.#arm();
  }

  /**
   * Whether this side closes the TCP connection first: a server always (RFC 6455 7.1.1), a
   * client when the connection failed (7.1.7) rather than ended with a closing handshake.
   */
  #endsTransport(): boolean {
    return this.role === "server" || this.#clock.failed;
  }

  /** @internal The failed connection's close frame and FIN are written out: its linger starts. */
  transportFlushed(): void {
    this.#clock.flushedAt = wheel.now;
    this.#arm();
  }

  #emitOrFail<E extends keyof ConnectionEvents>(name: E, ...args: ConnectionEvents[E]): void {
    try {
      this.emit(name, ...args);
    } catch (error) {
      this.#handlerFailed(error);
    }
  }

  /** A user handler threw: report it and close this connection only (RFC 6455 7.4.1: 1011). */
  #handlerFailed(error: unknown): void {
    const err = error instanceof Error ? error : new Error(String(error));
    emitSafe(this, "error", err);
    this.#eng().fail(err);
  }

  /** The engine's close (handshake over, or failed): close TCP; `close` follows when it is closed. */
  #onClose(code: number, reason: string, wasClean: boolean): void {
    if (this.#closeInfo !== undefined) return;
    this.#closeInfo = { code, reason, wasClean };
    this.#releaseWaiters("buffered");
    // RFC 6455 7.1.4: closed once the transport is closed too (closeTransport began closing it).
    if (this.#finished) this.#emitClose();
  }

  /** RFC 6455 7.1.4: the WebSocket is closed once the handshake is over and TCP is closed. */
  #emitClose(): void {
    const info = this.#closeInfo;
    if (info === undefined || this.#closeEmitted) return;
    this.#closeEmitted = true;
    emitSafe(this, "close", info.code, info.reason, info.wasClean);
    this.#resolveClosed?.(info);
    this.#resolveClosed = null;
  }

  // ---- the transport's events (through read-path.ts's shared listeners) ---------------------

  /** @internal Bytes from the transport. */
  transportData(chunk: Uint8Array): void {
    const clock = this.#clock;
    if (clock.trackReceived) clock.lastReceived = wheel.now;
    clock.awaitingPong = false;
    this.#eng().receiveData(chunk);
  }

  /** @internal Bytes read into the shared read buffer, lent for this call (read-path.ts). */
  transportLent(bytes: Uint8Array): void {
    const clock = this.#clock;
    if (clock.trackReceived) clock.lastReceived = wheel.now;
    clock.awaitingPong = false;
    const engine = this.#eng();
    if (engine.receiveLent !== undefined) engine.receiveLent(bytes);
    else engine.receiveData(Uint8Array.prototype.slice.call(bytes));
  }

  /** @internal Where the next read should land (read-path.ts): the engine's in-place target, if any. */
  readTarget(): Uint8Array | null {
    const engine = this.#engine;
    return engine === null || engine.readTarget === undefined ? null : engine.readTarget();
  }

  /**
   * @internal The transport's readable side ended. A half-open transport (an HTTP/2 stream:
   * END_STREAM) is ended in turn once our output is out, as a socket does by itself (RFC 8441
   * 6: END_STREAM is the TCP close of RFC 6455).
   */
  transportEnd(): void {
    this.#receiveEof();
    const socket = this.#socket;
    if (socket.allowHalfOpen && !socket.writableEnded) {
      this.#peerEnded = true;
      if (!this.#dirty) socket.end();
    }
  }

  /** @internal The transport is closed. */
  transportClose(): void {
    this.#receiveEof();
    this.#finish();
  }

  /** @internal The transport failed (ECONNRESET and friends): `close` follows and reports 1006. */
  transportError(error: Error): void {
    if (!this.#finished) emitSafe(this, "error", error);
  }

  /** @internal The transport's write buffer drained. */
  transportDrain(): void {
    this.#drained();
  }

  /** The transport is gone: stop timers, report the close, forget the connection. */
  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    wheel.cancel(this);
    detachData(this.#socket);
    // Without a close from the engine yet, EOF makes one (1006, or the handshake's result).
    if (this.#closeInfo === undefined) this.#receiveEof();
    this.#emitClose();
    this.onFinish?.(this);
  }

  /** End the transport abnormally: destroy it, or the host's way (ConnectionInit `abortTransport`). */
  #destroyTransport(): void {
    const abort = this.#abort;
    if (abort === undefined) this.#socket.destroy();
    else abort(this.#socket);
  }

  // ---- timers -----------------------------------------------------------------------------

  #arm(): void {
    if (this.#finished) return;
    const next = this.#clock.next(this.#state() === OPEN);
    if (next === -1) wheel.cancel(this);
    else if (next !== this.deadline) wheel.schedule(this, next);
  }

  /** @internal Called by the timer wheel (TimerEntry). */
  onTimer(): void {
    if (this.#finished) return;
    switch (this.#clock.due(wheel.now, this.#state() === OPEN)) {
      case Due.DESTROY:
        this.#destroyTransport();
        this.#finish();
        return;
      case Due.TERMINATE:
        this.terminate();
        return;
      case Due.PONG_TIMEOUT:
        emitSafe(this, "error", new Error("pong timeout: terminating"));
        this.terminate();
        return;
      case Due.IDLE_CLOSE:
        this.#eng().close(1001, "idle timeout");
        break;
      case Due.PING:
        this.#eng().ping(EMPTY);
        break;
    }
    this.#arm();
  }
}
