/**
 * How a connection listens to its transport, and where the bytes it reads land.
 *
 * Contract:
 * - `attachTransport(transport, owner)` registers the owner's handlers for the transport's
 *   events (shared functions, no closure per connection) and starts reading. Its bytes reach the
 *   owner in one of two ways, chosen once:
 *   - a plain TCP `net.Socket` (not TLS) reads in place: each read lands in ONE process-wide
 *     buffer and goes to `owner.transportLent(buffer, n)` (its first n bytes, lent for that
 *     call: the engine copies what outlives it; always the same array, so the views made of it
 *     are made once), or, while the engine waits for the rest of a large frame's payload, straight
 *     into the message's own buffer (`owner.readTarget()`, then `owner.transportData(view)`):
 *     kernel to final place, no buffer allocated per read, no join;
 *   - anything else (TLS, an HTTP/2 stream, a user's Duplex, a socket with bytes Node read
 *     already and nobody took) keeps the stream's 'data' events: `owner.transportData(chunk)`,
 *     a fresh buffer per chunk.
 * - Either way, output that reached flush-queue.ts's EARLY_BYTES while a read was handled (a
 *   large echo) is written when that read's handling returns, not at the end of the turn.
 * - Either way pause()/resume() of the transport stop and restart reading, and 'end', 'close',
 *   'error' and 'drain' reach the owner as before. A `net.Socket` whose only 'end' listener is
 *   Node's own (lib/net.js `onReadableStreamEnd`) gets one listener that calls Node's and then the
 *   owner's, in that slot: no listener array per socket (what a two-listener event holds).
 * - `deliverHead` hands bytes read with the handshake over on the next turn (see there).
 *
 * The in-place mode is Node's `onread` option of `net.Socket`, which Node offers only to sockets
 * it creates: for a socket accepted by a server (ours, node:http's, the user's) the same state
 * is set on the socket itself (its `kBuffer`/`kBufferCb`/`kBufferGen` symbols and the handle's
 * `useUserBuffer`, which is what the constructor does with `onread`), so that the socket the
 * application sees stays the one the server counts and closes. Node's stream code
 * (lib/internal/stream_base_commons.js `onStreamRead`) then calls `kBufferCb(n, buffer)` after
 * each read and asks `kBufferGen()` for the next read's buffer; `pause()` stops the handle's
 * reads for such a socket (lib/net.js). When any of these is missing (another Node), the socket
 * keeps its 'data' events.
 */
import { Socket } from "node:net";
import type { Transport } from "./connection-types.js";
import { earlyCount, flushEarly } from "./flush-queue.js";

/** What a transport's events are handed to (the Connection). */
export interface TransportOwner {
  /** The bytes that came with the handshake (`deliverHead`); false: reading stays stopped. */
  transportHead(head: Uint8Array): boolean;
  /** Bytes the owner may keep (a 'data' chunk, or bytes read into `readTarget()`'s view). */
  transportData(chunk: Uint8Array): void;
  /**
   * `bytes[0..length)`, lent for the duration of the call (the shared read buffer, the same array every time).
   * Returns how many of them, at their end, began a large payload whose rest `readTarget()` now offers
   * (the engine's receiveLent): not counted by the read budget (see onRead).
   */
  transportLent(bytes: Uint8Array, length: number): number;
  /** Where the next read should land, or null: the shared read buffer. */
  readTarget(): Uint8Array | null;
  transportEnd(): void;
  transportClose(): void;
  transportError(error: Error): void;
  transportDrain(): void;
  transportFlushed(): void;
}

/** The size of the shared read buffer: what Node reads at most per read into its own buffers. */
const READ_SIZE = 64 * 1024;
/** Every in-place read that has no target lands here; the bytes are handed over before the next read. */
const SHARED = Buffer.allocUnsafeSlow(READ_SIZE);

/**
 * A socket's owner, one property for every holder in turn: the raw listener's pending socket while
 * the head is read (raw-listener.ts), then the connection. One symbol, not one per holder: an
 * accepted net.Socket has no spare in-object slot past the first property added to it, and a
 * second would give every socket a property array of its own (40 bytes).
 */
export const kSocketOwner = Symbol("wirecable.socketOwner");
const kOwner = kSocketOwner;
type Owned = Transport & { [kOwner]: TransportOwner };

// The transport's listeners, shared by every connection (Node calls them with the transport as `this`).
function onData(this: Owned, chunk: Buffer): void {
  this[kOwner].transportData(chunk);
  if (earlyCount !== 0) flushEarly();
}
function onEnd(this: Owned): void {
  this[kOwner].transportEnd();
}

type Events = { _events?: Record<string, unknown> };
/** Node's own 'end' listener of a `net.Socket` (lib/net.js onReadableStreamEnd); null: not found. */
const SOCKET_END = socketEndListener();
/** Read off a socket made for it (one, when this module loads; it has no handle). */
function socketEndListener(): ((this: Socket) => void) | null {
  const end = (new Socket() as Events)._events?.end;
  return typeof end === "function" && end.name === "onReadableStreamEnd" ? (end as (this: Socket) => void) : null;
}
/** The 'end' listener of a socket whose only one was Node's: Node's, then the owner's (as two listeners would). */
function onSocketEnd(this: Owned): void {
  SOCKET_END!.call(this as unknown as Socket);
  this[kOwner].transportEnd();
}

/** Register the owner's 'end': folded into Node's own listener's slot when that one is alone. */
function listenEnd(transport: Transport): void {
  const events = (transport as Events)._events;
  if (SOCKET_END !== null && events?.end === SOCKET_END) events.end = onSocketEnd;
  else transport.on("end", onEnd);
}
function onClose(this: Owned): void {
  if (budgetOwner === this) budgetOwner = null; // not kept (nor its connection) until another socket reads
  this[kOwner].transportClose();
}
function onError(this: Owned, error: Error): void {
  this[kOwner].transportError(error);
}
function onDrain(this: Owned): void {
  this[kOwner].transportDrain();
}
function onFlushed(this: Owned): void {
  this[kOwner].transportFlushed();
}

/** Node's `onread` state of a socket: its three symbols, found once (the same for every socket). */
interface OnreadSymbols {
  readonly buffer: symbol;
  readonly callback: symbol;
  readonly next: symbol;
}
let symbols: OnreadSymbols | null | undefined;

function onreadSymbols(socket: Socket): OnreadSymbols | null {
  if (symbols !== undefined) return symbols;
  const own = Object.getOwnPropertySymbols(socket);
  const find = (name: string) => own.find((s) => s.description === name);
  const buffer = find("kBuffer");
  const callback = find("kBufferCb");
  const next = find("kBufferGen");
  symbols = buffer && callback && next ? { buffer, callback, next } : null;
  return symbols;
}

type Handle = {
  useUserBuffer?: (buffer: Uint8Array) => void;
  reading: boolean;
  readStart(): number;
  readStop(): number;
};
type OnreadSocket = Socket & { _handle: Handle | null } & Record<symbol, unknown>;

/**
 * The buffer for the read that follows the one being handed over. Node calls `kBufferCb` as a
 * method of the socket, then `kBufferGen` as a plain function (no socket): so the callback picks
 * the next buffer and `nextBuffer` returns it.
 */
let next: Uint8Array = SHARED;

function onRead(this: Owned, n: number, buffer: Uint8Array): boolean {
  const owner = this[kOwner];
  const shared = buffer === SHARED;
  let payload = 0;
  if (shared) payload = owner.transportLent(SHARED, n);
  else owner.transportData(n === buffer.length ? buffer : buffer.subarray(0, n));
  next = owner.readTarget() ?? SHARED;
  // Large replies this read queued leave now, not after the turn's other sockets are read.
  if (earlyCount !== 0) flushEarly();
  // A large payload is not counted: read in place (its rest), or its first bytes at the end of a
  // shared read when its rest is read in place next (cheap per byte, one message per such read;
  // a compressed one is inflated off the loop, bounded by maxPayload). What is counted is every
  // other byte: frames and headers, a large frame's header included.
  if (!shared) return true;
  if (budgetOwner !== this) {
    budgetOwner = this;
    budgetLeft = READ_BUDGET;
  }
  budgetLeft -= next === SHARED ? n : n - payload;
  if (budgetLeft > READ_BUDGET / 2) return true; // a read or two: the usual case
  if (!iterationEnds) {
    iterationEnds = true;
    setImmediate(endIteration); // the count is of one iteration's reads
  }
  if (budgetLeft > 0) return true;
  budgetOwner = null;
  const socket = this as unknown as OnreadSocket;
  if (socket._handle?.reading !== true) return true; // paused (or gone) during this read: it stays so
  deferred.add(socket);
  return false; // Node stops the handle's reads: this iteration's check phase starts them again
}

/**
 * What one socket may read into the shared buffer in a row within one loop iteration (Node reads
 * up to 32 x 64 KiB from a readable socket per iteration: a flood of small frames, ~15,000 of
 * them, took 70 ms): past it, the socket waits for the next iteration, so the other sockets'
 * reads (and their round trips) come first. A large payload is not counted (see onRead): a socket
 * reads at most 4 x 64 KiB of other bytes (frames, headers) in a row, however it mixes them with
 * large frames; a socket reading only large messages is not deferred: libuv's 32 reads per
 * iteration bound it (at most ~16 messages, each a shared read and >= 16 KiB in place: >= ~80 KiB).
 */
const READ_BUDGET = 4 * READ_SIZE;
/**
 * The socket whose reads in a row are counted, and what it may still read. The count ends with
 * the iteration once half the share is read (a check-phase callback); below half it carries into
 * later iterations (no callback per iteration with reads: the latency workloads' case), so a socket
 * is deferred after more than half and at most all of its share read within one iteration.
 */
let budgetOwner: Owned | null = null;
let budgetLeft = READ_BUDGET;
/** A check-phase callback is due (armed once a socket has read half its budget in a row). */
let iterationEnds = false;
/** Sockets whose reads stopped at their budget: read again at this iteration's check phase. */
const deferred = new Set<OnreadSocket>();

/** This iteration's reads are over: counts start again, and the deferred sockets read again. */
function endIteration(): void {
  iterationEnds = false;
  budgetOwner = null;
  if (deferred.size === 0) return;
  const sockets = [...deferred];
  deferred.clear();
  for (const socket of sockets) {
    // Paused by Node's socket.pause() meanwhile (an application's connection.socket.pause(): the
    // handle was stopped already, so Node only marked the stream paused): stays so until resume().
    if (socket.readableFlowing === false) continue;
    try {
      startReads(socket);
    } catch (error) {
      socket.destroy(error as Error); // that socket alone: the others read again
    }
  }
}
function nextBuffer(): Uint8Array {
  const buffer = next;
  next = SHARED;
  return buffer;
}

/** Switch a plain TCP socket to in-place reads; false (nothing changed) when it cannot be. */
function readInPlace(socket: Transport): boolean {
  if (!(socket instanceof Socket) || (socket as { encrypted?: boolean }).encrypted === true) return false;
  const s = socket as OnreadSocket;
  const handle = s._handle;
  if (handle === null || typeof handle.useUserBuffer !== "function" || s.connecting || s.destroyed) return false;
  // Bytes Node read already and nobody took: they come first, through the stream.
  if (s.readableLength > 0) return false;
  const sym = onreadSymbols(s);
  if (sym === null || s[sym.buffer] !== null) return false;
  s[sym.callback] = onRead;
  s[sym.next] = nextBuffer;
  s[sym.buffer] = SHARED;
  handle.useUserBuffer(SHARED);
  return true;
}

/**
 * Register `owner` for the transport's events and start reading (see the module comment).
 * `inPlace` false keeps 'data' events whatever the transport.
 */
export function attachTransport(transport: Transport, owner: TransportOwner, inPlace = true): void {
  (transport as Owned)[kOwner] = owner;
  // A plain Duplex (an HTTP/2 stream, ws's handleUpgrade with a stream) has neither. Node's
  // setTimeout stores `timeout` on the transport, a property more per socket: only to clear one.
  transport.setNoDelay?.(true);
  if ((transport as { timeout?: number }).timeout) transport.setTimeout?.(0);
  if (inPlace && readInPlace(transport)) startReads(transport as OnreadSocket);
  else transport.on("data", onData);
  listenEnd(transport);
  transport.on("close", onClose);
  transport.on("error", onError);
  transport.on("drain", onDrain);
}

/**
 * Start or stop an in-place socket's reads at its handle, as net.Socket's own pause()/resume()
 * do for `onread` sockets, but without the stream's flowing machinery: Readable#resume() defers
 * a read(0) to the next tick, which would restart reads that a pause() in the same tick stopped.
 */
function startReads(socket: OnreadSocket): void {
  const handle = socket._handle;
  if (handle === null || handle.reading || socket.destroyed) return;
  handle.reading = true;
  const err = handle.readStart();
  if (err !== 0) socket.destroy(new Error(`read failed (libuv error ${err})`));
}
function stopReads(socket: OnreadSocket): void {
  const handle = socket._handle;
  if (handle === null || !handle.reading) return;
  handle.reading = false;
  handle.readStop();
}

/** Stop reading the transport: the peer's bytes wait in the kernel (or its flow control). */
export function pauseReading(transport: Transport): void {
  deferred.delete(transport as OnreadSocket); // paused by its owner: read again only on resume
  if (readsInPlace(transport)) stopReads(transport as OnreadSocket);
  else transport.pause();
}

/** Read the transport again (see {@link pauseReading}). */
export function resumeReading(transport: Transport): void {
  if (readsInPlace(transport)) startReads(transport as OnreadSocket);
  else transport.resume();
}

/** Whether the transport reads in place (shared buffer and targets) rather than through 'data' events. */
export function readsInPlace(transport: Transport): boolean {
  return symbols != null && (transport as OnreadSocket)[symbols.callback] === onRead;
}

/**
 * Bytes read with the handshake, before the owner existed: handed to `owner.transportHead` on the
 * next turn (once the owner's listeners are attached: the 'connection' handler, or the code
 * awaiting connect()), reading stopped meanwhile so that later bytes cannot overtake them.
 */
export function deliverHead(transport: Transport, owner: TransportOwner, head: Uint8Array): void {
  pauseReading(transport);
  setImmediate(() => {
    if (owner.transportHead(head)) resumeReading(transport);
  });
}

/** Stop handing the transport's bytes to its owner (it is finished). */
export function detachData(transport: Transport): void {
  transport.off("data", onData);
}

/** `owner.transportFlushed()` once the transport's writable side has finished. */
export function onceFlushed(transport: Transport): void {
  transport.once("finish", onFlushed);
}
