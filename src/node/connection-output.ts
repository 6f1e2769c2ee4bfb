/**
 * A connection's write path: the turn's output, written with ONE write at the end of the turn
 * (flush-queue.ts calls `flushNow`), or at the end of the read that queued it once it reaches
 * EARLY_BYTES (a large echo leaves before the turn's other sockets are read); the socket's
 * backlog (`needDrain`, pongs held while the peer does not read), the resolvers of "wait" sends
 * and the callbacks of `afterWrite`.
 *
 * Contract: created with a connection's first output (an idle connection holds none; a plain
 * server connection drops it again when it is `resting`, and makes a new one for its next
 * output). `queue()` marks the connection for this turn's flush and returns the queue to push
 * to. After a flush that left bytes in the socket, `drained()` (the socket's `drain`, and the
 * callback of the last write made: an empty write after that flush's, then each later flush's
 * own, so it runs when the backlog is gone however the socket ends) releases the waiters with
 * "written", lets the latest held pong out and emits the connection's `drain`. A failed write is
 * reported on the connection (`error`) and ends its transport; callbacks run once what was queued
 * before them is written, or with an error when the socket is gone first. `streamMessage` sends a
 * message from an async iterable, one fragment per chunk, within the same backpressure.
 */
import type { Readable } from "node:stream";
import { InvalidStateError } from "../protocol/errors.js";
import { PreparedMessage } from "../protocol/prepared-message.js";
import type { MessageWriter, WebSocketEngine } from "../protocol/types.js";
import type { AnyConnection } from "./connection.js";
import type { Transport } from "./connection-types.js";
import { EARLY_BYTES, type Flushable, markDirty, markEarly } from "./flush-queue.js";
import { FRAGMENT, holdOutput, messagePool, SEND, sendable, writerEnded, writerOpened } from "./lent-messages.js";
import { toBytes } from "./output-buffers.js";
import { EMPTY_BUFFER, OutputQueue } from "./output-queue.js";
import { emitSafe } from "./shaped-emitter.js";

export class ConnectionOutput extends OutputQueue implements Flushable {
  /** Marked for this turn's flush. */
  dirty = false;
  /** Marked for the flush at the end of the current read too (EARLY_BYTES queued: flush-queue.ts). */
  early = false;
  /** The socket holds bytes (a flush left them, or the 101 waits) until `drained`. */
  needDrain: boolean;
  /** Automatic pongs are held by the engine while the socket is backed up (see flushNow). */
  pongsHeld = false;
  /** Messages dropped by the "drop" policy so far. */
  dropped = 0;
  /** On the flush queue's list for this turn (queue() puts it there once; flushTurn takes it off). */
  #listed = false;
  /**
   * `drained` as a write callback (made once, for a socket that backs up: see flushNow), for
   * writes that succeeded only: bytes a failed or destroyed socket threw away are not "written"
   * (the close resolves "wait" sends with "buffered").
   */
  #onWritten: ((error?: Error | null) => void) | null = null;
  #waiters: Array<(result: "written" | "buffered") => void> | null = null;
  #callbacks: Array<(error?: Error | null) => void> | null = null;
  readonly #conn: AnyConnection;
  readonly #socket: Transport;

  constructor(conn: AnyConnection, socket: Transport, needDrain: boolean) {
    super();
    this.#conn = conn;
    this.#socket = socket;
    this.needDrain = needDrain;
  }

  /**
   * Backpressure before a send of `size` bytes (`max`: maxBufferedAmount, 0 for no limit): "send",
   * "wait" (the "wait" policy), "dropped" (the "drop" policy: counted and reported as `dropped`),
   * or "fail" ("close": the connection is to fail with 1008).
   */
  admit(size: number, policy: "close" | "drop" | "wait", max: number): "send" | "wait" | "dropped" | "fail" {
    if (max === 0) return "send";
    const buffered = this.needDrain ? this.size + this.#socket.writableLength : this.size;
    return buffered === 0 || buffered + size <= max ? "send" : this.#over(policy);
  }

  /** admit's verdict above the limit: apart, so that admit stays small (inlined into the delivery path: bcast13). */
  #over(policy: "close" | "drop" | "wait"): "wait" | "dropped" | "fail" {
    if (policy === "wait") return "wait";
    if (policy === "close") return "fail";
    this.dropped++;
    emitSafe(this.#conn, "dropped", this.dropped);
    return "dropped";
  }

  /** Nothing queued, held, awaited or counted: a connection may drop it and make a new one for its next output. */
  get resting(): boolean {
    return (
      this.size === 0 &&
      !this.dirty &&
      !this.needDrain &&
      !this.pongsHeld &&
      this.dropped === 0 &&
      this.#waiters === null &&
      this.#callbacks === null
    );
  }

  /** A chunk to write: a lent message's bytes (`lendMessages`) are kept from reuse until written. */
  override push(chunk: Uint8Array): void {
    super.push(chunk);
    if (messagePool.out !== 0) holdOutput(this.#conn, chunk);
    if (this.size >= EARLY_BYTES && !this.early) this.#markEarly();
  }

  /** Frames the engine wrote into the output arena (small ones, many per read): marked early alike. */
  override pushRange(bytes: Uint8Array, start: number, end: number): void {
    super.pushRange(bytes, start, end);
    if (this.size >= EARLY_BYTES && !this.early) this.#markEarly();
  }

  /** A prepared message's frame (never a lent message's bytes): marked early alike. */
  override pushShared(frame: Uint8Array): void {
    super.pushShared(frame);
    if (this.size >= EARLY_BYTES && !this.early) this.#markEarly();
  }

  #markEarly(): void {
    this.early = true;
    markEarly(this);
  }

  /**
   * This turn's queue, the connection marked for the end-of-turn flush (listed once per turn:
   * output after an early flush of the same turn finds it listed already).
   */
  queue(): OutputQueue {
    if (!this.dirty) {
      this.dirty = true;
      if (!this.#listed) {
        this.#listed = true;
        markDirty(this);
      }
    }
    return this;
  }

  /**
   * @internal Called by the flush queue (Flushable) at the turn's end: writes what is queued,
   * nothing when an early flush wrote it all (nothing queued, held or awaited is left then).
   */
  flushTurn(): void {
    this.#listed = false;
    if (this.dirty) this.flushNow();
  }

  /**
   * @internal One write for everything queued: after the read that marked it early (flush-queue.ts),
   * at the turn's end (flushTurn), or when the connection asks (Connection.flushNow).
   */
  flushNow(): void {
    this.dirty = false;
    this.early = false;
    const socket = this.#socket;
    const callbacks = this.#callbacks;
    if (callbacks !== null) this.#callbacks = null;
    if (this.size === 0 || socket.destroyed || !socket.writable) {
      this.clear();
      if (callbacks !== null) for (const cb of callbacks) this.afterQueued(cb);
      return;
    }
    // The callbacks ride on the turn's last write (no write of their own), once: a write that
    // throws may have taken them already (the socket then calls them too, with its error).
    const done = callbacks === null ? undefined : once(callbacks);
    // Backed up already: `drained` rides on this write too, so that the last write made completes
    // with a look at the backlog, whatever ends the socket after it (an end: Node emits no 'drain').
    const backedUp = this.needDrain;
    const onWritten = backedUp ? (this.#onWritten ??= this.#afterWrite()) : null;
    try {
      this.writeTo(
        socket,
        onWritten === null ? done : done === undefined ? onWritten : both(done, onWritten),
        backedUp,
      );
    } catch (error) {
      // socket.write throws only Errors; a throwing listener must not escape a read's callback (flushEarly)
      emitSafe(this.#conn, "error", error as Error);
      this.#conn.destroyTransport();
      if (done !== undefined) process.nextTick(done, error);
      return;
    }
    if (socket.writableLength > 0) {
      // Node emits 'drain' only above its high-water mark and never once the socket ends: the
      // first flush that leaves bytes asks for a callback once they are written (one empty write),
      // the later ones carry it on their own write (above). So 'drain' and "wait" sends are never
      // left hanging, and a peer that reads slowly holds no empty write or closure per turn.
      if (!backedUp) {
        this.needDrain = true;
        socket.write(EMPTY_BUFFER, (this.#onWritten ??= this.#afterWrite()));
      }
      // The peer is not keeping up: its pings get one pong, for the latest, once it drains
      // (RFC 6455 5.5.3), so that pings sent without reading cannot pile pongs up here.
      if (!this.pongsHeld) {
        this.pongsHeld = true;
        this.#conn.holdPongs(true);
      }
    } else if (this.#waiters !== null) {
      this.releaseWaiters("written");
    }
    if (this.#conn.endsAfterFlush() && !socket.writableEnded) socket.end();
  }

  #afterWrite(): (error?: Error | null) => void {
    return (error) => {
      if (error == null && !this.#socket.destroyed) this.drained();
    };
  }

  /** The socket's backlog is written (see the module comment). */
  drained(): void {
    if (this.size + this.#socket.writableLength > 0) return;
    if (this.pongsHeld) {
      this.pongsHeld = false;
      this.#conn.holdPongs(false); // the latest ping's pong, if any, goes out with this turn's flush
    }
    this.releaseWaiters("written");
    if (this.needDrain) {
      this.needDrain = false;
      emitSafe(this.#conn, "drain");
    }
  }

  /** A promise resolved once the backlog drained ("written") or the connection closed ("buffered"). */
  wait(): Promise<"written" | "buffered"> {
    return new Promise((resolve) => (this.#waiters ??= []).push(resolve));
  }

  releaseWaiters(result: "written" | "buffered"): void {
    const waiters = this.#waiters;
    if (waiters === null) return;
    this.#waiters = null;
    for (const resolve of waiters) resolve(result);
  }

  /** Run `cb` once everything queued so far is handed to the kernel, or with an error if the socket is gone. */
  afterQueued(cb: (error?: Error | null) => void): void {
    if (this.dirty) (this.#callbacks ??= []).push(cb);
    else afterWritten(this.#socket, cb);
  }
}

/** One write callback running every one of `callbacks`, the first time only. */
function once(callbacks: Array<(error?: Error | null) => void>): (error?: Error | null) => void {
  let ran = false;
  return (error) => {
    if (ran) return;
    ran = true;
    for (const cb of callbacks) cb(error);
  };
}

/** One write callback for two, in order. */
function both(
  first: (error?: Error | null) => void,
  second: (error?: Error | null) => void,
): (error?: Error | null) => void {
  return (error) => {
    try {
      first(error);
    } finally {
      second(error);
    }
  };
}

/** A message's payload size in bytes (a string's in UTF-16 code units, as backpressure counts it). */
export function sizeOf(message: string | Uint8Array | PreparedMessage): number {
  return typeof message === "string"
    ? message.length
    : message instanceof PreparedMessage
      ? message.payload.byteLength
      : message.byteLength;
}

/**
 * Hand one message to the engine (Connection#send, #sendPrepared): false if it was not sent. Lent
 * bytes go through `sendable` (copied unless the engine frames them at once).
 */
export function sendOn(
  conn: AnyConnection,
  engine: WebSocketEngine,
  message: string | Uint8Array | PreparedMessage,
  options?: { binary?: boolean; compress?: boolean },
): boolean {
  if (typeof message === "string") return options === undefined ? engine.send(message) : engine.send(message, options);
  const bytes = messagePool.out === 0 ? message : sendable(conn, message, SEND);
  if (bytes instanceof PreparedMessage) return engine.sendPrepared(bytes, options);
  return options === undefined ? engine.send(bytes) : engine.send(bytes, options);
}

/**
 * `writer` taking any binary chunk (Buffer, ArrayBuffer, views) as well as strings
 * (Connection#startMessage); `conn` counts as writing until `end` (its other sends are queued
 * by the engine meanwhile: see `sendable`, which every binary chunk goes through).
 */
export function anyChunks(conn: AnyConnection, writer: MessageWriter): MessageWriter {
  writerOpened(conn, writer);
  return {
    write: (chunk) => writer.write(typeof chunk === "string" ? chunk : sendable(conn, toBytes(chunk), FRAGMENT)),
    end: (chunk) => {
      // Converted first and unmarked only once ended: a chunk that throws leaves the writer open and marked.
      const last = chunk === undefined || typeof chunk === "string" ? chunk : sendable(conn, toBytes(chunk), FRAGMENT);
      const result = writer.end(last);
      writerEnded(conn, writer);
      return result;
    },
  };
}

/** `cb` once everything queued so far is handed to the kernel: through `output` if the connection has one. */
export function afterQueued(
  output: ConnectionOutput | null,
  socket: Transport,
  cb: (error?: Error | null) => void,
): void {
  if (output !== null) output.afterQueued(cb);
  else afterWritten(socket, cb);
}

/** Run `cb` once what the socket holds is written, or with an error if the socket is gone. */
export function afterWritten(socket: Transport, cb: (error?: Error | null) => void): void {
  if (socket.destroyed || !socket.writable) {
    process.nextTick(cb, new Error("The socket was closed before the data was written"));
    return;
  }
  socket.write(EMPTY_BUFFER, cb);
}

/**
 * Send `source` as one message, fragment by fragment (Connection#stream): binary unless `binary`
 * is false or the first chunk is a string; while more than `limit` bytes are buffered, waits for
 * `drained()` (null: the connection is gone, the next write reports it).
 */
export async function streamMessage(
  conn: AnyConnection,
  source: AsyncIterable<Uint8Array | string> | Readable,
  binary: boolean | undefined,
  limit: number,
  drained: () => Promise<unknown> | null,
): Promise<void> {
  const iterator = (source as AsyncIterable<Uint8Array | string>)[Symbol.asyncIterator]();
  let step = await iterator.next();
  const writer = conn.startMessage((binary ?? typeof step.value !== "string") ? "binary" : "text");
  while (!step.done) {
    if (!writer.write(step.value)) {
      await iterator.return?.();
      throw new InvalidStateError("stream: the connection closed");
    }
    if (conn.bufferedAmount > limit) await drained();
    step = await iterator.next();
  }
  if (!writer.end()) throw new InvalidStateError("stream: the connection closed");
}
