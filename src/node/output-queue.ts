/**
 * One connection's output of the current event-loop turn, written out in one go.
 *
 * Contract: `push` queues a chunk as it is (no copy); `pushRange` queues frames the engine wrote
 * into the output arena, extending the current run while they are adjacent (no object per
 * frame); `pushShared` queues a prepared message's frame (shared by many connections), as a
 * node of the turn's tree of frame sequences while the queue holds nothing else. `writeTo`
 * empties the queue with ONE `socket.write` (one view, a shared frame as it is, or one
 * concatenation up to 64 KiB: a sequence of shared frames joined once for every connection that
 * has it, other chunks joined once per flush pass for the connections writing the same ones: see
 * flush-queue.ts) or, above that, one writev (cork/uncork); it throws what `socket.write` throws.
 * `done`, if given, is the last write's callback (run once everything is handed to the kernel).
 * Order is kept across chunks and ranges. What a socket whose peer does not read keeps is its
 * own bytes, not a 64 KiB output slab per write: with `backedUp` (the socket holds bytes already)
 * a view of a slab is written as a copy (output-buffers.ts `ownBytes`), and so is every stretch of
 * such views in a writev (what the kernel does not take of one stays, and it may span many slabs);
 * joins are copies already (flush-queue.ts `joinChunks`).
 */
import type { Writable } from "node:stream";
import { joinChunks, type SharedRun, sharedRoot } from "./flush-queue.js";
import { adjacent, inSlab, joinOwn, ownBytes, viewOf } from "./output-buffers.js";

/** A write of nothing, for a callback once what came before it is written. */
export const EMPTY_BUFFER = Buffer.alloc(0);
/** Concatenate a turn's chunks up to this size (one copy); above, write them with cork/writev. */
const CONCAT_LIMIT = 64 * 1024;

export class OutputQueue {
  /** Bytes queued. */
  size = 0;
  /** Chunks (and ended runs); null while nothing but the current run is queued. */
  #chunks: Uint8Array[] | null = null;
  /** The latest run of adjacent arena frames, not yet in #chunks. */
  #run: Uint8Array | null = null;
  #runStart = 0;
  #runEnd = 0;
  /** Shared frames queued while nothing else is (see `pushShared`): only while #chunks and #run are null. */
  #shared: SharedRun | null = null;

  push(chunk: Uint8Array): void {
    if (this.#run !== null) this.#endRun();
    else if (this.#shared !== null) this.#endShared();
    (this.#chunks ??= []).push(chunk);
    this.size += chunk.byteLength;
  }

  pushRange(bytes: Uint8Array, start: number, end: number): void {
    this.size += end - start;
    if (this.#run === bytes && this.#runEnd === start) {
      this.#runEnd = end;
      return;
    }
    if (this.#run !== null) this.#endRun();
    else if (this.#shared !== null) this.#endShared();
    this.#run = bytes;
    this.#runStart = start;
    this.#runEnd = end;
  }

  /**
   * A frame shared by many connections and never modified (a prepared message's: the same object
   * always holds the same bytes). A queue holding nothing but such frames keeps them as a node of
   * the turn's tree of frame sequences (flush-queue.ts `SharedRun`): the recipients of a turn's
   * broadcasts walk the same path, so there is no list per connection, and each sequence is
   * joined once for all. Anything else goes as `push`.
   */
  pushShared(frame: Uint8Array): void {
    if (this.#chunks !== null || this.#run !== null) {
      this.push(frame);
      return;
    }
    this.#shared = (this.#shared ?? sharedRoot).extend(frame);
    this.size += frame.byteLength;
  }

  clear(): void {
    this.#chunks = null;
    this.#run = null;
    this.#shared = null;
    this.size = 0;
  }

  /** Write everything queued (see the module comment) and empty the queue. */
  writeTo(socket: Writable, done?: (error?: Error | null) => void, backedUp = false): void {
    const shared = this.#shared;
    const bytes = this.size;
    if (shared !== null) {
      // Shared frames only (a turn's broadcasts): one frame as it is (its own memory, shared by
      // every recipient), several as their sequence's one join (memory of its own, shared too).
      if (shared.count === 1) {
        this.clear();
        socket.write(shared.frame, done);
        return;
      }
      if (bytes <= CONCAT_LIMIT) {
        this.clear();
        socket.write(shared.join(), done);
        return;
      }
      this.#endShared(); // a writev of the frames as they are (below)
    }
    const chunks = this.#chunks;
    const run = this.#run;
    if (chunks === null) {
      // The usual case: nothing but one run of frames in the arena, written as one view.
      if (run !== null) {
        const view = viewOf(run, this.#runStart, this.#runEnd);
        this.clear();
        socket.write(backedUp ? ownBytes(view) : view, done);
      } else if (done !== undefined) socket.write(EMPTY_BUFFER, done);
      return;
    }
    if (run !== null) this.#endRun();
    this.clear();
    if (chunks.length === 1) {
      socket.write(backedUp ? ownBytes(chunks[0]!) : chunks[0]!, done);
    } else if (bytes <= CONCAT_LIMIT) {
      const view = adjacent(chunks, bytes);
      // a join is a copy already (shared by the pass's connections writing the same chunks)
      socket.write(view === null ? joinChunks(chunks, bytes) : backedUp ? ownBytes(view) : view, done);
    } else {
      // Views of a slab are copied here even while the socket keeps up (each stretch of them
      // into one buffer): what the kernel does not take of a writev stays with the socket, and
      // such a turn can span many slabs. Other chunks go as they are.
      socket.cork();
      const last = chunks.length - 1;
      let from = -1;
      let stretch = 0;
      for (let i = 0; i <= last; i++) {
        const chunk = chunks[i]!;
        if (inSlab(chunk)) {
          if (from < 0) from = i;
          stretch += chunk.byteLength;
          continue;
        }
        if (from >= 0) {
          socket.write(joinOwn(chunks, from, i, stretch));
          from = -1;
          stretch = 0;
        }
        socket.write(chunk, i === last ? done : undefined);
      }
      if (from >= 0) socket.write(joinOwn(chunks, from, chunks.length, stretch), done);
      socket.uncork(); // one writev
    }
  }

  /** Move the shared frames to #chunks, one chunk each (#chunks and #run are null meanwhile). */
  #endShared(): void {
    this.#chunks = this.#shared!.frames();
    this.#shared = null;
  }

  /** Move the current run to #chunks as one view. */
  #endRun(): void {
    (this.#chunks ??= []).push(viewOf(this.#run!, this.#runStart, this.#runEnd));
    this.#run = null;
  }
}
