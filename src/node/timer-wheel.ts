/**
 * One hashed timer wheel for every connection of the process (uWS's habit): a single unref'd
 * `setTimeout` chain ticks every `resolution` ms while anything is scheduled and stops when the
 * wheel is empty, so 100,000 idle connections cost one timer, not 100,000.
 *
 * Contract: an entry is an object with a `deadline` (ms on the wheel clock) and `onTimer()`.
 * `schedule(entry, at)` (re)places it, `cancel(entry)` removes it; each entry is in at most one
 * bucket. Entries fire at most `resolution` ms late, never early. `onTimer` exceptions are
 * caught (reported through `process.emitWarning`) so one bad entry cannot stop the wheel.
 * Callers that see frequent activity (every message) do not reschedule: they record a
 * timestamp from the cheap cached clock {@link TimerWheel.now} and re-arm lazily when fired.
 */

export interface TimerEntry {
  /** Set by the wheel: when the entry fires (wheel clock), or -1 when unscheduled. */
  deadline: number;
  /** Set by the wheel: the bucket holding the entry, or -1. */
  slot: number;
  onTimer(): void;
}

const SLOTS = 512;

export class TimerWheel {
  readonly resolution: number;
  #buckets: Array<Set<TimerEntry>> = [];
  #count = 0;
  #timer: NodeJS.Timeout | undefined;
  #now = Date.now();
  /** The next tick index to process (deadline / resolution, floored). */
  #cursor = 0;
  #ticking = false;

  constructor(resolution = 50) {
    this.resolution = resolution;
    for (let i = 0; i < SLOTS; i++) this.#buckets.push(new Set());
    this.#cursor = Math.floor(this.#now / resolution);
  }

  /** A cached clock (ms), refreshed on every tick and whenever something is scheduled. */
  get now(): number {
    return this.#timer === undefined ? (this.#now = Date.now()) : this.#now;
  }

  /** Number of scheduled entries. */
  get size(): number {
    return this.#count;
  }

  /** Schedule `entry` at absolute time `at` (wheel clock, ms). Replaces any earlier schedule. */
  schedule(entry: TimerEntry, at: number): void {
    if (entry.slot !== -1) this.#buckets[entry.slot]!.delete(entry);
    else this.#count++;
    let tick = Math.ceil(at / this.resolution);
    // Never place an entry behind the cursor: it would wait a whole turn of the wheel.
    if (tick < this.#cursor) tick = this.#cursor;
    const slot = tick % SLOTS;
    entry.deadline = at;
    entry.slot = slot;
    this.#buckets[slot]!.add(entry);
    if (this.#timer === undefined) this.#start();
  }

  /** Schedule `entry` `delay` ms from now. */
  scheduleIn(entry: TimerEntry, delay: number): void {
    this.schedule(entry, this.now + delay);
  }

  cancel(entry: TimerEntry): void {
    if (entry.slot === -1) return;
    this.#buckets[entry.slot]!.delete(entry);
    entry.slot = -1;
    entry.deadline = -1;
    this.#count--;
    if (this.#count === 0 && this.#timer !== undefined && !this.#ticking) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  #start(): void {
    this.#now = Date.now();
    this.#cursor = Math.max(this.#cursor, Math.floor(this.#now / this.resolution));
    this.#arm();
  }

  #arm(): void {
    const timer = setTimeout(this.#tick, this.resolution);
    timer.unref();
    this.#timer = timer;
  }

  #tick = (): void => {
    this.#now = Date.now();
    const last = Math.floor(this.#now / this.resolution);
    this.#ticking = true;
    // Process every tick up to now (the event loop may have been blocked), at most one full turn.
    let steps = 0;
    for (; this.#cursor <= last && steps < SLOTS; this.#cursor++, steps++) {
      const bucket = this.#buckets[this.#cursor % SLOTS]!;
      if (bucket.size === 0) continue;
      for (const entry of bucket) {
        if (entry.deadline > this.#now) continue; // a later turn of the wheel
        bucket.delete(entry);
        entry.slot = -1;
        entry.deadline = -1;
        this.#count--;
        try {
          entry.onTimer();
        } catch (error) {
          process.emitWarning(`wirecable timer callback threw: ${String(error)}`);
        }
      }
    }
    if (this.#cursor <= last) this.#cursor = last + 1;
    this.#ticking = false;
    if (this.#count > 0) this.#arm();
    else this.#timer = undefined;
  };
}

/** The process-wide wheel. Resolution: `WIRECABLE_TIMER_RESOLUTION` ms (default 50). */
export const wheel = new TimerWheel(Number(process.env.WIRECABLE_TIMER_RESOLUTION) || 50);
