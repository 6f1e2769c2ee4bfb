/**
 * One hashed timer wheel for every connection of the process (uWS's habit): a single unref'd
 * `setTimeout` chain ticks every `resolution` ms while anything is scheduled and stops when the
 * wheel is empty, so 100,000 idle connections cost one timer, not 100,000.
 *
 * Contract: an entry is an object with a `deadline` (ms on the wheel clock) and `onTimer()`.
 * `schedule(entry, at)` (re)places it, `cancel(entry)` removes it; each entry is in at most one
 * bucket. Entries fire at most `resolution` ms late, never early. `onTimer` exceptions are
 * caught (reported through `process.emitWarning`) so one bad entry cannot stop the wheel.
 * `onTimer` may schedule or cancel any entry, including ones due in the same tick.
 * Callers that see frequent activity (every message) do not reschedule: they record a
 * timestamp from the cheap cached clock {@link TimerWheel.now} and re-arm lazily when fired.
 *
 * A bucket is an intrusive doubly linked list threaded through the entries' own `wheelNext` /
 * `wheelPrev` fields: scheduling and cancelling are O(1) and allocate nothing (lists, not Sets:
 * no hash table per bucket to grow as connections come and go and outlive scavenges,
 * bench/results/profile.md round six). A tick
 * takes a bucket's list out into the walk list (slot `WALKING`) before running callbacks, so a
 * callback can unlink any entry from whichever list holds it; entries for a later turn of the
 * wheel go back into their bucket.
 *
 * The wheel's clock is `Date.now()` minus the wheel's `epoch` (0 unless given). The process-wide
 * {@link wheel} counts from its own creation, so the times stored from it (deadlines, the
 * connections' timestamps) are small integers for about 24 days (V8 keeps them in the object as
 * Smis; a `Date.now()` value would be a heap number of its own in every object holding one).
 */

export interface TimerEntry {
  /** Set by the wheel: when the entry fires (wheel clock), or -1 when unscheduled. */
  deadline: number;
  /** Set by the wheel: the bucket holding the entry (or the tick's walk list), or -1. */
  slot: number;
  /**
   * Set by the wheel: the next entry of the same list, or null. Optional: the wheel sets both
   * when it links an entry; declare both (null) to keep the entry's shape stable.
   */
  wheelNext?: TimerEntry | null;
  /** Set by the wheel: the previous entry of the same list, or null (the list's head). */
  wheelPrev?: TimerEntry | null;
  onTimer(): void;
}

const SLOTS = 512;
/** 2^31: the clock's values below it are stored as Smis (V8 on 64 bits without pointer compression). */
const SMI_LIMIT = 2 ** 31;
/** The slot of the entries a tick is walking (the walk list is the last head). */
const WALKING = SLOTS;

export class TimerWheel {
  readonly resolution: number;
  /** The `Date.now()` at which the wheel's clock reads 0. */
  readonly epoch: number;
  /** Each bucket's first entry (null: empty), then the walk list's. */
  #heads: Array<TimerEntry | null> = new Array<TimerEntry | null>(SLOTS + 1).fill(null);
  #count = 0;
  #timer: NodeJS.Timeout | undefined;
  #now: number;
  /** The next tick index to process (deadline / resolution, floored); while ticking, the one walked. */
  #cursor = 0;
  #ticking = false;

  /** `epoch`: the `Date.now()` the clock counts from (default 0: the clock is `Date.now()`). */
  constructor(resolution = 50, epoch = 0) {
    if (!(epoch <= Date.now())) throw new RangeError(`TimerWheel: epoch ${epoch} is not a past Date.now() value`);
    this.resolution = resolution;
    this.epoch = epoch;
    this.#now = this.clock();
    this.#cursor = Math.floor(this.#now / resolution);
  }

  /** A cached clock (ms), refreshed on every tick and whenever something is scheduled. */
  get now(): number {
    return this.#timer === undefined ? (this.#now = this.clock()) : this.#now;
  }

  /** The clock read afresh (ms): {@link now} is up to a tick old while the wheel runs. */
  clock(): number {
    const ms = Date.now() - this.epoch;
    // `| 0` makes the number a Smi (a difference of doubles is a heap number, integral or not).
    return ms >= 0 && ms < SMI_LIMIT ? ms | 0 : ms;
  }

  /** Number of scheduled entries. */
  get size(): number {
    return this.#count;
  }

  /** Schedule `entry` at absolute time `at` (wheel clock, ms). Replaces any earlier schedule. */
  schedule(entry: TimerEntry, at: number): void {
    if (entry.slot !== -1) this.#unlink(entry);
    else this.#count++;
    let tick = Math.ceil(at / this.resolution);
    // Never place an entry behind the cursor: it would wait a whole turn of the wheel. During a
    // tick, an entry for the tick being walked is due now: it joins the walk.
    if (tick < this.#cursor) tick = this.#cursor;
    entry.deadline = at;
    this.#link(entry, this.#ticking && tick === this.#cursor ? WALKING : tick % SLOTS);
    if (this.#timer === undefined) this.#start();
  }

  /** Schedule `entry` `delay` ms from now. */
  scheduleIn(entry: TimerEntry, delay: number): void {
    // The clock read afresh, not the cached one (up to a tick old while the wheel runs): never early.
    this.schedule(entry, this.clock() + delay);
  }

  cancel(entry: TimerEntry): void {
    if (entry.slot === -1) return;
    this.#unlink(entry);
    entry.slot = -1;
    entry.deadline = -1;
    this.#count--;
    if (this.#count === 0 && this.#timer !== undefined && !this.#ticking) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  /** Push `entry` (in no list) at the head of list `slot`. */
  #link(entry: TimerEntry, slot: number): void {
    const head = this.#heads[slot]!;
    entry.slot = slot;
    entry.wheelPrev = null;
    entry.wheelNext = head;
    if (head !== null) head.wheelPrev = entry;
    this.#heads[slot] = entry;
  }

  /** Take `entry` out of the list its `slot` names (the slot itself is the caller's to set). */
  #unlink(entry: TimerEntry): void {
    const next = entry.wheelNext ?? null;
    const prev = entry.wheelPrev ?? null;
    if (prev === null) this.#heads[entry.slot] = next;
    else prev.wheelNext = next;
    if (next !== null) next.wheelPrev = prev;
    entry.wheelNext = null;
    entry.wheelPrev = null;
  }

  #start(): void {
    this.#now = this.clock();
    this.#cursor = Math.max(this.#cursor, Math.floor(this.#now / this.resolution));
    this.#arm();
  }

  #arm(): void {
    const timer = setTimeout(this.#tick, this.resolution);
    timer.unref();
    this.#timer = timer;
  }

  #tick = (): void => {
    this.#now = this.clock();
    const now = this.#now;
    const last = Math.floor(now / this.resolution);
    const heads = this.#heads;
    this.#ticking = true;
    // Process every tick up to now (the event loop may have been blocked), at most one full turn.
    let steps = 0;
    for (; this.#cursor <= last && steps < SLOTS; this.#cursor++, steps++) {
      const slot = this.#cursor % SLOTS;
      let entry: TimerEntry | null = heads[slot] ?? null;
      if (entry === null) continue;
      // Move the bucket's list to the walk list; callbacks may unlink any entry from it.
      heads[slot] = null;
      heads[WALKING] = entry;
      for (; entry !== null; entry = entry.wheelNext ?? null) entry.slot = WALKING;
      while ((entry = heads[WALKING] ?? null) !== null) {
        this.#unlink(entry);
        if (entry.deadline > now) {
          this.#link(entry, slot); // a later turn of the wheel
          continue;
        }
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

/** The process-wide wheel, its clock counting from its creation. Resolution: `WIRECABLE_TIMER_RESOLUTION` ms (default 50). */
export const wheel = new TimerWheel(Number(process.env.WIRECABLE_TIMER_RESOLUTION) || 50, Date.now());
