/**
 * Short copies between byte arrays without allocating: `copyBytes` moves 4 bytes per step
 * through `DataView`s (unaligned 32-bit loads and stores, which V8 compiles to single
 * instructions), about twice as fast as a byte loop and well under a `Uint8Array` view plus
 * `set` (one allocation, ~80-100 ns) up to ~128 bytes.
 *
 * Contract: the copy is exact for any offsets and overlaps nothing (source and target are
 * different memory or disjoint ranges). One `DataView` is kept per side, for the last array seen
 * there (a frame sender copies many payloads out of one input chunk into one output slab); no
 * other state, and nothing is retained but those two arrays.
 */

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
  if (source !== fromBytes) {
    fromBytes = source;
    fromView = viewOf(source);
  }
  if (target !== toBytes) {
    toBytes = target;
    toView = viewOf(target);
  }
  const src = fromView!;
  const dst = toView!;
  const words = n & ~3;
  let i = 0;
  for (; i < words; i += 4) dst.setUint32(to + i, src.getUint32(from + i, true), true);
  for (; i < n; i++) target[to + i] = source[from + i];
}

/** Forget the cached views (tests; or to release the last arrays seen). */
export function releaseCopyViews(): void {
  fromBytes = fromView = toBytes = toView = null;
}
