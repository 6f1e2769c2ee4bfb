/**
 * Byte helpers of the write path: output buffers carved back to back from a shared slab (so a
 * turn's frames can leave as one view), the test for such adjacency, and views of user data.
 */

import type { PreparedMessage } from "../protocol/prepared-message.js";
import type { OutputArena } from "../protocol/types.js";
import type { SendData } from "./connection-types.js";

/**
 * Output buffers come from a process-wide slab, back to back (Node's own pool aligns each
 * allocation to 8 bytes, which breaks adjacency). The frames one connection produces in a turn
 * are then usually adjacent, and `flushNow` writes them as one view instead of copying them with
 * `Buffer.concat`. Slab memory is never reused: a full slab is left to the GC once every view of
 * it is gone (as with Node's pool).
 */
const SLAB_SIZE = 64 * 1024;
/** Larger allocations get their own buffer. */
const SLAB_MAX_ALLOC = 4 * 1024;

/** Every slab's memory, to tell a view of a slab from other bytes ({@link ownBytes}). */
const slabs = new WeakSet<ArrayBufferLike>();

function newSlab(): Buffer {
  const slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
  slabs.add(slab.buffer);
  return slab;
}

/**
 * The process-wide slab as the engines' {@link OutputArena}: short frames are written straight
 * into it (no buffer object per frame) and queued as ranges (Connection#outputRange).
 */
class SlabArena implements OutputArena {
  /** Always a whole ArrayBuffer (byteOffset 0). */
  bytes: Buffer = newSlab();
  readonly maxReserve = SLAB_MAX_ALLOC;
  #used = 0;

  reserve(size: number): number {
    const used = this.#used;
    if (used + size <= SLAB_SIZE) {
      this.#used = used + size;
      return used;
    }
    this.bytes = newSlab();
    this.#used = size;
    return 0;
  }
}

export const outputArena = new SlabArena();

export function slabAlloc(size: number): Buffer {
  if (size > SLAB_MAX_ALLOC) return Buffer.allocUnsafe(size);
  const at = outputArena.reserve(size);
  return Buffer.from(outputArena.bytes.buffer, at, size);
}

/**
 * `chunk` itself, or a copy in memory of its own when it is a view of a slab. A socket that
 * already holds bytes (the peer is not reading) keeps what it is given until the peer reads: a
 * view would keep its whole 64 KiB slab, one per queued write as the slab moves on with other
 * connections' output, so that a peer that stops reading would hold every slab made meanwhile.
 * With copies, what such a socket holds is its buffered bytes (what `maxBufferedAmount` counts).
 */
export function ownBytes(chunk: Uint8Array): Uint8Array {
  if (!slabs.has(chunk.buffer)) return chunk;
  const copy = Buffer.allocUnsafeSlow(chunk.byteLength);
  copy.set(chunk);
  return copy;
}

/** Whether `chunk` is a view of an output slab. */
export function inSlab(chunk: Uint8Array): boolean {
  return slabs.has(chunk.buffer);
}

/**
 * `chunks[from..to)` copied back to back into one buffer of its own, `total` bytes. A chunk that
 * is shorter now than when it was counted (a length-tracking view of a resizable ArrayBuffer the
 * application shrank) leaves zeros, never old memory.
 */
export function joinOwn(chunks: readonly Uint8Array[], from: number, to: number, total: number): Buffer {
  const join = Buffer.allocUnsafeSlow(total);
  let at = 0;
  for (let i = from; i < to; i++) {
    const chunk = chunks[i]!;
    join.set(chunk, at);
    at += chunk.byteLength;
  }
  if (at !== total) join.fill(0, at);
  return join;
}

/** A Buffer view of `bytes[start..end)` (no copy). */
export function viewOf(bytes: Uint8Array, start: number, end: number): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start);
}

/** The chunks as one view if they lie back to back in one ArrayBuffer, else null. */
export function adjacent(chunks: Uint8Array[], total: number): Buffer | null {
  const first = chunks[0]!;
  const buffer = first.buffer;
  let end = first.byteOffset + first.byteLength;
  for (let i = 1; i < chunks.length; i++) {
    const c = chunks[i]!;
    if (c.buffer !== buffer || c.byteOffset !== end) return null;
    end += c.byteLength;
  }
  return Buffer.from(buffer, first.byteOffset, total);
}

export function toBytes(data: Exclude<SendData, string | PreparedMessage>): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new TypeError("send: expected a string, Buffer, ArrayBuffer, ArrayBufferView or PreparedMessage");
}

export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
