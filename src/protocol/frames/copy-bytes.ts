/**
 * Short copies between byte arrays without allocating: `copyBytes` moves 32 bytes per step
 * through `DataView`s (four unaligned 64-bit float loads and stores, which V8 compiles to single
 * instructions; 64 bytes in ~8 ns against ~28 for 32-bit steps and ~40 for a view plus `set`).
 * A float carries every bit pattern unchanged except NaNs, which a CPU or engine may quiet:
 * the 8 bytes of a NaN go as two 32-bit integers instead, so the copy is exact for any bytes.
 *
 * Contract: the copy is exact for any offsets and overlaps nothing (source and target are
 * different memory or disjoint ranges). One `DataView` is kept per side, for the last array seen
 * there (a frame sender copies many payloads out of one input chunk into one output slab) when
 * its memory is at most `KEEP_VIEW_MAX` bytes (mask.ts: a read buffer, an output slab; a larger
 * array may be a whole message, which must not be kept alive); no other state.
 */

import { KEEP_VIEW_MAX } from "./mask.js";

let fromBytes: Uint8Array | null = null;
let fromView: DataView | null = null;
let toBytes: Uint8Array | null = null;
let toView: DataView | null = null;

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Copy `source[from..from+n)` to `target[to..to+n)` (both ranges in bounds). */
export function copyBytes(source: Uint8Array, from: number, target: Uint8Array, to: number, n: number): void {
  if (n < 8) {
    for (let i = 0; i < n; i++) target[to + i] = source[from + i];
    return;
  }
  let src = fromView!;
  if (source !== fromBytes) {
    src = viewOf(source);
    if (src.buffer.byteLength <= KEEP_VIEW_MAX) {
      fromBytes = source;
      fromView = src;
    }
  }
  let dst = toView!;
  if (target !== toBytes) {
    dst = viewOf(target);
    if (dst.buffer.byteLength <= KEEP_VIEW_MAX) {
      toBytes = target;
      toView = dst;
    }
  }
  let i = 0;
  // 32 bytes per step: four floats, one NaN test for all (NaN + anything is NaN).
  for (; i + 32 <= n; i += 32) {
    const a = src.getFloat64(from + i, true);
    const b = src.getFloat64(from + i + 8, true);
    const c = src.getFloat64(from + i + 16, true);
    const d = src.getFloat64(from + i + 24, true);
    if (Number.isNaN(a + b + c + d)) break; // the 8-byte steps below take these 32 bytes
    dst.setFloat64(to + i, a, true);
    dst.setFloat64(to + i + 8, b, true);
    dst.setFloat64(to + i + 16, c, true);
    dst.setFloat64(to + i + 24, d, true);
  }
  const longs = n & ~7;
  for (; i < longs; i += 8) {
    const v = src.getFloat64(from + i, true);
    if (!Number.isNaN(v)) dst.setFloat64(to + i, v, true);
    else {
      dst.setUint32(to + i, src.getUint32(from + i, true), true);
      dst.setUint32(to + i + 4, src.getUint32(from + i + 4, true), true);
    }
  }
  if ((n & 4) !== 0) {
    dst.setUint32(to + i, src.getUint32(from + i, true), true);
    i += 4;
  }
  for (; i < n; i++) target[to + i] = source[from + i];
}

/** Forget the cached views (tests; or to release the last arrays seen). */
export function releaseCopyViews(): void {
  fromBytes = fromView = toBytes = toView = null;
}
