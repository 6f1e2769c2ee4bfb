/**
 * Masking (RFC 6455 section 5.3): `transformed-octet-i = original-octet-i XOR masking-key-octet-(i MOD 4)`.
 *
 * Contract: {@link applyMask} XORs a byte range in place, starting at any key phase so a frame's
 * payload can be unmasked piece by piece as it arrives. The bulk is done in aligned 32-bit
 * words, or for long ranges by a WebAssembly SIMD loop where the runtime has one (no import, no
 * dependency: the module's bytes are below); only the unaligned head and the tail go byte by byte.
 */

/**
 * An optional native masker with the API of the `bufferutil` addon, which the Node layer may
 * inject (`EngineOptions.masker`): `mask` copies `source` masked into `output[offset..]`,
 * `unmask` XORs a buffer in place, both from key byte 0.
 */
export interface Masker {
  mask(source: Uint8Array, mask: Uint8Array, output: Uint8Array, offset: number, length: number): void;
  unmask(buffer: Uint8Array, mask: Uint8Array): void;
}

/** Below this many bytes a native call (~60 ns flat for bufferutil) costs more than the JS loop. */
export const NATIVE_MASK_THRESHOLD = 128;

/** True on little-endian hosts (all mainstream ones); decides how the 4 key bytes form a word. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Below this length the unrolled byte loop beats the word loop, whose `.buffer`/`.byteOffset` reads cost ~60 ns (V8, Node 20). */
const WORD_THRESHOLD = 128;

/**
 * The word views below are kept for the next call only over memory of at most this many bytes
 * (a read buffer, an output slab): a larger buffer may be a whole message, which a view kept
 * process-wide must not keep alive.
 */
export const KEEP_VIEW_MAX = 64 * 1024;

/**
 * The last ArrayBuffer seen and a word view over all of it: frames parsed from one socket read
 * share a buffer, so the view is made once per read instead of once per frame.
 */
let viewBuffer: ArrayBufferLike | null = null;
let viewWords: Uint32Array = new Uint32Array(0);

function wordsOf(buffer: ArrayBufferLike): Uint32Array {
  if (buffer === viewBuffer) return viewWords;
  const words = new Uint32Array(buffer, 0, buffer.byteLength >>> 2);
  if (buffer.byteLength <= KEEP_VIEW_MAX) {
    viewBuffer = buffer;
    viewWords = words;
  }
  return words;
}

/**
 * The last chunk given to {@link chunkWords} and its view: a host that hands over the same read
 * buffer after every read gets the view made once (no `.buffer` read per call).
 */
let wordsChunk: Uint8Array | null = null;
let chunkView: Uint32Array | null = null;

/** A 32-bit view of `chunk`'s whole words from its start, for {@link unmaskWords}; null unless 4-byte aligned. */
export function chunkWords(chunk: Uint8Array): Uint32Array | null {
  if (chunk === wordsChunk) return chunkView;
  const memory = chunk.buffer;
  const view = (chunk.byteOffset & 3) === 0 ? new Uint32Array(memory, chunk.byteOffset, chunk.length >>> 2) : null;
  if (memory.byteLength <= KEEP_VIEW_MAX) {
    wordsChunk = chunk;
    chunkView = view;
  }
  return view;
}

/**
 * From this many bytes {@link applyMask} uses WebAssembly SIMD when the runtime has it: 16 bytes
 * per `v128.xor` in the module's own memory, the bytes copied in and out in pieces that stay in
 * the cache. `bench/micro/mask.mjs`, us per MiB, JS word loop / this: 108-125 / 44 at 1 MiB,
 * 115 / 54 at 8 KiB, 197 / 119 at 2 KiB (bufferutil, when the Node layer injects it: 16).
 */
export const WASM_MASK_THRESHOLD = 2048;
/** The piece copied into the module's memory at a time (a multiple of 16: the key phase holds). */
const WASM_PIECE = 32 * 1024;

/**
 * The module, assembled from its bytes (no toolchain). Its text form:
 * ```text
 * (module
 *   (memory (export "m") 1)
 *   (func (export "x") (param $n i32) (param $k i32) (local $p i32) (local $kv v128)
 *     (local.set $kv (i32x4.splat (local.get $k)))
 *     (local.set $n (i32.and (local.get $n) (i32.const -16)))
 *     (block (loop
 *       (br_if 1 (i32.ge_u (local.get $p) (local.get $n)))
 *       (v128.store (local.get $p) (v128.xor (v128.load (local.get $p)) (local.get $kv)))
 *       (local.set $p (i32.add (local.get $p) (i32.const 16)))
 *       (br 0)))))
 * ```
 * `x(n, key)` XORs memory[0 .. n & ~15) with the little-endian key word repeated.
 */
const WASM_BYTES = [
  [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], // magic, version 1
  [0x01, 0x06, 0x01, 0x60, 0x02, 0x7f, 0x7f, 0x00], // types: (i32, i32) -> ()
  [0x03, 0x02, 0x01, 0x00], // functions: one of type 0
  [0x05, 0x03, 0x01, 0x00, 0x01], // memory: 1 page (64 KiB)
  [0x07, 0x09, 0x02, 0x01, 0x6d, 0x02, 0x00, 0x01, 0x78, 0x00, 0x00], // exports: "m" memory 0, "x" func 0
  [0x0a, 0x3b, 0x01, 0x39], // code: one body of 57 bytes
  [0x02, 0x01, 0x7f, 0x01, 0x7b], // locals $p i32, $kv v128
  [0x20, 0x01, 0xfd, 0x11, 0x21, 0x03], // kv = i32x4.splat(k)
  [0x20, 0x00, 0x41, 0x70, 0x71, 0x21, 0x00], // n &= -16
  [0x02, 0x40, 0x03, 0x40], // block, loop
  [0x20, 0x02, 0x20, 0x00, 0x4f, 0x0d, 0x01], // br_if 1 (p >= n)
  [0x20, 0x02, 0x20, 0x02, 0xfd, 0x00, 0x04, 0x00, 0x20, 0x03, 0xfd, 0x51, 0xfd, 0x0b, 0x04, 0x00], // store(p, load(p) ^ kv)
  [0x20, 0x02, 0x41, 0x10, 0x6a, 0x21, 0x02], // p += 16
  [0x0c, 0x00, 0x0b, 0x0b, 0x0b], // br 0, end loop, end block, end
];

interface WasmMasker {
  readonly x: (n: number, key: number) => void;
  readonly heap: Uint8Array;
}
/** Created at the first long range; null where WebAssembly or its SIMD is missing or refused. */
let wasm: WasmMasker | null | undefined;

function loadWasm(): WasmMasker | null {
  try {
    const bytes = Uint8Array.from(WASM_BYTES.flat());
    if (typeof WebAssembly !== "object" || !WebAssembly.validate(bytes)) return null;
    const exports = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports as {
      x: (n: number, key: number) => void;
      m: WebAssembly.Memory;
    };
    return { x: exports.x, heap: new Uint8Array(exports.m.buffer) };
  } catch {
    // A runtime that refuses to compile (a browser's CSP without 'wasm-unsafe-eval').
    return null;
  }
}

/** Whether {@link applyMask} uses WebAssembly SIMD for long ranges here. */
export function wasmMaskAvailable(): boolean {
  return wasmMasker() !== null;
}

/** The module, loaded at the first call. */
function wasmMasker(): WasmMasker | null {
  if (wasm === undefined) wasm = loadWasm();
  return wasm;
}

/** {@link applyMask} through the WebAssembly module, piece by piece. */
function maskWasm(w: WasmMasker, data: Uint8Array, key: Uint8Array, phase: number, start: number, end: number): void {
  const word =
    key[phase & 3] | (key[(phase + 1) & 3] << 8) | (key[(phase + 2) & 3] << 16) | (key[(phase + 3) & 3] << 24);
  const heap = w.heap;
  for (let at = start; at < end; at += WASM_PIECE) {
    const stop = end - at < WASM_PIECE ? end : at + WASM_PIECE;
    heap.set(data.subarray(at, stop), 0);
    w.x(stop - at, word);
    data.set(heap.subarray(0, stop - at), at);
  }
  // The last (end - start) % 16 bytes (left as they were by the module); the phase is unchanged.
  const tail = end - ((end - start) & 15);
  if (tail < end) maskBytes(data, key, phase, tail, end);
}

/**
 * XOR `data[start..end)` in place with the 4-byte `key`, where `data[start]` is masked with
 * `key[phase & 3]`. Masking and unmasking are the same operation.
 */
export function applyMask(data: Uint8Array, key: Uint8Array, phase = 0, start = 0, end = data.length): void {
  const len = end - start;
  if (len < WORD_THRESHOLD) {
    maskBytes(data, key, phase, start, end);
    return;
  }
  if (len >= WASM_MASK_THRESHOLD) {
    const w = wasmMasker();
    if (w !== null) {
      maskWasm(w, data, key, phase, start, end);
      return;
    }
  }
  // Bytes up to the first 4-byte-aligned address.
  const head = (4 - ((data.byteOffset + start) & 3)) & 3;
  maskBytes(data, key, phase, start, start + head);
  const p = (head + phase) & 3;
  const k0 = key[p];
  const k1 = key[(p + 1) & 3];
  const k2 = key[(p + 2) & 3];
  const k3 = key[(p + 3) & 3];
  const word = LITTLE_ENDIAN ? k0 | (k1 << 8) | (k2 << 16) | (k3 << 24) : (k0 << 24) | (k1 << 16) | (k2 << 8) | k3;
  const count = (len - head) >>> 2;
  const view = wordsOf(data.buffer);
  let w = (data.byteOffset + start + head) >>> 2;
  const stop = w + count;
  const unrolled = w + (count & ~3);
  for (; w < unrolled; w += 4) {
    view[w] ^= word;
    view[w + 1] ^= word;
    view[w + 2] ^= word;
    view[w + 3] ^= word;
  }
  for (; w < stop; w++) view[w] ^= word;
  const done = start + head + (count << 2);
  maskBytes(data, key, (phase + head + (count << 2)) & 3, done, end);
}

/**
 * {@link applyMask} for a short range (below the word loop's threshold) that also reports whether
 * every unmasked byte is ASCII: the text validation of a short message then costs nothing more
 * (one OR per byte here instead of a second pass or a native call).
 */
export function unmaskShort(data: Uint8Array, key: Uint8Array, phase: number, start: number, end: number): boolean {
  const k0 = key[phase & 3];
  const k1 = key[(phase + 1) & 3];
  const k2 = key[(phase + 2) & 3];
  const k3 = key[(phase + 3) & 3];
  let bits = 0;
  let i = start;
  for (; i + 3 < end; i += 4) {
    const b0 = data[i] ^ k0;
    const b1 = data[i + 1] ^ k1;
    const b2 = data[i + 2] ^ k2;
    const b3 = data[i + 3] ^ k3;
    data[i] = b0;
    data[i + 1] = b1;
    data[i + 2] = b2;
    data[i + 3] = b3;
    bits |= b0 | b1 | b2 | b3;
  }
  if (i < end) bits |= data[i++] ^= k0;
  if (i < end) bits |= data[i++] ^= k1;
  if (i < end) bits |= data[i] ^= k2;
  return bits < 0x80;
}

/**
 * {@link unmaskShort} over 32-bit words only: `words` views the same memory as the bytes from
 * their first byte (a 4-byte-aligned start), so `words[i >> 2]` holds bytes `i..i+4`; `key` is
 * the masking key packed (key byte 0 in the low bits). The range's first and last words are
 * partly outside it: their other bytes are XORed with 0 (written back unchanged) and left out of
 * the ASCII test. No byte loop, no key array. The caller makes the view once per input array,
 * which keeps the word loop worth it for short payloads (a view per call costs more than it saves).
 * Requires `start < end` and `(end - 1) >> 2 < words.length`.
 */
export function unmaskWords(words: Uint32Array, key: number, phase: number, start: number, end: number): boolean {
  // The byte at offset a takes key byte (phase + a - start) & 3: in lane j of any word, (phase - start + j) & 3.
  const rot = ((phase - start) & 3) << 3;
  let word = (key >>> rot) | (key << (32 - rot)); // rot 0: a shift by 32 is one by 0, key | key
  let head = -1 << ((start & 3) << 3); // the lanes from start on
  let tail = -1 >>> ((3 - ((end - 1) & 3)) << 3); // the lanes up to end - 1
  if (!LITTLE_ENDIAN) {
    word = swap32(word);
    head = swap32(head);
    tail = swap32(tail);
  }
  let w = start >>> 2;
  const last = (end - 1) >>> 2;
  if (w === last) {
    const lanes = head & tail;
    const v = words[w] ^ (word & lanes);
    words[w] = v;
    return (v & lanes & 0x80808080) === 0;
  }
  let v = words[w] ^ (word & head);
  words[w] = v;
  let bits = v & head;
  for (w++; w + 4 <= last; w += 4) {
    const a = words[w] ^ word;
    const b = words[w + 1] ^ word;
    const c = words[w + 2] ^ word;
    const d = words[w + 3] ^ word;
    words[w] = a;
    words[w + 1] = b;
    words[w + 2] = c;
    words[w + 3] = d;
    bits |= a | b | c | d;
  }
  for (; w < last; w++) {
    v = words[w] ^ word;
    words[w] = v;
    bits |= v;
  }
  v = words[last] ^ (word & tail);
  words[last] = v;
  bits |= v & tail;
  return (bits & 0x80808080) === 0;
}

/** The 4 bytes of a 32-bit word in reverse order. */
function swap32(x: number): number {
  return ((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24);
}

/** Byte loop, unrolled by 4 with the key in locals (2x a plain `key[i & 3]` loop). */
function maskBytes(data: Uint8Array, key: Uint8Array, phase: number, start: number, end: number): void {
  const k0 = key[phase & 3];
  const k1 = key[(phase + 1) & 3];
  const k2 = key[(phase + 2) & 3];
  const k3 = key[(phase + 3) & 3];
  let i = start;
  for (; i + 3 < end; i += 4) {
    data[i] ^= k0;
    data[i + 1] ^= k1;
    data[i + 2] ^= k2;
    data[i + 3] ^= k3;
  }
  if (i < end) data[i++] ^= k0;
  if (i < end) data[i++] ^= k1;
  if (i < end) data[i] ^= k2;
}
