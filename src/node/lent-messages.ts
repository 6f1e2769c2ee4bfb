/**
 * Lent messages (the `lendMessages` option): large messages are read into buffers from ONE
 * process-wide pool and lent to the `message` handler, valid until it returns; the pool reuses
 * them for the next messages, so that reads land in memory that is mapped and warm instead of a
 * fresh allocation per message (which the allocator hands back and faults in again).
 *
 * Contract:
 * - {@link MessagePool} is the engines' {@link MessageBuffers}: `acquire(size)` gives a buffer
 *   of the size class (see below; from {@link POOL_MIN} to {@link POOL_MAX}) taken from the
 *   free list, most recently freed first, else a new one; outside those sizes a plain buffer
 *   that is never pooled. `release` takes back a buffer the engine outgrew.
 * - The engine of a connection with `lendMessages` announces each message it assembled into a
 *   buffer of the pool around the message's dispatch (MessageBuffers `lend`/`dispatched`); a
 *   message that came in one piece of a read is not announced and costs nothing (no lookup, no
 *   wrapper per message: the small-message path is the same as without the option). While the
 *   handler runs, and after it as long as an output holds it, the
 *   buffer is out: any connection that queues a chunk of it for writing (`send` of the message,
 *   the echo shortcut of a text message) calls {@link holdOutput}, which keeps it out until that
 *   connection's write has been handed to the kernel (`afterWrite`). The buffer goes back to the
 *   free list only when its handler returned and no write holds it; one whose write failed (the
 *   socket is gone) is dropped to the GC, never reused.
 * - Bytes of a buffer that is out, handed to an engine to send, go through {@link sendable} (the
 *   one rule, called at every entry): kept as they are only where the engine frames them at once
 *   and the output's push holds them; copied wherever the engine or an extension may keep them
 *   past the call.
 * - A buffer the engine dropped (its connection ended mid-message) is never given back: the GC
 *   takes it (a read may still be landing in it), and the pool holds no reference to it.
 * - Code of wirecable that keeps a message past its event (the async iterator, WebSocketStream,
 *   the WHATWG WebSocket) takes it through {@link ownMessage}: a copy when it is lent. Not covered:
 *   a chunk the application writes to a WebSocketStream's `writable` while an earlier write is
 *   pending waits in the WHATWG stream's queue, and its sink's `write` (which sends) runs after the
 *   handler returned; the documented contract is that the application writes a copy there.
 * - Size classes are a quarter of a power of two apart (1.25, 1.5, 1.75, 2 x 2^k): a buffer is at
 *   most 5/4 of the size asked for, so the assembler's bound (message-assembler.ts) holds within 5/4.
 * - Memory: at most {@link FREE_MAX} bytes of free buffers, dropped after {@link IDLE_TRIM} ms
 *   without use. Connections hold pool buffers only while a message is being read, handled or
 *   written: an idle connection holds none.
 */
import { PreparedMessage } from "../protocol/prepared-message.js";
import type { MessageBuffers, MessageWriter } from "../protocol/types.js";
import type { AnyConnection } from "./connection.js";

/** Messages below this size are not pooled (each gets a buffer of its own, as without the option). */
export const POOL_MIN = 64 * 1024;
/** Nor are messages above this: a buffer that large is not kept around. */
export const POOL_MAX = 4 * 1024 * 1024;
/** Free buffers kept at most, in bytes, for the whole process. */
export const FREE_MAX = 16 * 1024 * 1024;
/** Free buffers unused for this long are dropped (ms). */
export const IDLE_TRIM = 10_000;

/** A pooled buffer's state. */
class Lease {
  readonly buffer: Buffer;
  /** Its message's handler is running. */
  lent = false;
  /** Writes (or framings) still to come that read it. */
  holds = 0;
  /** A write holding it failed: never reused. */
  dead = false;
  constructor(buffer: Buffer) {
    this.buffer = buffer;
  }
}

/** The pooled size for `size` (POOL_MIN..POOL_MAX): rounded up to a quarter of the power of two below it. */
function sizeClass(size: number): number {
  const step = 2 ** (29 - Math.clz32(size - 1)); // a quarter of the power of two below size
  return Math.ceil(size / step) * step;
}

export class MessagePool implements MessageBuffers {
  /** Leases lent or held, process-wide (0: no output can be a pooled buffer; the hot paths test this first). */
  out = 0;
  /** Free bytes in the free lists. */
  freeBytes = 0;
  /** Every pooled buffer's lease, by its ArrayBuffer (weak: dropped buffers leave no trace). */
  readonly #leases = new WeakMap<ArrayBufferLike, Lease>();
  /** Free buffers per size class (their size), used last first. */
  readonly #free = new Map<number, Buffer[]>();
  #used = false;
  #timer: NodeJS.Timeout | null = null;

  acquire(size: number): Uint8Array {
    if (size < POOL_MIN || size > POOL_MAX) return Buffer.allocUnsafe(size);
    const classSize = sizeClass(size);
    this.#used = true;
    const list = this.#free.get(classSize);
    const pooled = list?.pop();
    if (pooled !== undefined) {
      this.freeBytes -= pooled.length;
      return pooled;
    }
    const buffer = Buffer.allocUnsafeSlow(classSize);
    this.#leases.set(buffer.buffer, new Lease(buffer));
    return buffer;
  }

  release(buffer: Uint8Array): void {
    const lease = this.#leases.get(buffer.buffer);
    if (lease !== undefined && !lease.lent && lease.holds === 0) this.#recycle(lease);
  }

  /** The lease of a pooled buffer whose bytes these are, if any. */
  leaseOf(bytes: Uint8Array): Lease | undefined {
    return this.#leases.get(bytes.buffer);
  }

  /**
   * A message in `bytes` is about to be dispatched: its buffer is out until {@link handled}
   * (undefined: not a pooled buffer, or lent already). The engines' MessageBuffers `lend`.
   */
  lend(bytes: Uint8Array): Lease | undefined {
    if (bytes.buffer.byteLength < POOL_MIN) return undefined;
    const lease = this.#leases.get(bytes.buffer);
    if (lease === undefined || lease.lent) return undefined;
    lease.lent = true;
    this.out++;
    return lease;
  }

  /** The message's handler returned. */
  handled(lease: Lease): void {
    lease.lent = false;
    this.#settle(lease);
  }

  /** The engines' MessageBuffers `dispatched`: `token` is what {@link lend} returned. */
  dispatched(token: unknown): void {
    if (token !== undefined) this.handled(token as Lease);
  }

  /** One more write (or framing) reads the lent buffer; `unhold` when it is done. */
  hold(lease: Lease): void {
    if (lease.holds++ === 0 && !lease.lent) this.out++;
  }

  unhold(lease: Lease, failed: boolean): void {
    if (failed) lease.dead = true;
    lease.holds--;
    this.#settle(lease);
  }

  /** Whether the bytes lie in a buffer that is out (lent or held). */
  isOut(bytes: Uint8Array): boolean {
    const lease = this.#leases.get(bytes.buffer);
    return lease !== undefined && (lease.lent || lease.holds > 0);
  }

  #settle(lease: Lease): void {
    if (lease.lent || lease.holds > 0) return;
    this.out--;
    if (!lease.dead) this.#recycle(lease);
  }

  #recycle(lease: Lease): void {
    const buffer = lease.buffer;
    if (this.freeBytes + buffer.length > FREE_MAX) return; // left to the GC
    let list = this.#free.get(buffer.length);
    if (list === undefined) this.#free.set(buffer.length, (list = []));
    list.push(buffer);
    this.freeBytes += buffer.length;
    this.#armTrim();
  }

  /** Drop the free buffers once the pool went unused for IDLE_TRIM ms (an unref'd timer: never keeps the process alive). */
  #armTrim(): void {
    if (this.#timer !== null) return;
    this.#used = false;
    this.#timer = setTimeout(MessagePool.#trim, IDLE_TRIM, this);
    this.#timer.unref();
  }

  static #trim(pool: MessagePool): void {
    pool.#timer = null;
    if (pool.#used) {
      pool.#armTrim();
      return;
    }
    pool.trim();
  }

  /** Drop every free buffer now. */
  trim(): void {
    this.#free.clear();
    this.freeBytes = 0;
  }
}

/** The process-wide pool of every connection with `lendMessages`. */
export const messagePool = new MessagePool();

/**
 * `data` if the caller may keep it, else (its bytes lie in a buffer that is out) a copy: for code
 * that keeps a message past its `message` event (the async iterator, WebSocketStream, WebSocket)
 * and for {@link sendable}. A prepared message of lent bytes is prepared again from a copy.
 */
export function ownMessage<T extends string | Uint8Array | PreparedMessage>(data: T): T {
  if (messagePool.out === 0 || typeof data === "string") return data;
  if (data instanceof PreparedMessage)
    return (messagePool.isOut(data.payload) ? new PreparedMessage(Buffer.from(data.payload), data.binary) : data) as T;
  return (messagePool.isOut(data as Uint8Array) ? Buffer.from(data as Uint8Array) : data) as T;
}

/** How bytes enter the engine (see {@link sendable}): a whole message (send, sendPrepared). */
export const SEND = 0;
/** A fragment of a message writer (startMessage, stream). */
export const FRAGMENT = 1;

/** Connections with a message writer open (the engine's writer): their sends wait in the engine's queue until it ends. */
const writing = new WeakMap<AnyConnection, MessageWriter>();

/** `conn` opened `writer` (Connection#startMessage, stream). */
export function writerOpened(conn: AnyConnection, writer: MessageWriter): void {
  writing.set(conn, writer);
}

/** `writer` of `conn` ends (its `end` is being called; a later writer's mark stays if an old one is ended again). */
export function writerEnded(conn: AnyConnection, writer: MessageWriter): void {
  if (writing.get(conn) === writer) writing.delete(conn);
}

/**
 * THE rule for bytes handed to an engine to send by a connection (Connection#send and
 * #sendPrepared through sendOn (#sendPrepared only while lent messages are out: without any, no
 * bytes can be lent), a writer's write and end). The entries that always copy call
 * {@link ownMessage} directly: ping and pong, the server's broadcast, the WebSocket wrappers'
 * sends queued behind Blob reads. Bytes of a buffer that is out are
 * kept as they are only on the plain path, where the engine frames them at once and the output's
 * push holds the buffer until it is written ({@link holdOutput}): a message or a fragment on an
 * open connection without extensions, a message only while no writer is open. Everywhere else
 * they are copied ({@link ownMessage}): a send queued behind an open writer (the engine keeps it
 * until the writer ends), an extension (compression reads its input later; a fragment or control
 * frame waits behind a pending transform), a ping (its payload is kept to match the pong), a
 * broadcast (a prepared message may be framed later, for a recipient whose send is queued).
 * Connections without lent buffers out pay one number test.
 */
export function sendable<T extends string | Uint8Array | PreparedMessage>(
  conn: AnyConnection,
  data: T,
  entry: typeof SEND | typeof FRAGMENT,
): T {
  if (messagePool.out === 0 || typeof data === "string") return data;
  if (conn.extensions === "" && conn.readyState === 1 && (entry === FRAGMENT || !writing.has(conn))) return data;
  return ownMessage(data);
}

/**
 * A connection queued `chunk` for writing (Connection#output): if it lies in a pooled buffer that
 * is out, the buffer stays out until this write has been handed to the kernel.
 */
export function holdOutput(conn: AnyConnection, chunk: Uint8Array): void {
  const lease = messagePool.leaseOf(chunk);
  if (lease === undefined || (!lease.lent && lease.holds === 0)) return;
  messagePool.hold(lease);
  conn.afterWrite((error) => messagePool.unhold(lease, error != null));
}
