/**
 * Token bucket for inbound messages: `messages` tokens refilled continuously over `interval`
 * ms. `take(now)` spends one token and returns false when the bucket is empty (the connection
 * then closes with 1008). O(1), no timers: refill is computed from the elapsed time.
 */
export class TokenBucket {
  readonly capacity: number;
  /** Tokens per millisecond. */
  readonly #rate: number;
  #tokens: number;
  #last: number;

  constructor(messages: number, interval: number, now: number) {
    this.capacity = messages;
    this.#rate = messages / interval;
    this.#tokens = messages;
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
