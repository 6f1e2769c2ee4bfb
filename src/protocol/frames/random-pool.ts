/**
 * Mask-key entropy for clients (RFC 6455 5.3: keys MUST come from a strong source of entropy
 * and be unpredictable). Draws from `randomFill` in blocks, so a key costs four byte copies
 * instead of a call into the crypto layer per frame.
 */

/** 8 KiB: 2048 keys per refill; well below getRandomValues' 65,536-byte cap. */
const POOL_SIZE = 8 * 1024;

export type RandomFill = (target: Uint8Array) => void;

/** crypto.getRandomValues (Web Crypto global, present in Node >= 19 and browsers). */
export const defaultRandomFill: RandomFill = (target) => {
  crypto.getRandomValues(target);
};

export class RandomPool {
  readonly #fill: RandomFill;
  readonly #pool: Uint8Array;
  #pos: number;

  constructor(fill: RandomFill = defaultRandomFill, size = POOL_SIZE) {
    this.#fill = fill;
    this.#pool = new Uint8Array(size);
    this.#pos = size;
  }

  /** Write 4 fresh random bytes to `target[offset..offset+4)`. */
  next4(target: Uint8Array, offset: number): void {
    if (this.#pos + 4 > this.#pool.length) {
      this.#fill(this.#pool);
      this.#pos = 0;
    }
    const p = this.#pool;
    const i = this.#pos;
    target[offset] = p[i];
    target[offset + 1] = p[i + 1];
    target[offset + 2] = p[i + 2];
    target[offset + 3] = p[i + 3];
    this.#pos = i + 4;
  }
}
