/**
 * A token bucket: `capacity` tokens, refilled continuously at `capacity` per `interval` ms.
 * `take(now)` spends one token and returns false when the bucket is empty. O(1), no timers:
 * the refill is computed from the elapsed time. Connection's `rateLimit` (messages, then 1008)
 * and the cable's `rateLimit` (commands, then 1008) both count with it.
 */
export class TokenBucket {
  readonly capacity: number;
  /** Tokens per millisecond. */
  readonly #rate: number;
  #tokens: number;
  #last: number;

  constructor(capacity: number, interval: number, now: number) {
    this.capacity = capacity;
    this.#rate = capacity / interval;
    this.#tokens = capacity;
    this.#last = now;
  }

  take(now: number): boolean {
    if (now > this.#last) {
      this.#tokens = Math.min(this.capacity, this.#tokens + (now - this.#last) * this.#rate);
      this.#last = now;
    }
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
