/**
 * A deterministic clock for the client: timers fire only inside `advance(ms)`, in due order;
 * `random()` returns the values queued with `randoms` (then `defaultRandom`).
 */
import type { Clock } from "../../../src/client/index.js";

interface Timer {
  id: number;
  at: number;
  callback: () => void;
}

export class FakeClock implements Clock {
  #now = 0;
  #seq = 0;
  #timers: Timer[] = [];
  randoms: number[] = [];
  defaultRandom = 0.5;
  /** Every delay passed to setTimeout, in order (to assert on backoff schedules). */
  readonly scheduled: number[] = [];

  setTimeout = (callback: () => void, ms: number): unknown => {
    const timer = { id: ++this.#seq, at: this.#now + Math.max(0, ms), callback };
    this.scheduled.push(ms);
    this.#timers.push(timer);
    return timer.id;
  };

  clearTimeout = (handle: unknown): void => {
    this.#timers = this.#timers.filter((t) => t.id !== handle);
  };

  now = (): number => this.#now;

  random = (): number => (this.randoms.length > 0 ? this.randoms.shift()! : this.defaultRandom);

  get pending(): number {
    return this.#timers.length;
  }

  /** Move time forward, firing due timers in order (including ones they schedule). */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      const due = this.#timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.#timers = this.#timers.filter((t) => t !== due);
      this.#now = due.at;
      due.callback();
    }
    this.#now = end;
  }
}
