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
 * Large output does not wait for the end of the turn: a connection whose queue reaches
 * `EARLY_BYTES` is marked `early` too, and read-path.ts writes such queues at the end of the read
 * that queued them (`flushEarly`), before the next socket is read. A 1 MiB echo then leaves while
 * the peer is still sending, rather than after every socket of the turn has been read: what the
 * syscall batching saves is nothing beside the copy of that many bytes, and the peer waits less.
 */
import { joinOwn } from "./output-buffers.js";

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
