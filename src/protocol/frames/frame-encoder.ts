/**
 * Frame encoding (RFC 6455 section 5.2), pure functions.
 *
 * Contract: {@link writeFrameHeader} writes a header (with a given mask key, if any) into a
 * buffer; {@link encodeFrame} builds a whole frame in one buffer (masking a copy of the
 * payload when a key is given; the caller's bytes are never modified). Lengths use the minimal
 * encoding, as section 5.2 requires.
 */

import type { Opcode } from "../types.js";
import { applyMask } from "./mask.js";

/** Largest header: 2 + 8 (64-bit length) + 4 (mask key). */
export const MAX_HEADER_SIZE = 14;

/** RSV bits as they sit in the first header byte. */
export const RSV1 = 0x40;
export const RSV2 = 0x20;
export const RSV3 = 0x10;

/** Header size for a payload of `length` bytes. */
export function frameHeaderSize(length: number, masked: boolean): number {
  const base = length < 126 ? 2 : length < 65536 ? 4 : 10;
  return masked ? base + 4 : base;
}

/**
 * Write a frame header at `target[pos]`. `first` is the first byte (FIN | RSV | opcode).
 * If `key` is given its 4 bytes follow the length and the MASK bit is set.
 * Returns the offset where the payload starts.
 */
export function writeFrameHeader(
  target: Uint8Array,
  pos: number,
  first: number,
  length: number,
  key: Uint8Array | null,
): number {
  const maskBit = key === null ? 0 : 0x80;
  target[pos] = first;
  if (length < 126) {
    target[pos + 1] = maskBit | length;
    pos += 2;
  } else if (length < 65536) {
    target[pos + 1] = maskBit | 126;
    target[pos + 2] = length >>> 8;
    target[pos + 3] = length & 0xff;
    pos += 4;
  } else {
    target[pos + 1] = maskBit | 127;
    // RFC 6455 5.2: 64-bit length, most significant bit 0. JS lengths are < 2^53.
    const hi = Math.floor(length / 0x100000000);
    target[pos + 2] = hi >>> 24;
    target[pos + 3] = (hi >>> 16) & 0xff;
    target[pos + 4] = (hi >>> 8) & 0xff;
    target[pos + 5] = hi & 0xff;
    target[pos + 6] = length >>> 24;
    target[pos + 7] = (length >>> 16) & 0xff;
    target[pos + 8] = (length >>> 8) & 0xff;
    target[pos + 9] = length & 0xff;
    pos += 10;
  }
  if (key !== null) {
    target[pos] = key[0];
    target[pos + 1] = key[1];
    target[pos + 2] = key[2];
    target[pos + 3] = key[3];
    pos += 4;
  }
  return pos;
}

export interface FrameOptions {
  /** FIN bit (default true). */
  fin?: boolean;
  rsv1?: boolean;
  rsv2?: boolean;
  rsv3?: boolean;
  /** 4-byte masking key (clients MUST mask, RFC 6455 5.3). Omit for server frames. */
  maskKey?: Uint8Array | null;
  /** Buffer allocator (Node: `Buffer.allocUnsafe`). */
  alloc?: (size: number) => Uint8Array;
}

const defaultAlloc = (size: number): Uint8Array => new Uint8Array(size);

/** First header byte from its parts. */
export function firstByte(opcode: number, fin: boolean, rsv: number): number {
  return (fin ? 0x80 : 0) | rsv | opcode;
}

/** Encode one complete frame into a single new buffer. The payload is copied (and masked if a key is given). */
export function encodeFrame(opcode: Opcode | number, payload: Uint8Array, options: FrameOptions = {}): Uint8Array {
  const key = options.maskKey ?? null;
  const rsv = (options.rsv1 ? RSV1 : 0) | (options.rsv2 ? RSV2 : 0) | (options.rsv3 ? RSV3 : 0);
  const len = payload.length;
  const out = (options.alloc ?? defaultAlloc)(frameHeaderSize(len, key !== null) + len);
  const at = writeFrameHeader(out, 0, firstByte(opcode, options.fin !== false, rsv), len, key);
  out.set(payload, at);
  if (key !== null && len > 0) applyMask(out.subarray(at), key, 0);
  return out;
}
