/**
 * Strict UTF-8 validation (RFC 3629), incremental and fail-fast.
 *
 * Contract: {@link Utf8Validator#push} consumes bytes in any split and returns false at the
 * first byte that can never start or continue a valid sequence (overlongs, surrogates,
 * code points above U+10FFFF are caught on their second byte, as Autobahn's 6.x "fail fast"
 * cases require). {@link Utf8Validator#complete} says whether the input so far ends on a
 * character boundary. {@link isValidUtf8} checks a whole buffer.
 */

export class Utf8Validator {
  /** Continuation bytes still expected in the current sequence. */
  #need = 0;
  /** Allowed range for the next continuation byte (narrower after E0, ED, F0, F4). */
  #lo = 0x80;
  #hi = 0xbf;

  /** Validate `bytes[start..end)`. Returns false at the first impossible byte (state is then undefined). */
  push(bytes: Uint8Array, start = 0, end = bytes.length): boolean {
    let need = this.#need;
    let lo = this.#lo;
    let hi = this.#hi;
    let i = start;
    while (i < end) {
      if (need === 0) {
        // ASCII run: the common case, one compare per byte.
        while (i < end && bytes[i] < 0x80) i++;
        if (i === end) break;
        const c = bytes[i++];
        if (c < 0xc2) return false; // continuation byte without a lead, or overlong C0/C1
        if (c < 0xe0) {
          need = 1;
        } else if (c < 0xf0) {
          need = 2;
          if (c === 0xe0)
            lo = 0xa0; // overlong 3-byte
          else if (c === 0xed) hi = 0x9f; // UTF-16 surrogates D800-DFFF
        } else if (c < 0xf5) {
          need = 3;
          if (c === 0xf0)
            lo = 0x90; // overlong 4-byte
          else if (c === 0xf4) hi = 0x8f; // above U+10FFFF
        } else {
          return false; // F5-FF never appear in UTF-8
        }
      } else {
        const c = bytes[i++];
        if (c < lo || c > hi) return false;
        need--;
        lo = 0x80;
        hi = 0xbf;
      }
    }
    this.#need = need;
    this.#lo = lo;
    this.#hi = hi;
    return true;
  }

  /** True if the bytes so far end on a character boundary. */
  get complete(): boolean {
    return this.#need === 0;
  }

  reset(): void {
    this.#need = 0;
    this.#lo = 0x80;
    this.#hi = 0xbf;
  }
}

const shared = new Utf8Validator();

/** Whole-buffer strict UTF-8 check. */
export function isValidUtf8(bytes: Uint8Array): boolean {
  // Fast path: pure ASCII.
  let i = 0;
  const n = bytes.length;
  while (i < n && bytes[i] < 0x80) i++;
  if (i === n) return true;
  shared.reset();
  const ok = shared.push(bytes, i, n) && shared.complete;
  shared.reset();
  return ok;
}
