/**
 * History, presence and dedup on Redis (the capabilities of stream-history.ts,
 * stream-presence.ts and dedup.ts), for RedisBroker and any broker built on an ioredis client
 * (a Redis Cluster broker passes its `Cluster`, hash-tagged `key` names and SPUBLISH).
 *
 * Contract:
 * - Scripts (redis-scripts.ts) run on `commander`; each touches the keys of one stream only.
 * - History: Redis Streams trimmed to `limit` entries (MAXLEN) and to `ttl` (MINID, and the key
 *   expires `ttl` after the last publish); the epoch/offset hash lives on for a day after the
 *   last publish, so an idle stream keeps its epoch. A Redis that loses its data (restart
 *   without persistence, FLUSHALL) gives every stream a new epoch: clients are told to resync.
 * - Presence: each process refreshes the deadline of its own sessions every `heartbeat` and
 *   removes every expired session of the streams it follows (emitting their leaves), so the
 *   members of a killed process disappear at most `ttl + heartbeat` after it died. Sessions
 *   found missing at a heartbeat (Redis restarted, or this process was paused past `ttl`) are
 *   joined again. Events travel on `key(stream, "p:events")`, subscribed through `listen`.
 * - Dedup: one key per command id, `SET NX PX`, the outcome stored in place.
 */
import type { DedupClaim, Deduplicator } from "./dedup.js";
import { type RedisCommander, ScriptRunner } from "./redis-scripts.js";
import { SessionPresence } from "./session-presence.js";
import {
  type HistoryOptions,
  type HistoryRead,
  newEpoch,
  type ResolvedHistoryOptions,
  readSince,
  resolveHistoryOptions,
  type StreamEntry,
  type StreamHistory,
  type StreamPosition,
} from "./stream-history.js";
import type {
  PresenceEvent,
  PresenceJoin,
  PresenceMember,
  PresenceOptions,
  PresenceSnapshot,
} from "./stream-presence.js";

export interface RedisStoreOptions {
  /** Runs the scripts (RedisBroker: its publishing connection, once connected). */
  commander: RedisCommander | Promise<RedisCommander>;
  /** Key names of a stream's data (cluster: hash-tag the stream so they share a slot). */
  key(stream: string, suffix: string): string;
  /** The pub/sub channel carrying a stream's messages. */
  channel(stream: string): string;
  /** Subscribe to a channel (presence events) on the subscriber connection. */
  listen(channel: string, onMessage: (message: string) => void): Promise<() => Promise<void>>;
  /** "SPUBLISH" for sharded pub/sub on a cluster. Default "PUBLISH". */
  publishCommand?: "PUBLISH" | "SPUBLISH";
  history?: HistoryOptions;
  presence?: PresenceOptions;
  /** Key of a dedup entry. Default `key("dedup", id)`. */
  dedupKey?: (id: string) => string;
  onError(error: Error): void;
}

/** How long an idle stream keeps its epoch and offset in Redis (ms). */
const META_TTL = 24 * 60 * 60_000;

export class RedisHistory implements StreamHistory {
  readonly limit: number;
  readonly ttl: number;
  readonly #options: ResolvedHistoryOptions;
  readonly #scripts: ScriptRunner;
  readonly #key: RedisStoreOptions["key"];
  readonly #channel: RedisStoreOptions["channel"];
  readonly #publish: string;

  /** @internal Made by {@link RedisStore}, which shares one script runner among the three. */
  constructor(scripts: ScriptRunner, options: RedisStoreOptions, history: HistoryOptions) {
    this.#options = resolveHistoryOptions(history);
    this.limit = this.#options.limit;
    this.ttl = this.#options.ttl;
    this.#scripts = scripts;
    this.#key = options.key;
    this.#channel = options.channel;
    this.#publish = options.publishCommand ?? "PUBLISH";
  }

  keeps(stream: string): boolean {
    return this.#options.streams(stream);
  }

  /** Stores and publishes one message (the script PUBLISHes it with its position). */
  async append(stream: string, payload: string): Promise<StreamPosition> {
    const [epoch, offset] = (await this.#scripts.run(
      "wirecableHistoryPublish",
      [this.#key(stream, "h:meta"), this.#key(stream, "h:log"), this.#channel(stream)],
      [payload, this.limit, Math.ceil(this.ttl), newEpoch(), Math.max(META_TTL, 2 * this.ttl), this.#publish],
    )) as [string, number];
    return { epoch, offset: Number(offset) };
  }

  async position(stream: string): Promise<StreamPosition> {
    const [epoch, offset] = (await this.#scripts.run(
      "wirecableHistoryMeta",
      [this.#key(stream, "h:meta")],
      [newEpoch(), Math.max(META_TTL, 2 * this.ttl)],
    )) as [string, number];
    return { epoch, offset: Number(offset) };
  }

  async since(stream: string, since: StreamPosition): Promise<HistoryRead> {
    // At most limit + 1 entries come back: fewer than missing means too old (readSince decides).
    const read = await this.#read(stream, this.limit + 1, since);
    return readSince(read.position, read.entries, since);
  }

  async recent(stream: string, count: number) {
    return this.#read(stream, Math.max(0, Math.min(count, this.limit)));
  }

  async #read(
    stream: string,
    count: number,
    since?: StreamPosition,
  ): Promise<{ entries: StreamEntry[]; position: StreamPosition }> {
    const out = (await this.#scripts.run(
      "wirecableHistoryRead",
      [this.#key(stream, "h:meta"), this.#key(stream, "h:log")],
      [
        newEpoch(),
        Math.max(META_TTL, 2 * this.ttl),
        Math.ceil(this.ttl),
        count,
        since?.epoch ?? "",
        since?.offset ?? 0,
      ],
    )) as [string, number, ...string[]];
    const epoch = out[0];
    const offset = Number(out[1]);
    const payloads = out.slice(2) as string[];
    const entries: StreamEntry[] = [];
    for (let i = payloads.length - 1; i >= 0; i--) {
      entries.push({ payload: payloads[i]!, epoch, offset: offset - i });
    }
    return { entries, position: { epoch, offset } };
  }
}

/** Expired sessions removed per stream and heartbeat at most (the rest at the next one). */
const SWEEP_BATCH = 500;

export class RedisPresence extends SessionPresence {
  readonly #scripts: ScriptRunner;
  readonly #store: RedisStoreOptions;
  readonly #publish: string;

  /** @internal Made by {@link RedisStore}, which shares one script runner among the three. */
  constructor(scripts: ScriptRunner, store: RedisStoreOptions) {
    super(store.presence, store.onError);
    this.#scripts = scripts;
    this.#store = store;
    this.#publish = store.publishCommand ?? "PUBLISH";
  }

  #keys(stream: string): string[] {
    const key = this.#store.key;
    return [
      key(stream, "p:meta"),
      key(stream, "p:sessions"),
      key(stream, "p:members"),
      key(stream, "p:info"),
      key(stream, "p:deadlines"),
      key(stream, "p:events"),
    ];
  }

  async join(stream: string, session: string, member: PresenceMember): Promise<PresenceJoin> {
    this.remember(stream, session, member);
    const result = (await this.#scripts.run("wirecablePresenceJoin", this.#keys(stream), [
      this.#publish,
      session,
      member.id,
      JSON.stringify(member.info ?? null),
      Date.now() + this.options.ttl,
      this.maxMembers,
      newEpoch(),
      2 * this.options.ttl,
    ])) as PresenceJoin;
    if (result === "full") this.forget(stream, session);
    return result;
  }

  async leave(stream: string, session: string): Promise<void> {
    if (!this.forget(stream, session)) return;
    await this.#scripts.run("wirecablePresenceLeave", this.#keys(stream), [this.#publish, session]);
  }

  async snapshot(stream: string): Promise<PresenceSnapshot> {
    const keys = this.#keys(stream);
    const out = (await this.#scripts.run("wirecablePresenceSnapshot", keys.slice(0, 4), [
      newEpoch(),
      2 * this.options.ttl,
    ])) as string[];
    const members: PresenceMember[] = [];
    for (let i = 2; i + 1 < out.length; i += 2) members.push({ id: out[i]!, info: parseInfo(out[i + 1]!) });
    return { epoch: out[0]!, version: Number(out[1]), members };
  }

  protected listen(stream: string, deliver: (event: PresenceEvent) => void): Promise<() => Promise<void>> {
    return this.#store.listen(this.#keys(stream)[5]!, (message) => {
      const event = parseEvent(message);
      if (event !== undefined) deliver(event);
    });
  }

  protected async beat(): Promise<void> {
    await Promise.all([...this.followed()].map((stream) => this.#touch(stream)));
  }

  async #touch(stream: string): Promise<void> {
    const sessions = this.own.get(stream);
    const sids = sessions === undefined ? [] : [...sessions.keys()];
    try {
      const missing = (await this.#scripts.run("wirecablePresenceTouch", this.#keys(stream), [
        this.#publish,
        Date.now() + this.options.ttl,
        2 * this.options.ttl,
        SWEEP_BATCH,
        ...sids,
      ])) as string[];
      for (const session of missing) {
        const member = this.own.get(stream)?.get(session);
        if (member !== undefined) await this.join(stream, session, member);
      }
    } catch (err) {
      this.#store.onError(err as Error);
    }
  }
}

function parseInfo(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** `["join"|"leave", epoch, version, id, info]`, as the scripts publish it. */
function parseEvent(message: string): PresenceEvent | undefined {
  let value: unknown;
  try {
    value = JSON.parse(message);
  } catch {
    return undefined;
  }
  if (!Array.isArray(value) || value.length !== 5) return undefined;
  const [type, epoch, version, id] = value;
  if ((type !== "join" && type !== "leave") || typeof epoch !== "string" || typeof id !== "string") return undefined;
  if (typeof version !== "number") return undefined;
  return { type, epoch, version, id, info: value[4] };
}

export class RedisDedup implements Deduplicator {
  readonly #scripts: ScriptRunner;
  readonly #key: (id: string) => string;

  /** @internal Made by {@link RedisStore}, which shares one script runner among the three. */
  constructor(scripts: ScriptRunner, store: RedisStoreOptions) {
    this.#scripts = scripts;
    this.#key = store.dedupKey ?? ((id) => store.key("dedup", id));
  }

  async claim(key: string, windowMs: number): Promise<DedupClaim> {
    const [state, outcome] = (await this.#scripts.run(
      "wirecableDedupClaim",
      [this.#key(key)],
      [Math.ceil(windowMs)],
    )) as [string, string?];
    if (state === "done") return { state, outcome: outcome ?? "" };
    return state === "pending" ? { state } : { state: "new" };
  }

  async settle(key: string, outcome: string, windowMs: number): Promise<void> {
    await this.#scripts.call("set", this.#key(key), `=${outcome}`, "PX", Math.ceil(windowMs), "XX");
  }

  async release(key: string): Promise<void> {
    await this.#scripts.call("del", this.#key(key));
  }
}

/** The three capabilities on one commander. */
export class RedisStore {
  readonly history: RedisHistory | undefined;
  readonly presence: RedisPresence;
  readonly dedup: RedisDedup;

  constructor(options: RedisStoreOptions) {
    const scripts = new ScriptRunner(options.commander);
    this.history = options.history === undefined ? undefined : new RedisHistory(scripts, options, options.history);
    this.presence = new RedisPresence(scripts, options);
    this.dedup = new RedisDedup(scripts, options);
  }
}
