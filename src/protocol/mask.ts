/**
 * Masking (RFC 6455 section 5.3): `transformed-octet-i = original-octet-i XOR masking-key-octet-(i MOD 4)`.
 *
 * Contract: {@link applyMask} XORs a byte range in place, starting at any key phase so a frame's
 * payload can be unmasked piece by piece as it arrives. The bulk is done in aligned 32-bit
 * words; only the unaligned head and the tail go byte by byte.
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

/** Below this many bytes a native call costs more than the JS loop (ws uses 48 B for the same choice). */
export const NATIVE_MASK_THRESHOLD = 64;

/** True on little-endian hosts (all mainstream ones); decides how the 4 key bytes form a word. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Below this length a byte loop beats creating a word view. */
const WORD_THRESHOLD = 32;

/**
 * XOR `data[start..end)` in place with the 4-byte `key`, where `data[start]` is masked with
 * `key[phase & 3]`. Masking and unmasking are the same operation.
 */
export function applyMask(data: Uint8Array, key: Uint8Array, phase = 0, start = 0, end = data.length): void {
  const len = end - start;
  if (len < WORD_THRESHOLD) {
    for (let i = 0; i < len; i++) data[start + i] ^= key[(i + phase) & 3];
    return;
  }
  // Bytes up to the first 4-byte-aligned address.
  let i = (4 - ((data.byteOffset + start) & 3)) & 3;
  for (let j = 0; j < i; j++) data[start + j] ^= key[(j + phase) & 3];
  const p = (i + phase) & 3;
  const k0 = key[p];
  const k1 = key[(p + 1) & 3];
  const k2 = key[(p + 2) & 3];
  const k3 = key[(p + 3) & 3];
  const word = LITTLE_ENDIAN ? k0 | (k1 << 8) | (k2 << 16) | (k3 << 24) : (k0 << 24) | (k1 << 16) | (k2 << 8) | k3;
  const words = (len - i) >>> 2;
  const view = new Uint32Array(data.buffer, data.byteOffset + start + i, words);
  let w = 0;
  const unrolled = words & ~3;
  for (; w < unrolled; w += 4) {
    view[w] ^= word;
    view[w + 1] ^= word;
    view[w + 2] ^= word;
    view[w + 3] ^= word;
  }
  for (; w < words; w++) view[w] ^= word;
  i += words << 2;
  for (; i < len; i++) data[start + i] ^= key[(i + phase) & 3];
}
