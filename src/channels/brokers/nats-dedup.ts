/**
 * Command deduplication on NATS JetStream (the capability of dedup.ts), for NatsBroker.
 *
 * Contract (dedupContract in test/channels/broker-capabilities.ts), and how:
 * - One subject per command id, `${prefix}.d.<token>`, in the DEDUP stream (one message per
 *   subject). Its last message says the claim's state (`pending`, `done` with the outcome as
 *   body, or `released`) and its deadline (claim time + window, in a header).
 * - `claim` reads the subject's last message: a live claim answers "pending" or "done"; none, an
 *   expired or a released one lets this claim publish `pending` with JetStream's expected last
 *   subject sequence = what it read, so of two processes claiming at once exactly one gets "new"
 *   (the other re-reads: "pending").
 * - `settle` replaces a live claim with `done` (nothing when the claim is gone); `release`
 *   publishes `released`.
 * - Storage: the DEDUP stream drops a message `max_age` after it was written: an hour, raised to
 *   the longest window a claim asked for (never lowered), so a key lives its whole window.
 */

import type { DedupClaim, Deduplicator } from "./dedup.js";
import {
  ensureStream,
  isLostRace,
  type JetStreamAccess,
  jetStreamName,
  jetStreamSetup,
  type NatsJetStreamDeps,
  type StreamMerge,
} from "./nats-jetstream.js";

const STATE_HEADER = "Wirecable-State";
const DEADLINE_HEADER = "Wirecable-Deadline";
/** The DEDUP stream's least max_age (ms). */
const MIN_MAX_AGE = 60 * 60_000;
const MAX_ATTEMPTS = 100;

const NEW: DedupClaim = { state: "new" };
const PENDING: DedupClaim = { state: "pending" };

interface Entry {
  readonly seq: number;
  readonly state: string;
  readonly deadline: number;
  readonly outcome: string;
}

export class NatsDedup implements Deduplicator {
  readonly #deps: NatsJetStreamDeps;
  readonly #name: string;
  readonly #setup: () => Promise<JetStreamAccess>;
  /** The longest window the DEDUP stream keeps claims for (ms). */
  #maxAge = MIN_MAX_AGE;

  constructor(deps: NatsJetStreamDeps) {
    this.#deps = deps;
    this.#name = jetStreamName("DEDUP", deps);
    this.#setup = jetStreamSetup(deps, (nats) => [this.#config(nats)], keepLongest);
  }

  #config(nats: JetStreamAccess["nats"]) {
    return {
      name: this.#name,
      subjects: [`${this.#deps.prefix}.d.>`],
      max_msgs_per_subject: 1,
      max_age: nats.nanos(this.#maxAge),
      allow_direct: true,
    };
  }

  #subject(key: string): string {
    return `${this.#deps.prefix}.d.${this.#deps.token(key)}`;
  }

  async claim(key: string, windowMs: number): Promise<DedupClaim> {
    const access = await this.#setup();
    if (windowMs > this.#maxAge) await this.#keepFor(access, windowMs);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const entry = await this.#read(access, key);
      if (entry !== undefined && entry.state !== "released" && entry.deadline > Date.now()) {
        return entry.state === "done" ? { state: "done", outcome: entry.outcome } : PENDING;
      }
      if (await this.#write(access, key, "pending", "", windowMs, entry?.seq ?? 0)) return NEW;
    }
    throw new Error(`dedup claim of ${key}: lost ${MAX_ATTEMPTS} races in a row`);
  }

  async settle(key: string, outcome: string, windowMs: number): Promise<void> {
    const access = await this.#setup();
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const entry = await this.#read(access, key);
      if (entry === undefined || entry.state === "released" || entry.deadline <= Date.now()) return;
      if (await this.#write(access, key, "done", outcome, windowMs, entry.seq)) return;
    }
  }

  async release(key: string): Promise<void> {
    const access = await this.#setup();
    const h = access.nats.headers();
    h.set(STATE_HEADER, "released");
    h.set(DEADLINE_HEADER, "0");
    await access.js.publish(this.#subject(key), "", { headers: h });
  }

  async #read({ read }: JetStreamAccess, key: string): Promise<Entry | undefined> {
    const m = await read(this.#name, { last_by_subj: this.#subject(key) });
    if (m === null) return undefined;
    return {
      seq: m.seq,
      state: m.header.get(STATE_HEADER),
      deadline: Number(m.header.get(DEADLINE_HEADER)),
      outcome: m.string(),
    };
  }

  /** Compare-and-set of the key's entry: true when written, false when another write came first. */
  async #write(
    { js, nats }: JetStreamAccess,
    key: string,
    state: string,
    outcome: string,
    windowMs: number,
    expectSeq: number,
  ): Promise<boolean> {
    const h = nats.headers();
    h.set(STATE_HEADER, state);
    h.set(DEADLINE_HEADER, String(Date.now() + windowMs));
    try {
      await js.publish(this.#subject(key), outcome, { headers: h, expect: { lastSubjectSequence: expectSeq } });
      return true;
    } catch (err) {
      if (isLostRace(err)) return false;
      throw err;
    }
  }

  /** Raises the DEDUP stream's max_age to `windowMs`. */
  async #keepFor({ jsm, nats }: JetStreamAccess, windowMs: number): Promise<void> {
    this.#maxAge = windowMs;
    await ensureStream(jsm, this.#config(nats), keepLongest);
  }
}

/** Another process's longer max_age stays (its claims must live their whole window). */
const keepLongest: StreamMerge = (existing, wanted) => ({
  ...wanted,
  max_age: Math.max(existing.max_age ?? 0, wanted.max_age ?? 0),
});
