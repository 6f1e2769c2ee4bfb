/**
 * Presence: who is on a stream, as a set of members (an `id` with JSON `info`) each present
 * through one or more sessions (a subscription of a connection, on any process).
 *
 * Contract, for every broker that offers `broker.presence` (checked by presenceContract in
 * test/channels/broker-contract.ts):
 * - `join(stream, session, member)`: the session counts for `member.id`. The member's first
 *   session emits a `join` event to every watcher of the stream in every process; a later one
 *   only updates `info` ("present"). More than `maxMembers` distinct members: "full", nothing changes.
 * - `leave(stream, session)`: the member's last session leaving emits `leave` (with the member's
 *   info). Leaving an unknown session does nothing. A session belongs to the process (broker)
 *   that joined it: only that one leaves it, refreshes it, and loses it when it dies.
 * - Every event carries the stream's presence `epoch` and a `version` that grows by one per event;
 *   `snapshot(stream)` returns the members with the epoch and version they reflect, so a watcher
 *   applies the events after its snapshot and re-reads it on a gap (a lost event) or an epoch change.
 * - Watchers get events in version order. Events are delivered asynchronously or synchronously,
 *   never before the change is visible to `snapshot`.
 * - The sessions of a process that dies without leaving are removed (with `leave` events) at most
 *   `timeout` ms after it died; `timeout` is 0 where members cannot outlive their process.
 *   `close()` of the broker leaves every session it joined.
 */
import { newEpoch } from "./stream-history.js";

export interface PresenceMember {
  readonly id: string;
  /** JSON-serialisable; what other members see (a name, an avatar...). */
  readonly info: unknown;
}

export interface PresenceEvent extends PresenceMember {
  readonly type: "join" | "leave";
  readonly epoch: string;
  readonly version: number;
}

export interface PresenceSnapshot {
  readonly epoch: string;
  readonly version: number;
  readonly members: readonly PresenceMember[];
}

/** "joined": a new member (an event was emitted); "present": the id was already there; "full": refused. */
export type PresenceJoin = "joined" | "present" | "full";

export type PresenceListener = (event: PresenceEvent) => void;

export interface PresenceOptions {
  /** Sessions not heard from for this long are removed (ms). Default 15 000. */
  ttl?: number;
  /** How often a process refreshes its sessions and removes expired ones (ms). Default ttl / 3. */
  heartbeat?: number;
  /** Distinct members per stream; later joins are refused ("full"). Default 10 000. */
  maxMembers?: number;
}

export interface StreamPresence {
  /** The longest (ms) the members of a process that died stay listed; 0: they cannot outlive it. */
  readonly timeout: number;
  readonly maxMembers: number;
  join(stream: string, session: string, member: PresenceMember): Promise<PresenceJoin>;
  leave(stream: string, session: string): Promise<void>;
  snapshot(stream: string): Promise<PresenceSnapshot>;
  /** Resolves once `listener` gets every later event of `stream`, to a function removing it. */
  watch(stream: string, listener: PresenceListener): Promise<() => Promise<void>>;
}

export const DEFAULT_PRESENCE_TTL = 15_000;
export const DEFAULT_MAX_MEMBERS = 10_000;

export interface ResolvedPresenceOptions {
  readonly ttl: number;
  readonly heartbeat: number;
  readonly maxMembers: number;
}

export function resolvePresenceOptions(options: PresenceOptions = {}): ResolvedPresenceOptions {
  const ttl = options.ttl ?? DEFAULT_PRESENCE_TTL;
  const heartbeat = options.heartbeat ?? Math.max(1, Math.floor(ttl / 3));
  const maxMembers = options.maxMembers ?? DEFAULT_MAX_MEMBERS;
  if (!Number.isFinite(ttl) || ttl <= 0) throw new TypeError("presence.ttl must be a positive number of ms");
  if (!Number.isFinite(heartbeat) || heartbeat <= 0 || heartbeat >= ttl) {
    throw new TypeError("presence.heartbeat must be a positive number of ms below presence.ttl");
  }
  if (!Number.isSafeInteger(maxMembers) || maxMembers < 1) {
    throw new TypeError("presence.maxMembers must be a positive integer");
  }
  return { ttl, heartbeat, maxMembers };
}

interface Member {
  info: unknown;
  sessions: number;
}

interface StreamState {
  readonly epoch: string;
  version: number;
  /** session -> member id, and who owns the session (a cluster worker, "" in one process). */
  readonly sessions: Map<string, { id: string; owner: string }>;
  readonly members: Map<string, Member>;
  readonly watchers: Set<PresenceListener>;
}

/**
 * Presence held in this process (the in-memory broker; the cluster relay's primary, where an
 * `owner` is a worker whose sessions all leave when it exits). Events are delivered
 * synchronously, after the change; a watcher that throws is reported through `onError`.
 */
export class MemoryPresence implements StreamPresence {
  readonly timeout = 0;
  readonly maxMembers: number;
  readonly #streams = new Map<string, StreamState>();
  readonly #onError: (error: Error) => void;

  constructor(options: PresenceOptions = {}, onError: (error: Error) => void = () => {}) {
    this.maxMembers = resolvePresenceOptions(options).maxMembers;
    this.#onError = onError;
  }

  async join(stream: string, session: string, member: PresenceMember): Promise<PresenceJoin> {
    return this.joinNow(stream, session, member, "");
  }

  joinNow(stream: string, session: string, member: PresenceMember, owner: string): PresenceJoin {
    const state = this.#state(stream);
    const existing = state.sessions.get(session);
    if (existing !== undefined && existing.id !== member.id) this.#leave(stream, state, session);
    else if (existing !== undefined) {
      state.members.get(member.id)!.info = member.info;
      return "present";
    }
    const known = state.members.get(member.id);
    if (known === undefined && state.members.size >= this.maxMembers) {
      this.#forgetIfEmpty(stream, state);
      return "full";
    }
    state.sessions.set(session, { id: member.id, owner });
    if (known !== undefined) {
      known.sessions++;
      known.info = member.info;
      return "present";
    }
    state.members.set(member.id, { info: member.info, sessions: 1 });
    this.#emit(state, { type: "join", id: member.id, info: member.info, epoch: state.epoch, version: ++state.version });
    return "joined";
  }

  async leave(stream: string, session: string): Promise<void> {
    this.leaveNow(stream, session);
  }

  leaveNow(stream: string, session: string): void {
    const state = this.#streams.get(stream);
    if (state !== undefined) this.#leave(stream, state, session);
  }

  /** Every session of `owner` leaves (a worker exited). */
  dropOwner(owner: string): void {
    for (const [stream, state] of [...this.#streams]) {
      for (const [session, s] of [...state.sessions]) if (s.owner === owner) this.#leave(stream, state, session);
    }
  }

  async snapshot(stream: string): Promise<PresenceSnapshot> {
    return this.snapshotNow(stream);
  }

  snapshotNow(stream: string): PresenceSnapshot {
    const state = this.#streams.get(stream);
    if (state === undefined) return { epoch: "", version: 0, members: [] };
    const members: PresenceMember[] = [];
    for (const [id, m] of state.members) members.push({ id, info: m.info });
    return { epoch: state.epoch, version: state.version, members };
  }

  async watch(stream: string, listener: PresenceListener): Promise<() => Promise<void>> {
    return this.watchNow(stream, listener);
  }

  watchNow(stream: string, listener: PresenceListener): () => Promise<void> {
    const own: PresenceListener = (event) => listener(event); // distinct per call
    this.#state(stream).watchers.add(own);
    return async () => {
      const state = this.#streams.get(stream);
      if (state === undefined) return;
      state.watchers.delete(own);
      this.#forgetIfEmpty(stream, state);
    };
  }

  clear(): void {
    this.#streams.clear();
  }

  /** Streams with members or watchers (for tests and diagnostics). */
  get size(): number {
    return this.#streams.size;
  }

  #leave(stream: string, state: StreamState, session: string): void {
    const s = state.sessions.get(session);
    if (s === undefined) return;
    state.sessions.delete(session);
    const member = state.members.get(s.id)!;
    if (--member.sessions === 0) {
      state.members.delete(s.id);
      this.#emit(state, { type: "leave", id: s.id, info: member.info, epoch: state.epoch, version: ++state.version });
    }
    this.#forgetIfEmpty(stream, state);
  }

  #state(stream: string): StreamState {
    let state = this.#streams.get(stream);
    if (state === undefined) {
      state = { epoch: newEpoch(), version: 0, sessions: new Map(), members: new Map(), watchers: new Set() };
      this.#streams.set(stream, state);
    }
    return state;
  }

  /**
   * A stream with no session and no watcher is forgotten (its epoch too: whoever watches next
   * starts from a new snapshot, so nothing can mistake the new epoch's versions for the old).
   */
  #forgetIfEmpty(stream: string, state: StreamState): void {
    if (state.sessions.size === 0 && state.watchers.size === 0) this.#streams.delete(stream);
  }

  #emit(state: StreamState, event: PresenceEvent): void {
    for (const watcher of [...state.watchers]) {
      try {
        watcher(event);
      } catch (err) {
        this.#onError(err instanceof Error ? err : new Error(String(err)));
      }
    }
  }
}
