/**
 * Acknowledged actions: a client's `perform` carrying an `id` (extensions.ts) runs its action at
 * most once per id within `window` ms, across every process sharing the broker's dedup, and is
 * answered with the action's outcome; a retry of the same id gets the same outcome.
 *
 * Contract:
 * - `run(key, action)`: a key seen for the first time runs `action` and records its outcome
 *   (a JSON text, `{"reply":…}` or `{"error":…}`); the same key while it runs in this process
 *   waits for that outcome; while it runs in another process (or one that died running it)
 *   resolves `undefined` (no answer: the client re-sends and eventually gets the outcome, or its
 *   timeout); once done, the recorded outcome. If the dedup store cannot be reached, the action
 *   is not run and the outcome is a BROKER_UNAVAILABLE error (at most once is kept).
 * - Keys are hashed (identifier and id can be long; the stores index them).
 */
import { createHash } from "node:crypto";
import { errorOutcome } from "../cable/extensions.js";
import type { Deduplicator } from "./brokers/dedup.js";

/** How long an id is remembered by default (ms): well past any client's ack timeout. */
export const DEFAULT_ACK_WINDOW = 120_000;

export class AckLedger {
  readonly #dedup: Deduplicator;
  readonly #window: number;
  readonly #running = new Map<string, Promise<string>>();
  readonly #report: (err: Error) => void;

  constructor(dedup: Deduplicator, window: number, report: (err: Error) => void) {
    this.#dedup = dedup;
    this.#window = window;
    this.#report = report;
  }

  static key(identifier: string, id: string): string {
    return createHash("sha256").update(identifier).update("\u0000").update(id).digest("base64url");
  }

  async run(key: string, action: () => Promise<string>): Promise<string | undefined> {
    const running = this.#running.get(key);
    if (running !== undefined) return running;
    let claim: Awaited<ReturnType<Deduplicator["claim"]>>;
    try {
      claim = await this.#dedup.claim(key, this.#window);
    } catch (err) {
      this.#report(err as Error);
      return errorOutcome("BROKER_UNAVAILABLE", "could not check the id; the action did not run");
    }
    if (claim.state === "done") return claim.outcome;
    if (claim.state === "pending") return this.#running.get(key);
    const outcome = action();
    this.#running.set(key, outcome);
    try {
      const result = await outcome;
      await this.#dedup.settle(key, result, this.#window).catch((err: Error) => this.#report(err));
      return result;
    } finally {
      this.#running.delete(key);
    }
  }

  /** Actions running now (for tests). */
  get running(): number {
    return this.#running.size;
  }
}
