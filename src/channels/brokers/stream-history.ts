/**
 * Stream history: the broker-side half of resumable streams (the protocol half is in
 * ../../cable/extensions.ts, the server's use of it in ../stream-hub.ts).
 *
 * Contract, for every broker that offers `broker.history` (checked by historyContract in
 * test/channels/broker-contract.ts):
 * - A stream that keeps history (`keeps(stream)`) stamps every published message with its
 *   stream's `epoch` and the next `offset` (1, 2, 3, ... dense, no gaps) at the one place that
 *   orders publishes (the process for the in-memory broker, Redis, PostgreSQL). Subscribers get
 *   the position with each payload, in offset order; a subscriber may miss some (pub/sub loss
 *   while disconnected) and fills the gap with `since`.
 * - It keeps the last `limit` messages, each for at most `ttl` ms; a stream that nobody
 *   subscribes to may be forgotten whole once idle past `ttl` (its next message starts a new
 *   epoch). `since(stream, position)`
 *   returns every retained message after `position`, or says why it cannot: `"epoch"` (the
 *   stream's history was reset: a broker restart without persistence, a stream forgotten after
 *   being idle past its retention) or `"too_old"` (messages after `position` were already dropped).
 * - `position(stream)` is the current position (offset of the last message, 0 before the first),
 *   creating the stream's epoch when it has none, so a position read before a publish and the
 *   publish agree on the epoch.
 * - An epoch is an opaque short string; offsets are safe integers.
 */
import { isInternalStream } from "./broker.js";

/** Where a message sits in its stream's history. */
export interface StreamPosition {
  readonly epoch: string;
  readonly offset: number;
}

/** A retained message with its position. */
export interface StreamEntry extends StreamPosition {
  readonly payload: string;
}

/** What a broker keeps (the same settings in every process sharing it). */
export interface HistoryOptions {
  /** Messages kept per stream. Default 100. */
  limit?: number;
  /** How long a message is kept (ms). Default 300 000 (5 minutes). */
  ttl?: number;
  /** Which streams keep history. Default: every stream (but the library's own, see isInternalStream). */
  streams?: (stream: string) => boolean;
}

export type HistoryRead =
  | { readonly ok: true; readonly entries: readonly StreamEntry[]; readonly position: StreamPosition }
  | { readonly ok: false; readonly reason: HistoryFailure; readonly position: StreamPosition };

/** Why a history request cannot be served: the epoch changed, or the messages are gone. */
export type HistoryFailure = "epoch" | "too_old";

export interface StreamHistory {
  readonly limit: number;
  readonly ttl: number;
  keeps(stream: string): boolean;
  /** The current position (offset 0: nothing published in this epoch yet). */
  position(stream: string): Promise<StreamPosition>;
  /** Every retained message after `since`, in order, or why not. */
  since(stream: string, since: StreamPosition): Promise<HistoryRead>;
  /** The last `count` retained messages (fewer when fewer are kept), oldest first. */
  recent(stream: string, count: number): Promise<{ entries: readonly StreamEntry[]; position: StreamPosition }>;
}

export const DEFAULT_HISTORY_LIMIT = 100;
export const DEFAULT_HISTORY_TTL = 5 * 60_000;

export interface ResolvedHistoryOptions {
  readonly limit: number;
  readonly ttl: number;
  readonly streams: (stream: string) => boolean;
}

/** Defaults applied and values checked (a clear TypeError naming the option otherwise). */
export function resolveHistoryOptions(options: HistoryOptions): ResolvedHistoryOptions {
  const limit = options.limit ?? DEFAULT_HISTORY_LIMIT;
  const ttl = options.ttl ?? DEFAULT_HISTORY_TTL;
  if (!Number.isSafeInteger(limit) || limit < 1) throw new TypeError(`history.limit must be a positive integer`);
  if (!Number.isFinite(ttl) || ttl <= 0) throw new TypeError(`history.ttl must be a positive number of ms`);
  const chosen = options.streams ?? (() => true);
  if (typeof chosen !== "function") throw new TypeError("history.streams must be a function (stream) => boolean");
  // The library's own streams (the fallback relay's) carry requests, not broadcasts: never kept.
  const streams = (stream: string): boolean => !isInternalStream(stream) && chosen(stream);
  return { limit, ttl, streams };
}

/** A new epoch: 8 random base-36 characters. */
export function newEpoch(): string {
  const bytes = new Uint8Array(8);
  crypto.getRandomValues(bytes);
  let out = "";
  for (const b of bytes) out += (b % 36).toString(36);
  return out;
}

/** Answers `since` from the retained entries of a stream at `current` (shared by every store). */
export function readSince(
  current: StreamPosition,
  retained: readonly StreamEntry[],
  since: StreamPosition,
): HistoryRead {
  if (since.epoch !== current.epoch || since.offset > current.offset || since.offset < 0) {
    return { ok: false, reason: "epoch", position: current };
  }
  const missing = current.offset - since.offset;
  if (missing === 0) return { ok: true, entries: [], position: current };
  if (retained.length < missing) return { ok: false, reason: "too_old", position: current };
  return { ok: true, entries: retained.slice(retained.length - missing), position: current };
}

interface StreamState {
  readonly epoch: string;
  offset: number;
  /** Retained entries, oldest first, from `head` on (amortised O(1) trimming). */
  entries: StreamEntry[];
  times: number[];
  head: number;
  lastAt: number;
}

/**
 * History held in this process: a ring of the last `limit` messages per stream, each dropped
 * after `ttl`. A stream with no message for `ttl` and nobody subscribed (`inUse`) is forgotten
 * whole, so idle streams cost nothing; its next message starts a new epoch.
 */
export class MemoryHistory implements StreamHistory {
  readonly limit: number;
  readonly ttl: number;
  readonly #keeps: (stream: string) => boolean;
  readonly #streams = new Map<string, StreamState>();
  readonly #now: () => number;

  constructor(options: HistoryOptions, now: () => number = Date.now) {
    const resolved = resolveHistoryOptions(options);
    this.limit = resolved.limit;
    this.ttl = resolved.ttl;
    this.#keeps = resolved.streams;
    this.#now = now;
  }

  keeps(stream: string): boolean {
    return this.#keeps(stream);
  }

  /** Stamps and stores a message; returns its entry. */
  append(stream: string, payload: string): StreamEntry {
    const state = this.#state(stream);
    const now = this.#now();
    const entry: StreamEntry = { payload, epoch: state.epoch, offset: ++state.offset };
    state.entries.push(entry);
    state.times.push(now);
    state.lastAt = now;
    this.#trim(state, now);
    return entry;
  }

  async position(stream: string): Promise<StreamPosition> {
    return this.positionNow(stream);
  }

  /** The current position, synchronously (the cluster relay's primary answers from it). */
  positionNow(stream: string): StreamPosition {
    const state = this.#state(stream);
    return { epoch: state.epoch, offset: state.offset };
  }

  async since(stream: string, since: StreamPosition): Promise<HistoryRead> {
    return this.sinceNow(stream, since);
  }

  sinceNow(stream: string, since: StreamPosition): HistoryRead {
    const state = this.#state(stream);
    this.#trim(state, this.#now());
    return readSince({ epoch: state.epoch, offset: state.offset }, state.entries.slice(state.head), since);
  }

  async recent(stream: string, count: number) {
    return this.recentNow(stream, count);
  }

  recentNow(stream: string, count: number): { entries: StreamEntry[]; position: StreamPosition } {
    const state = this.#state(stream);
    this.#trim(state, this.#now());
    const from = Math.max(state.head, state.entries.length - Math.max(0, count));
    return { entries: state.entries.slice(from), position: { epoch: state.epoch, offset: state.offset } };
  }

  /** Drop expired entries, and forget idle streams nobody uses. Returns how many were forgotten. */
  sweep(inUse: (stream: string) => boolean): number {
    const now = this.#now();
    let forgotten = 0;
    for (const [stream, state] of this.#streams) {
      this.#trim(state, now);
      if (state.entries.length === state.head && now - state.lastAt >= this.ttl && !inUse(stream)) {
        this.#streams.delete(stream);
        forgotten++;
      }
    }
    return forgotten;
  }

  /** Streams with state (for tests and diagnostics). */
  get size(): number {
    return this.#streams.size;
  }

  clear(): void {
    this.#streams.clear();
  }

  #state(stream: string): StreamState {
    let state = this.#streams.get(stream);
    if (state === undefined) {
      state = { epoch: newEpoch(), offset: 0, entries: [], times: [], head: 0, lastAt: this.#now() };
      this.#streams.set(stream, state);
    }
    return state;
  }

  #trim(state: StreamState, now: number): void {
    const cutoff = now - this.ttl;
    let head = state.head;
    const size = state.entries.length;
    if (size - head > this.limit) head = size - this.limit;
    while (head < size && state.times[head]! <= cutoff) head++;
    if (head > 64 && head * 2 > size) {
      state.entries = state.entries.slice(head);
      state.times = state.times.slice(head);
      head = 0;
    }
    state.head = head;
  }
}
