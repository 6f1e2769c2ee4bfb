/**
 * Incremental UTF-8 validation (RFC 3629 section 4), for hixie text frames whose bytes arrive
 * in pieces. Rejects overlong forms, surrogates (U+D800..U+DFFF) and code points above
 * U+10FFFF, as RFC 6455 section 8.1 requires of text messages.
 *
 * Contract: `push(bytes, start, end)` returns false at the first invalid byte (fail fast);
 * `complete` is true when no multi-byte sequence is left open; `reset()` starts a new message.
 */
export class Utf8Validator {
  /** Continuation bytes still expected in the current sequence. */
  #needed = 0;
  /** Allowed range of the next continuation byte (narrowed after E0, ED, F0, F4). */
  #lower = 0x80;
  #upper = 0xbf;

  get complete(): boolean {
    return this.#needed === 0;
  }

  reset(): void {
    this.#needed = 0;
    this.#lower = 0x80;
    this.#upper = 0xbf;
  }

  push(bytes: Uint8Array, start = 0, end = bytes.length): boolean {
    let needed = this.#needed;
    let lower = this.#lower;
    let upper = this.#upper;
    for (let i = start; i < end; i++) {
      const byte = bytes[i];
      if (needed === 0) {
        if (byte < 0x80) continue;
        if (byte >= 0xc2 && byte <= 0xdf) {
          needed = 1;
        } else if (byte >= 0xe0 && byte <= 0xef) {
          needed = 2;
          if (byte === 0xe0) lower = 0xa0; // overlong
          if (byte === 0xed) upper = 0x9f; // surrogates
        } else if (byte >= 0xf0 && byte <= 0xf4) {
          needed = 3;
          if (byte === 0xf0) lower = 0x90; // overlong
          if (byte === 0xf4) upper = 0x8f; // above U+10FFFF
        } else {
          return this.#fail();
        }
      } else {
        if (byte < lower || byte > upper) return this.#fail();
        lower = 0x80;
        upper = 0xbf;
        needed--;
      }
    }
    this.#needed = needed;
    this.#lower = lower;
    this.#upper = upper;
    return true;
  }

  #fail(): false {
    this.reset();
    return false;
  }
}
