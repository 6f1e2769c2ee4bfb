/**
 * History, presence, dedup and large payloads on PostgreSQL, for PostgresBroker (tables and
 * functions in postgres-schema.ts, created on first use).
 *
 * Contract:
 * - History: one row per message in wirecable_history, trimmed to `limit` at each publish and to
 *   `ttl` by reads and a sweep; the stream's epoch lives in wirecable_streams and survives
 *   restarts of the database and of every process (durable tables), so a client's position stays
 *   valid across them as long as its messages are retained.
 * - Presence: every `heartbeat` each process pushes the deadline of its own sessions to
 *   now + `ttl` (one UPDATE) and removes expired sessions of any process (one function call,
 *   with their leave events), so a killed process's members disappear at most `ttl + heartbeat`
 *   after it died. Sessions found missing (the database lost them) are joined again.
 * - Payloads that do not fit NOTIFY's 8000 bytes travel through wirecable_spill (plain streams)
 *   or the history row (history streams): the notification carries the reference, listeners
 *   read the row, and delivery keeps NOTIFY's order.
 */
import { createHash } from "node:crypto";
import type { DedupClaim, Deduplicator } from "./dedup.js";
import {
  HISTORY_ENSURE,
  HISTORY_PUBLISH,
  HISTORY_READ,
  SCHEMA,
  SCHEMA_LOCK,
  SPILL_PUBLISH,
} from "./postgres-schema.js";
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

export interface PostgresStoreOptions {
  /** Runs a statement (PostgresBroker: on its publishing connection). */
  query(text: string, params?: unknown[]): Promise<{ rows: Array<Record<string, unknown>> }>;
  /** LISTEN to a raw channel (presence events) on the listening connection. */
  listen(channel: string, onMessage: (message: string) => void): Promise<() => Promise<void>>;
  /** The NOTIFY channel of a stream's messages. */
  channel(stream: string): string;
  prefix: string;
  processId: string;
  history?: HistoryOptions;
  presence?: PresenceOptions;
  onError(error: Error): void;
}

/** A NOTIFY payload must stay under 8000 bytes; an envelope over this budget is spilled. */
export const NOTIFY_BUDGET = 7900;
/** How long spilled payloads are kept for listeners to read (ms). */
const SPILL_TTL = 60_000;

/** The presence channel of a stream: the same name wirecable_presence_channel() computes. */
export function presenceChannel(prefix: string, stream: string): string {
  return `wcp_${createHash("md5").update(`${prefix}\u0001${stream}`).digest("hex")}`;
}

export class PostgresStore {
  readonly history: PostgresHistory | undefined;
  readonly presence: PostgresPresence;
  readonly dedup: PostgresDedup;
  readonly #options: PostgresStoreOptions;
  #schema: Promise<void> | undefined;
  #sweeper: NodeJS.Timeout | undefined;

  constructor(options: PostgresStoreOptions) {
    this.#options = options;
    this.history = options.history === undefined ? undefined : new PostgresHistory(this, options, options.history);
    this.presence = new PostgresPresence(this, options);
    this.dedup = new PostgresDedup(this, options);
  }

  /** A statement, once the schema exists (created on first use; retried after a failure). */
  async query(text: string, params?: unknown[]): Promise<Array<Record<string, unknown>>> {
    this.#schema ??= this.#createSchema();
    try {
      await this.#schema;
    } catch (err) {
      this.#schema = undefined;
      throw err;
    }
    this.#startSweeper();
    return (await this.#options.query(text, params)).rows;
  }

  /** Stores a payload too large for NOTIFY and notifies its id. */
  async spill(stream: string, payload: string, origin: string): Promise<void> {
    await this.query(SPILL_PUBLISH, [JSON.stringify(payload), this.#options.channel(stream), origin, stream]);
  }

  async readSpill(id: number): Promise<string | undefined> {
    const rows = await this.query("SELECT payload FROM wirecable_spill WHERE id = $1", [id]);
    return rows.length === 0 ? undefined : (JSON.parse(rows[0]!.payload as string) as string);
  }

  async readHistoryRow(stream: string, offset: number): Promise<string | undefined> {
    const rows = await this.query(
      `SELECT payload FROM wirecable_history WHERE prefix = $1 AND stream = $2 AND "offset" = $3`,
      [this.#options.prefix, stream, offset],
    );
    return rows.length === 0 ? undefined : (JSON.parse(rows[0]!.payload as string) as string);
  }

  close(): void {
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
  }

  async #createSchema(): Promise<void> {
    // One simple-protocol string runs as one transaction: the transaction-level lock is held
    // until the DDL commits, so another process's CREATE OR REPLACE waits for it.
    await this.#options.query(`SELECT pg_advisory_xact_lock(${SCHEMA_LOCK}); ${SCHEMA}`);
  }

  /** Expired history rows, spilled payloads and dedup ids go, every `ttl` (at most a minute). */
  #startSweeper(): void {
    if (this.#sweeper !== undefined) return;
    const every = Math.min(this.history?.ttl ?? SPILL_TTL, SPILL_TTL);
    this.#sweeper = setInterval(() => void this.#sweep(), every);
    this.#sweeper.unref();
  }

  async #sweep(): Promise<void> {
    const { prefix } = this.#options;
    try {
      if (this.history !== undefined) {
        await this.#options.query(
          `DELETE FROM wirecable_history WHERE prefix = $1 AND created_at < clock_timestamp() - $2::bigint * interval '1 millisecond'`,
          [prefix, Math.ceil(this.history.ttl)],
        );
      }
      await this.#options.query(
        `DELETE FROM wirecable_spill WHERE created_at < now() - ${SPILL_TTL} * interval '1 millisecond'`,
      );
      await this.#options.query("DELETE FROM wirecable_dedup WHERE expires_at < now()");
    } catch (err) {
      this.#options.onError(err as Error);
    }
  }
}

export class PostgresHistory implements StreamHistory {
  readonly limit: number;
  readonly ttl: number;
  readonly #options: ResolvedHistoryOptions;
  readonly #store: PostgresStore;
  readonly #pg: PostgresStoreOptions;

  constructor(store: PostgresStore, pg: PostgresStoreOptions, history: HistoryOptions) {
    this.#options = resolveHistoryOptions(history);
    this.limit = this.#options.limit;
    this.ttl = this.#options.ttl;
    this.#store = store;
    this.#pg = pg;
  }

  keeps(stream: string): boolean {
    return this.#options.streams(stream);
  }

  /** Stores the message and notifies it with its position, in one statement. */
  async append(stream: string, payload: string): Promise<StreamPosition> {
    const { prefix, processId } = this.#pg;
    // Room for the envelope's other fields: an epoch and an offset of at most 16 characters each.
    const inline =
      Buffer.byteLength(JSON.stringify([processId, stream, payload, "e".repeat(16), 1e15])) <= NOTIFY_BUDGET;
    const rows = await this.#store.query(HISTORY_PUBLISH, [
      prefix,
      stream,
      newEpoch(),
      JSON.stringify(payload),
      this.limit,
      this.#pg.channel(stream),
      processId,
      inline,
    ]);
    return { epoch: rows[0]!.epoch as string, offset: Number(rows[0]!.offset) };
  }

  async position(stream: string): Promise<StreamPosition> {
    return (await this.#read(stream, Number.MAX_SAFE_INTEGER, 0)).position;
  }

  async since(stream: string, since: StreamPosition): Promise<HistoryRead> {
    const read = await this.#read(stream, Math.max(0, since.offset), this.limit + 1);
    return readSince(read.position, read.entries, since);
  }

  async recent(stream: string, count: number) {
    return this.#read(stream, 0, Math.max(0, Math.min(count, this.limit)));
  }

  async #read(
    stream: string,
    after: number,
    max: number,
  ): Promise<{ entries: StreamEntry[]; position: StreamPosition }> {
    const { prefix } = this.#pg;
    const params = [prefix, stream, after, Math.ceil(this.ttl), max];
    let rows = await this.#store.query(HISTORY_READ, params);
    if (rows.length === 0) {
      await this.#store.query(HISTORY_ENSURE, [prefix, stream, newEpoch()]);
      rows = await this.#store.query(HISTORY_READ, params);
    }
    const epoch = rows[0]!.epoch as string;
    const position = { epoch, offset: Number(rows[0]!.offset) };
    const entries: StreamEntry[] = [];
    for (const row of rows) {
      if (row.at === null) continue;
      entries.push({ payload: JSON.parse(row.payload as string) as string, epoch, offset: Number(row.at) });
    }
    // Only a contiguous run ending at the current offset counts as retained (readSince's input).
    let start = entries.length;
    while (start > 0 && entries[start - 1]!.offset === position.offset - (entries.length - start)) start--;
    return { entries: entries.slice(start), position };
  }
}

const SWEEP_BATCH = 500;

export class PostgresPresence extends SessionPresence {
  readonly #store: PostgresStore;
  readonly #pg: PostgresStoreOptions;

  constructor(store: PostgresStore, pg: PostgresStoreOptions) {
    super(pg.presence, pg.onError);
    this.#store = store;
    this.#pg = pg;
  }

  async join(stream: string, session: string, member: PresenceMember): Promise<PresenceJoin> {
    this.remember(stream, session, member);
    const rows = await this.#store.query("SELECT wirecable_presence_join($1, $2, $3, $4, $5, $6, $7, $8, $9) AS r", [
      this.#pg.prefix,
      stream,
      session,
      member.id,
      JSON.stringify(member.info ?? null),
      this.#pg.processId,
      Math.ceil(this.options.ttl),
      this.maxMembers,
      newEpoch(),
    ]);
    const result = rows[0]!.r as PresenceJoin;
    if (result === "full") this.forget(stream, session);
    return result;
  }

  async leave(stream: string, session: string): Promise<void> {
    if (!this.forget(stream, session)) return;
    await this.#store.query("SELECT wirecable_presence_leave($1, $2, $3)", [this.#pg.prefix, stream, session]);
  }

  async snapshot(stream: string): Promise<PresenceSnapshot> {
    const { prefix } = this.#pg;
    await this.#store.query(
      "INSERT INTO wirecable_presence_meta (prefix, stream, epoch) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
      [prefix, stream, newEpoch()],
    );
    const rows = await this.#store.query(
      `SELECT m.epoch, m.version, p.member, p.info FROM wirecable_presence_meta m
       LEFT JOIN LATERAL (SELECT DISTINCT ON (member) member, info FROM wirecable_presence
         WHERE prefix = m.prefix AND stream = m.stream ORDER BY member) p ON true
       WHERE m.prefix = $1 AND m.stream = $2`,
      [prefix, stream],
    );
    const members: PresenceMember[] = [];
    for (const row of rows) {
      if (row.member !== null) members.push({ id: row.member as string, info: JSON.parse(row.info as string) });
    }
    return { epoch: rows[0]!.epoch as string, version: Number(rows[0]!.version), members };
  }

  protected listen(stream: string, deliver: (event: PresenceEvent) => void): Promise<() => Promise<void>> {
    return this.#pg.listen(presenceChannel(this.#pg.prefix, stream), (message) => {
      const event = parseEvent(message);
      if (event !== undefined) deliver(event);
    });
  }

  /** Refresh ours, expire everyone's dead sessions, join again what went missing. */
  protected async beat(): Promise<void> {
    const { prefix, processId } = this.#pg;
    if (this.own.size > 0) {
      const rows = await this.#store.query(
        `UPDATE wirecable_presence SET expires_at = now() + $3::bigint * interval '1 millisecond'
         WHERE prefix = $1 AND owner = $2 RETURNING stream, session`,
        [prefix, processId, Math.ceil(this.options.ttl)],
      );
      const alive = new Set(rows.map((r) => `${r.stream as string}\u0000${r.session as string}`));
      for (const [stream, sessions] of [...this.own]) {
        for (const [session, member] of [...sessions]) {
          if (!alive.has(`${stream}\u0000${session}`)) await this.join(stream, session, member);
        }
      }
    }
    await this.#store.query("SELECT wirecable_presence_sweep($1, $2)", [prefix, SWEEP_BATCH]);
  }
}

/** `{type, epoch, version, id, info}`, as wirecable_presence_* NOTIFY it. */
function parseEvent(message: string): PresenceEvent | undefined {
  let value: Partial<Record<string, unknown>>;
  try {
    value = JSON.parse(message) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const { type, epoch, version, id } = value;
  if ((type !== "join" && type !== "leave") || typeof epoch !== "string" || typeof id !== "string") return undefined;
  if (typeof version !== "number") return undefined;
  return { type, epoch, version, id, info: value.info ?? null };
}

export class PostgresDedup implements Deduplicator {
  readonly #store: PostgresStore;
  readonly #prefix: string;

  constructor(store: PostgresStore, pg: PostgresStoreOptions) {
    this.#store = store;
    this.#prefix = pg.prefix;
  }

  #key(key: string): string {
    return `${this.#prefix}\u0001${key}`;
  }

  async claim(key: string, windowMs: number): Promise<DedupClaim> {
    const claimed = await this.#store.query(
      `INSERT INTO wirecable_dedup (key, outcome, expires_at) VALUES ($1, NULL, now() + $2::bigint * interval '1 millisecond')
       ON CONFLICT (key) DO UPDATE SET outcome = NULL, expires_at = EXCLUDED.expires_at
       WHERE wirecable_dedup.expires_at <= now() RETURNING 1`,
      [this.#key(key), Math.ceil(windowMs)],
    );
    if (claimed.length > 0) return { state: "new" };
    const rows = await this.#store.query("SELECT outcome FROM wirecable_dedup WHERE key = $1", [this.#key(key)]);
    if (rows.length === 0) return this.claim(key, windowMs); // expired and deleted meanwhile
    const outcome = rows[0]!.outcome;
    return outcome === null ? { state: "pending" } : { state: "done", outcome: outcome as string };
  }

  async settle(key: string, outcome: string, windowMs: number): Promise<void> {
    await this.#store.query(
      `UPDATE wirecable_dedup SET outcome = $2,
         expires_at = greatest(expires_at, now() + $3::bigint * interval '1 millisecond') WHERE key = $1`,
      [this.#key(key), outcome, Math.ceil(windowMs)],
    );
  }

  async release(key: string): Promise<void> {
    await this.#store.query("DELETE FROM wirecable_dedup WHERE key = $1", [this.#key(key)]);
  }
}
