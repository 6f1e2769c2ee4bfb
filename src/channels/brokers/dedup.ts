/**
 * Deduplication of client commands by id: what makes a retried `perform` run its action at most
 * once (exactly-once effect, with at-least-once delivery from a retrying client).
 *
 * Contract, for every broker that offers `broker.dedup` (checked by dedupContract in
 * test/channels/broker-contract.ts), shared by every process using the same store:
 * - `claim(key, windowMs)`: the first claim of `key` within `windowMs` gets "new" (the caller
 *   runs the action); later claims get "pending" while it runs, then "done" with the outcome
 *   the caller recorded with `settle`. After `windowMs` the key is forgotten.
 * - `release(key)` forgets a claim whose action did not run (so a retry may run it).
 */

export type DedupClaim =
  | { readonly state: "new" }
  | { readonly state: "pending" }
  | { readonly state: "done"; readonly outcome: string };

export interface Deduplicator {
  claim(key: string, windowMs: number): Promise<DedupClaim>;
  settle(key: string, outcome: string, windowMs: number): Promise<void>;
  release(key: string): Promise<void>;
}

/** Ids remembered by one process at most; the oldest are forgotten first beyond it. */
export const MAX_DEDUP_ENTRIES = 100_000;

const NEW: DedupClaim = { state: "new" };
const PENDING: DedupClaim = { state: "pending" };

/**
 * Dedup in this process: a map in insertion order (= expiry order for one window), swept from
 * the front on every claim. At most `maxEntries` keys: beyond that the oldest claims are
 * forgotten early (counted in `evicted`), so memory stays bounded whatever clients send.
 */
export class MemoryDedup implements Deduplicator {
  readonly #entries = new Map<string, { expires: number; outcome: string | undefined }>();
  readonly #max: number;
  readonly #now: () => number;
  /** Claims forgotten before their window ended because the map was full. */
  evicted = 0;

  constructor(maxEntries = MAX_DEDUP_ENTRIES, now: () => number = Date.now) {
    this.#max = maxEntries;
    this.#now = now;
  }

  async claim(key: string, windowMs: number): Promise<DedupClaim> {
    return this.claimNow(key, windowMs);
  }

  claimNow(key: string, windowMs: number): DedupClaim {
    const now = this.#now();
    this.#sweep(now);
    const entry = this.#entries.get(key);
    if (entry !== undefined && entry.expires > now) {
      return entry.outcome === undefined ? PENDING : { state: "done", outcome: entry.outcome };
    }
    this.#entries.delete(key);
    if (this.#entries.size >= this.#max) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
      this.evicted++;
    }
    this.#entries.set(key, { expires: now + windowMs, outcome: undefined });
    return NEW;
  }

  async settle(key: string, outcome: string, windowMs: number): Promise<void> {
    this.settleNow(key, outcome, windowMs);
  }

  settleNow(key: string, outcome: string, windowMs: number): void {
    const entry = this.#entries.get(key);
    if (entry === undefined) return;
    entry.outcome = outcome;
    entry.expires = Math.max(entry.expires, this.#now() + windowMs);
  }

  async release(key: string): Promise<void> {
    this.#entries.delete(key);
  }

  get size(): number {
    return this.#entries.size;
  }

  clear(): void {
    this.#entries.clear();
  }

  #sweep(now: number): void {
    // Insertion order is close to expiry order; stop at the first live entry (bounded work).
    let budget = 64;
    for (const [key, entry] of this.#entries) {
      if (entry.expires > now || budget-- === 0) break;
      this.#entries.delete(key);
    }
  }
}
