/**
 * DeadlineQueue: entries that share one timeout (a listener's or a server's `handshakeTimeout`),
 * with ONE timer-wheel entry for all of them. Entries wait in the order they were added, which is
 * the order of their deadlines, so the queue's wheel entry fires at the oldest one's deadline,
 * expires every entry that is due and re-arms for the next. An entry leaves the queue when its
 * wait ends (`remove`, O(1): intrusive links) without touching the wheel; an early firing finds
 * nothing due and re-arms.
 *
 * Why one wheel entry for all of them: entries sharing one timeout expire in the order they were
 * added, so the wheel only needs the oldest one's deadline, and a handshake's start and end touch
 * only the queue's links, never the wheel: one entry to move per burst instead of one per socket
 * (the wheel's buckets are intrusive lists, so neither way allocates).
 *
 * Contract: `add` stamps `expires` (the wheel's clock + timeout, ms) and appends; `remove` is a no-op for an entry
 * not queued; `expire(entry)` runs after the entry left the queue, never early, at most the
 * wheel's resolution late (an exception from it is the wheel's to report). `clear` forgets every
 * entry and the wheel entry.
 */
import { type TimerEntry, wheel } from "./timer-wheel.js";

/** The links a queued entry carries (set and read by the queue only). */
export interface QueuedEntry {
  /** Its deadline, ms on the wheel's clock (set by `add`). */
  expires: number;
  older: QueuedEntry | null;
  newer: QueuedEntry | null;
  queued: boolean;
}

export class DeadlineQueue<T extends QueuedEntry> implements TimerEntry {
  deadline = -1;
  slot = -1;
  wheelNext: TimerEntry | null = null;
  wheelPrev: TimerEntry | null = null;
  #oldest: T | null = null;
  #newest: T | null = null;
  readonly #timeout: number;
  readonly #expire: (entry: T) => void;

  /** `timeout` ms (> 0) for every entry; `expire` is called with each one that is due. */
  constructor(timeout: number, expire: (entry: T) => void) {
    this.#timeout = timeout;
    this.#expire = expire;
  }

  /** Queue `entry`, due `timeout` ms from now. */
  add(entry: T): void {
    // The wheel's clock read afresh, not its cached `now`: that one is up to a tick old while the
    // wheel runs, which would end the wait that much early.
    entry.expires = wheel.clock() + this.#timeout;
    entry.queued = true;
    const newest = this.#newest;
    entry.older = newest;
    entry.newer = null;
    if (newest !== null) newest.newer = entry;
    else this.#oldest = entry;
    this.#newest = entry;
    // The wheel entry waits for the oldest; a newer one only needs it when none is scheduled.
    if (this.slot === -1) wheel.schedule(this, entry.expires);
  }

  /** Take `entry` out (its wait ended). */
  remove(entry: T): void {
    if (!entry.queued) return;
    entry.queued = false;
    const { older, newer } = entry;
    if (older !== null) older.newer = newer;
    else this.#oldest = newer as T | null;
    if (newer !== null) newer.older = older;
    else this.#newest = older as T | null;
    entry.older = null;
    entry.newer = null;
  }

  /** Forget every entry (none expires) and leave the wheel. */
  clear(): void {
    while (this.#oldest !== null) this.remove(this.#oldest);
    wheel.cancel(this);
  }

  /** The wheel's call: expire what is due, then wait for the next oldest (also after a throw). */
  onTimer(): void {
    try {
      const now = wheel.now;
      for (let entry = this.#oldest; entry !== null && entry.expires <= now; entry = this.#oldest) {
        this.remove(entry);
        this.#expire(entry);
      }
    } finally {
      // An expiry may have added an entry (a listener handling another request): the wheel entry
      // then waits for that newest one, and must wait for the oldest instead.
      const oldest = this.#oldest;
      if (oldest !== null && (this.slot === -1 || this.deadline > oldest.expires)) wheel.schedule(this, oldest.expires);
    }
  }
}
