/**
 * Outgoing framing for one connection: builds frames and hands each to its {@link FrameOutput}.
 *
 * Contract:
 * - Clients mask every frame with a fresh key from the {@link RandomPool} (RFC 6455 5.3); the
 *   caller's bytes are copied, never modified.
 * - Small frames go out as one buffer (header + payload, from `alloc`). Large unmasked
 *   payloads (servers) go out as a header chunk and the payload itself, without a copy.
 * - Short strings are UTF-8 encoded straight into the frame buffer (no intermediate bytes).
 * - `message()` splits a payload into frames of `fragmentSize` bytes when that is set.
 */

import type { FrameOutput, OutputArena } from "../types.js";
import { copyBytes } from "./copy-bytes.js";
import { frameHeaderSize, MAX_HEADER_SIZE, writeFrameHeader } from "./frame-encoder.js";
import { applyMask, type Masker, NATIVE_MASK_THRESHOLD } from "./mask.js";
import { type RandomFill, RandomPool } from "./random-pool.js";

/**
 * Above this payload size a server frame is written as header + payload (no copy). Header and
 * payload together stay under 4 KiB, the largest allocation Node serves from its Buffer pool:
 * bigger copies would cost an ArrayBuffer each, more than the extra chunk does.
 */
export const COPY_THRESHOLD = 4 * 1024 - MAX_HEADER_SIZE;
/** Strings up to this many UTF-16 units are first tried as ASCII, written byte by byte. */
const ASCII_STRING = 128;
/** Strings up to this many UTF-16 units are encoded into the frame buffer directly (<= 3 bytes each). */
const SMALL_STRING = 1024;

/** Payloads up to this many bytes are copied into the frame buffer by `copy` (larger ones are framed as a view). */
const SHORT_COPY = 256;
/**
 * Up to this many bytes `copyBytes` (4 bytes per step, no allocation) beats a `Uint8Array` view
 * plus `set` (~80-100 ns flat on V8/Node 20).
 */
const WORD_COPY = 128;

const encoder = new TextEncoder();
const NO_KEY = new Uint8Array(0);

export interface FrameSenderOptions {
  role: "server" | "client";
  alloc: (size: number) => Uint8Array;
  randomFill?: RandomFill;
  fragmentSize: number;
  /** Where frames go (the engine's host). */
  out: FrameOutput;
  /** Short server frames are written into this arena and reported with `out.outputRange`. */
  arena?: OutputArena | undefined;
  masker?: Masker | undefined;
}

export class FrameSender {
  /** `copy` copies payloads up to this many bytes; longer ones it frames as views. */
  static readonly SHORT_COPY = SHORT_COPY;
  readonly #mask: boolean;
  readonly #alloc: (size: number) => Uint8Array;
  readonly #pool: RandomPool | null;
  readonly #fragmentSize: number;
  /** Where frames go; replaced once by an engine that held its output until open(). */
  out: FrameOutput;
  readonly #arena: OutputArena | null;
  /** The mask key being written (clients only; servers share an unused one). */
  readonly #key: Uint8Array;
  readonly #masker: Masker | null;

  constructor(options: FrameSenderOptions) {
    this.#masker = options.masker ?? null;
    this.#mask = options.role === "client";
    this.#key = this.#mask ? new Uint8Array(4) : NO_KEY;
    this.#alloc = options.alloc;
    this.#pool = this.#mask ? new RandomPool(options.randomFill) : null;
    this.#fragmentSize = options.fragmentSize;
    this.out = options.out;
    this.#arena = options.arena ?? null;
  }

  /** One frame. `rsv` holds RSV bits as in the first header byte. */
  frame(opcode: number, fin: boolean, rsv: number, payload: Uint8Array): void {
    const len = payload.length;
    const first = (fin ? 0x80 : 0) | rsv | opcode;
    if (this.#mask) {
      const key = this.#key;
      this.#pool!.next4(key, 0);
      const buf = this.#alloc(frameHeaderSize(len, true) + len);
      const at = writeFrameHeader(buf, 0, first, len, key);
      if (this.#masker !== null && len >= NATIVE_MASK_THRESHOLD) this.#masker.mask(payload, key, buf, at, len);
      else if (len > 0) {
        buf.set(payload, at);
        applyMask(buf, key, 0, at, at + len);
      }
      this.out.output(buf);
      return;
    }
    const arena = this.#arena;
    if (arena !== null && len + 10 <= arena.maxReserve) {
      const size = frameHeaderSize(len, false) + len;
      const start = arena.reserve(size);
      const buf = arena.bytes;
      const at = writeFrameHeader(buf, start, first, len, null);
      if (len > 0) buf.set(payload, at);
      this.out.outputRange(buf, start, start + size);
      return;
    }
    if (len <= COPY_THRESHOLD) {
      const buf = this.#alloc(frameHeaderSize(len, false) + len);
      const at = writeFrameHeader(buf, 0, first, len, null);
      if (len > 0) buf.set(payload, at);
      this.out.output(buf);
      return;
    }
    const header = this.#alloc(frameHeaderSize(len, false));
    writeFrameHeader(header, 0, first, len, null);
    this.out.output(header);
    this.out.output(payload);
  }

  /** A whole message: one frame, or frames of `fragmentSize` bytes (RFC 6455 5.4). */
  message(opcode: number, rsv: number, payload: Uint8Array): void {
    const size = this.#fragmentSize;
    if (size === 0 || payload.length <= size) {
      this.frame(opcode, true, rsv, payload);
      return;
    }
    this.fragments(opcode, rsv, payload, true);
  }

  /** Frames of at most `fragmentSize` bytes; the first carries `opcode` and `rsv`, the rest are continuations. */
  fragments(opcode: number, rsv: number, payload: Uint8Array, fin: boolean): void {
    const size = this.#fragmentSize > 0 ? this.#fragmentSize : payload.length;
    let at = 0;
    do {
      const end = Math.min(at + size, payload.length);
      this.frame(at === 0 ? opcode : 0, fin && end === payload.length, at === 0 ? rsv : 0, payload.subarray(at, end));
      at = end;
    } while (at < payload.length);
  }

  /**
   * A whole message whose payload is `chunk[start..end)`: short payloads are copied into the
   * frame buffer (up to WORD_COPY bytes by `copyBytes`, without the view that `set` needs).
   */
  copy(opcode: number, chunk: Uint8Array, start: number, end: number): void {
    const n = end - start;
    if (this.#mask || n > SHORT_COPY || (this.#fragmentSize > 0 && n > this.#fragmentSize)) {
      this.message(opcode, 0, chunk.subarray(start, end));
      return;
    }
    const header = n < 126 ? 2 : 4;
    const arena = this.#arena;
    if (arena !== null) {
      const at = arena.reserve(header + n);
      const buf = arena.bytes;
      if (header === 2) {
        // The usual short echo: its 2-byte header in place (no call on the per-message path).
        buf[at] = 0x80 | opcode;
        buf[at + 1] = n;
      } else writeFrameHeader(buf, at, 0x80 | opcode, n, null);
      if (n <= WORD_COPY) copyBytes(chunk, start, buf, at + header, n);
      else buf.set(new Uint8Array(chunk.buffer, chunk.byteOffset + start, n), at + header);
      this.out.outputRange(buf, at, at + header + n);
      return;
    }
    const buf = this.#alloc(header + n);
    writeFrameHeader(buf, 0, 0x80 | opcode, n, null);
    copyBytes(chunk, start, buf, header, n);
    this.out.output(buf);
  }

  /** A text or binary message from a string, encoded into the frame buffer when short. */
  string(opcode: number, text: string): void {
    const n = text.length;
    if (n > SMALL_STRING || (this.#fragmentSize > 0 && n * 3 > this.#fragmentSize)) {
      this.message(opcode, 0, encoder.encode(text));
      return;
    }
    if (n <= ASCII_STRING && this.#ascii(opcode, text)) return;
    const masked = this.#mask;
    const maxBytes = n * 3;
    const maxHeader = frameHeaderSize(maxBytes, masked);
    const buf = this.#alloc(maxHeader + maxBytes);
    const written = n === 0 ? 0 : encoder.encodeInto(text, buf.subarray(maxHeader)).written;
    // The header goes right before the payload; it is never longer than maxHeader.
    const start = maxHeader - frameHeaderSize(written, masked);
    let key: Uint8Array | null = null;
    if (masked) {
      key = this.#key;
      this.#pool!.next4(key, 0);
    }
    writeFrameHeader(buf, start, 0x80 | opcode, written, key);
    if (key !== null && written > 0) applyMask(buf, key, 0, maxHeader, maxHeader + written);
    const end = maxHeader + written;
    this.out.output(start === 0 && end === buf.length ? buf : buf.subarray(start, end));
  }

  /** A short string, if it is all ASCII: one exact allocation, no encoder call. */
  #ascii(opcode: number, text: string): boolean {
    const n = text.length;
    const masked = this.#mask;
    const header = frameHeaderSize(n, masked);
    const arena = this.#arena;
    if (arena !== null && !masked) {
      // Checked before reserving: arena bytes are never given back.
      for (let i = 0; i < n; i++) if (text.charCodeAt(i) >= 0x80) return false;
      const at = arena.reserve(header + n);
      const buf = arena.bytes;
      const to = at + header;
      for (let i = 0; i < n; i++) buf[to + i] = text.charCodeAt(i);
      writeFrameHeader(buf, at, 0x80 | opcode, n, null);
      this.out.outputRange(buf, at, to + n);
      return true;
    }
    const buf = this.#alloc(header + n);
    for (let i = 0; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c >= 0x80) return false;
      buf[header + i] = c;
    }
    let key: Uint8Array | null = null;
    if (masked) {
      key = this.#key;
      this.#pool!.next4(key, 0);
    }
    writeFrameHeader(buf, 0, 0x80 | opcode, n, key);
    if (key !== null && n > 0) applyMask(buf, key, 0, header, header + n);
    this.out.output(buf);
    return true;
  }
}
