/**
 * Per-turn write batching. A connection that produces output marks itself dirty here; one
 * `setImmediate` per event-loop turn (shared by every dirty connection of the process) then
 * flushes each with a single write, so 100 sends in one turn cost one syscall, not 100.
 *
 * Within one flush pass, connections whose output is the very same chunks in the same order (a
 * turn's broadcasts reach every subscriber alike) share one join of them (`joinChunks`): one copy
 * per pass instead of one per connection. Only within a pass: no other code runs between its
 * writes, so chunks queued without a copy cannot change meanwhile.
 *
 * Prepared messages' frames (shared by their recipients, never modified) are queued as a path in
 * the turn's tree of frame sequences (`SharedRun`): connections that received the same frames in
 * the same order end at the same node, whose join they share whatever the flush order or rooms
 * interleaving; no pass cache is involved. A new tree starts after an early flush and with each
 * pass (a sequence queued across that point lies on two trees and is joined once per tree).
 *
 * Large output does not wait for the end of the turn: a connection whose queue reaches
 * `EARLY_BYTES` is marked `early` too, and read-path.ts writes such queues at the end of the read
 * that queued them (`flushEarly`), before the next socket is read. A 1 MiB echo then leaves while
 * the peer is still sending, rather than after every socket of the turn has been read: what the
 * syscall batching saves is nothing beside the copy of that many bytes, and the peer waits less.
 */
import { asBuffer, joinOwn } from "./output-buffers.js";

export interface Flushable {
  /** Write what is queued now: an early flush (`markEarly`); the target stays on the turn's list. */
  flushNow(): void;
  /** The turn's flush (`markDirty`): the target is off the turn's list once this is called. */
  flushTurn(): void;
}

let dirty: Flushable[] = [];
let spare: Flushable[] = [];
let scheduled = false;
/** The last join of the running flush pass and its chunks (null outside a pass). */
let joinedChunks: readonly Uint8Array[] | null = null;
let joined: Buffer | null = null;
let flushing = false;

/**
 * A sequence of shared frames (prepared messages' frames, OutputQueue.pushShared): `frame` after
 * the sequence `prev`; a node of the turn's tree rooted at `sharedRoot`. Every queue that received
 * exactly these frames in this order holds this node: its join (`join()`) is made once, holds
 * nothing but those frames' bytes and is shared by them all. Frames are never modified, so a
 * node's bytes never change. The root is replaced after an early flush and when a flush pass
 * starts: a queue still on the old tree keeps the whole old tree until its own flush, no longer.
 */
export class SharedRun {
  /**
   * The frame as a Buffer view of its memory, made once per node: a socket write of a plain
   * Uint8Array wraps it in a new Buffer per call (Writable.write), that is per recipient.
   */
  readonly frame: Buffer;
  readonly prev: SharedRun | null;
  /** Frames in the sequence (0 for a root). */
  readonly count: number;
  /** The one sequence continuing this one so far and its frame (the usual case: one broadcast order). */
  #nextFrame: Uint8Array | null = null;
  #next: SharedRun | null = null;
  /** Further continuations (rooms whose broadcasts interleave), by frame. */
  #more: Map<Uint8Array, SharedRun> | null = null;
  #join: Buffer | null = null;

  constructor(frame: Uint8Array, prev: SharedRun | null) {
    this.frame = asBuffer(frame);
    this.prev = prev;
    this.count = prev === null ? 0 : prev.count + 1;
  }

  /** The sequence of this one's frames followed by `frame`. */
  extend(frame: Uint8Array): SharedRun {
    return this.#nextFrame === frame ? this.#next! : this.#branch(frame); // small: inlined into the delivery path
  }

  #branch(frame: Uint8Array): SharedRun {
    if (this.#nextFrame === null) {
      this.#nextFrame = frame;
      return (this.#next = new SharedRun(frame, this));
    }
    const more = (this.#more ??= new Map());
    let run = more.get(frame);
    if (run === undefined) more.set(frame, (run = new SharedRun(frame, this)));
    return run;
  }

  /** The frames, first to last. */
  frames(): Buffer[] {
    const frames = new Array<Buffer>(this.count);
    for (let run: SharedRun = this, i = this.count - 1; i >= 0; run = run.prev!, i--) frames[i] = run.frame;
    return frames;
  }

  /** The frames as one buffer of its own, made once. */
  join(): Buffer {
    if (this.#join !== null) return this.#join;
    let total = 0;
    for (let run: SharedRun = this; run.count !== 0; run = run.prev!) total += run.frame.byteLength;
    return (this.#join = joinOwn(this.frames(), 0, this.count, total));
  }

  get used(): boolean {
    return this.#nextFrame !== null;
  }
}

/** The root of this turn's tree of shared frame sequences (see SharedRun). */
export let sharedRoot = new SharedRun(new Uint8Array(0), null);

/** A connection's queue this large is written at the end of the read that filled it. */
export const EARLY_BYTES = 64 * 1024;
/** Outputs past EARLY_BYTES since the last read ended (flushed by `flushEarly`). */
let early: Flushable[] = [];
/** How many outputs wait in `early`: read-path.ts tests this after each read. */
export let earlyCount = 0;

/** Queue `target.flushNow()` for the end of the current read (it also stays marked for the turn's flush). */
export function markEarly(target: Flushable): void {
  early.push(target);
  earlyCount++;
}

/**
 * Write the outputs marked by `markEarly` now. They stay on the turn's list (once: more output
 * in the same turn does not list them again) and the turn's flush writes whatever came after.
 */
export function flushEarly(): void {
  // A fresh list: a spare array emptied with `length = 0` (in a try/finally) measured ~40 ns
  // more per call than allocating an empty one.
  const list = early;
  early = [];
  earlyCount = 0;
  for (let i = 0; i < list.length; i++) list[i]!.flushNow();
  newTree(); // the frames and joins of the flushed queues are not kept for the rest of the turn
}

/** Shared frames queued from now on start a new tree (queues still on the old one keep it until their flush). */
function newTree(): void {
  if (sharedRoot.used) sharedRoot = new SharedRun(sharedRoot.frame, null);
}

function flushAll(): void {
  scheduled = false;
  // Marks made outside a read (a timer's send) are written by this pass: every marked target is dirty too.
  if (earlyCount !== 0) {
    early = [];
    earlyCount = 0;
  }
  const list = dirty;
  dirty = spare;
  flushing = true;
  newTree(); // a broadcast during the pass does not keep this turn's tree for another turn
  let i = 0;
  try {
    for (; i < list.length; i++) list[i]!.flushTurn();
  } finally {
    flushing = false;
    joinedChunks = null;
    joined = null;
    // A throw out of one target's flush (a custom transport's synchronous write or end) must not
    // strand the targets after it: they are still listed, so they go on the next turn's list.
    for (let j = i + 1; j < list.length; j++) markDirty(list[j]!);
    list.length = 0;
    spare = list;
  }
}

/** Queue `target.flushTurn()` for the end of this turn. Call once per turn at most. */
export function markDirty(target: Flushable): void {
  dirty.push(target);
  if (!scheduled) {
    scheduled = true;
    setImmediate(flushAll);
  }
}

/**
 * `chunks` (`total` bytes) as one Buffer: the previous join of this flush pass when it joined the
 * same chunks. A join is memory of its own, not a slice of Node's shared pool: a socket whose peer
 * does not read keeps its writes, and a slice would keep a whole 8 KiB pool page per write.
 */
export function joinChunks(chunks: readonly Uint8Array[], total: number): Buffer {
  const last = joinedChunks;
  if (last !== null && last.length === chunks.length) {
    let i = 0;
    while (i < chunks.length && chunks[i] === last[i]) i++;
    if (i === chunks.length) return joined!;
  }
  const join = joinOwn(chunks, 0, chunks.length, total);
  if (flushing) {
    joinedChunks = chunks;
    joined = join;
  }
  return join;
}
