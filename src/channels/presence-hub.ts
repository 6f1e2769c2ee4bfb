/**
 * Presence for this process's subscribers: one mirror per watched stream of the broker's
 * presence set (broker.presence, stream-presence.ts), kept up to date by its events, and the
 * changes sent to the watchers, coalesced.
 *
 * Contract:
 * - A watcher gets the whole set once (`{"type":"info","total","records":[{id,info}]}`), then
 *   only changes (`{"type":"update","total","joins":[…],"leaves":[…]}`): never the whole list per
 *   join. Connections with the extensions get them as `presence` messages; others (a channel
 *   asked for presence, the client is @rails/actioncable) as an ordinary message `{"presence":…}`.
 * - Output per stream is coalesced: changes and new watchers' snapshots go out together at most
 *   once per `interval` ms, each frame prepared once per identifier. A join and a leave of the
 *   same member within one interval cancel out. However fast members come and go, a stream costs
 *   at most one flush per interval: O(watchers) frames, not O(joins x watchers).
 * - The mirror applies events in version order; a gap or a new epoch (a lost event, a broker
 *   that lost its data) re-reads the snapshot and sends the difference.
 * - Member ids are 1-256 characters; `info` is JSON of at most 1 KiB (TypeError otherwise: the
 *   channel's mistake, not the peer's). The broker bounds members per stream (`maxMembers`).
 * - A broker without presence of its own gets presence over its publish/subscribe
 *   (pubsub-presence.ts), so every broker has it.
 */
import { CableError } from "../cable/errors.js";
import { encodePresence } from "../cable/extensions.js";
import { encodeMessage } from "../cable/protocol.js";
import type { PreparedMessage } from "../node/index.js";
import type { Broker } from "./brokers/broker.js";
import { PubSubPresence } from "./brokers/pubsub-presence.js";
import type { PresenceEvent, PresenceJoin, PresenceMember, StreamPresence } from "./brokers/stream-presence.js";
import type { CableTransport, PrepareText } from "./transport.js";

export interface PresenceWatcher {
  readonly identifier: string;
  readonly transport: CableTransport;
  readonly ext: boolean;
}

/** Default coalescing window (ms). */
export const DEFAULT_PRESENCE_INTERVAL = 100;
export const MAX_MEMBER_ID = 256;
export const MAX_MEMBER_INFO = 1024;

const ABSENT = Symbol("absent");

interface Room {
  readonly watchers: Set<PresenceWatcher>;
  /** Watchers that get the snapshot at the next flush. */
  readonly fresh: Set<PresenceWatcher>;
  readonly members: Map<string, unknown>;
  /** State at the start of the window of every member that changed in it. */
  readonly before: Map<string, unknown>;
  epoch: string;
  version: number;
  synced: boolean;
  resyncing: boolean;
  readonly queued: PresenceEvent[];
  ready: Promise<void>;
  unwatch?: () => Promise<void>;
  timer?: NodeJS.Timeout;
}

export class PresenceHub {
  readonly #presence: StreamPresence;
  readonly #own: PubSubPresence | undefined;
  readonly #prepare: PrepareText;
  readonly #report: (err: CableError) => void;
  readonly #interval: number;
  readonly #rooms = new Map<string, Room>();
  /** Flushes sent, and frames prepared for them (for tests and stats). */
  flushes = 0;
  framesPrepared = 0;

  constructor(broker: Broker, prepare: PrepareText, report: (err: CableError) => void, interval: number) {
    this.#own =
      broker.presence === undefined
        ? new PubSubPresence(broker, {}, (err) =>
            report(new CableError("BROKER_ERROR", "presence announcement failed", { cause: err })),
          )
        : undefined;
    this.#presence = broker.presence ?? this.#own!;
    this.#prepare = prepare;
    this.#report = report;
    this.#interval = interval;
    broker.on("reconnected", () => {
      for (const [stream, room] of this.#rooms) if (room.synced) void this.#resync(stream, room);
    });
  }

  /** Stops the presence this hub made for a broker without one (leaving its sessions). */
  async close(): Promise<void> {
    await this.#own?.close();
  }

  /** Sends `watcher` the set, then its changes. Resolves once the mirror is live. */
  watch(stream: string, watcher: PresenceWatcher): Promise<void> {
    let room = this.#rooms.get(stream);
    if (room === undefined) room = this.#open(stream, this.#presence);
    room.watchers.add(watcher);
    room.fresh.add(watcher);
    if (room.synced) this.#schedule(stream, room);
    return room.ready;
  }

  unwatch(stream: string, watcher: PresenceWatcher): void {
    const room = this.#rooms.get(stream);
    if (room === undefined || !room.watchers.delete(watcher)) return;
    room.fresh.delete(watcher);
    if (room.watchers.size > 0) return;
    this.#rooms.delete(stream);
    clearTimeout(room.timer);
    void room.ready.then(() => room.unwatch?.()).catch(() => {});
  }

  async join(stream: string, session: string, member: PresenceMember): Promise<PresenceJoin> {
    if (typeof member?.id !== "string" || member.id.length === 0 || member.id.length > MAX_MEMBER_ID) {
      throw new TypeError(`presence member id must be a string of 1-${MAX_MEMBER_ID} characters`);
    }
    const info = JSON.stringify(member.info ?? null);
    if (info === undefined || info.length > MAX_MEMBER_INFO) {
      throw new TypeError(`presence member info must be JSON of at most ${MAX_MEMBER_INFO} characters`);
    }
    return this.#presence.join(stream, session, { id: member.id, info: JSON.parse(info) });
  }

  leave(stream: string, session: string): Promise<void> {
    return this.#presence.leave(stream, session);
  }

  /** Everyone on `stream` now (from the mirror when this process watches it). */
  async members(stream: string): Promise<PresenceMember[]> {
    const room = this.#rooms.get(stream);
    if (room?.synced) return [...room.members].map(([id, info]) => ({ id, info }));
    return [...(await this.#presence.snapshot(stream)).members];
  }

  #open(stream: string, presence: StreamPresence): Room {
    const room: Room = {
      watchers: new Set(),
      fresh: new Set(),
      members: new Map(),
      before: new Map(),
      epoch: "",
      version: 0,
      synced: false,
      resyncing: false,
      queued: [],
      ready: Promise.resolve(),
    };
    room.ready = presence
      .watch(stream, (event) => this.#event(stream, room, event))
      .then(async (unwatch) => {
        room.unwatch = unwatch;
        if (this.#rooms.get(stream) !== room) return;
        await this.#resync(stream, room);
      })
      .catch((err) => {
        this.#report(new CableError("BROKER_ERROR", `presence of ${stream} unavailable`, { cause: err }));
      });
    this.#rooms.set(stream, room);
    return room;
  }

  #event(stream: string, room: Room, event: PresenceEvent): void {
    if (!room.synced || room.resyncing) {
      room.queued.push(event);
      return;
    }
    if (event.epoch !== room.epoch || event.version > room.version + 1) {
      room.queued.push(event);
      void this.#resync(stream, room);
      return;
    }
    if (event.version <= room.version) return;
    this.#apply(room, event);
    this.#schedule(stream, room);
  }

  #apply(room: Room, event: PresenceEvent): void {
    if (!room.before.has(event.id))
      room.before.set(event.id, room.members.has(event.id) ? room.members.get(event.id) : ABSENT);
    if (event.type === "join") room.members.set(event.id, event.info);
    else room.members.delete(event.id);
    room.version = event.version;
  }

  /** Re-reads the set and records the difference from the mirror as changes. */
  async #resync(stream: string, room: Room): Promise<void> {
    if (room.resyncing) return;
    room.resyncing = true;
    try {
      const snapshot = await this.#presence.snapshot(stream);
      const next = new Map(snapshot.members.map((m) => [m.id, m.info] as const));
      for (const [id, info] of room.members) {
        if (!next.has(id) && !room.before.has(id)) room.before.set(id, info);
      }
      for (const [id, info] of next) {
        if (room.members.get(id) !== info && !room.before.has(id)) {
          room.before.set(id, room.members.has(id) ? room.members.get(id) : ABSENT);
        }
      }
      room.members.clear();
      for (const [id, info] of next) room.members.set(id, info);
      room.epoch = snapshot.epoch;
      room.version = snapshot.version;
      room.synced = true;
      room.resyncing = false;
      const queued = room.queued.splice(0);
      for (const event of queued)
        if (event.epoch === room.epoch && event.version === room.version + 1) this.#apply(room, event);
      this.#schedule(stream, room);
    } catch (err) {
      room.resyncing = false;
      this.#report(new CableError("BROKER_ERROR", `presence of ${stream} unavailable`, { cause: err }));
    }
  }

  #schedule(stream: string, room: Room): void {
    if (room.timer !== undefined) return;
    room.timer = setTimeout(() => {
      room.timer = undefined;
      if (this.#rooms.get(stream) === room) this.#flush(room);
    }, this.#interval);
    room.timer.unref?.();
  }

  #flush(room: Room): void {
    const joins: string[] = [];
    const leaves: string[] = [];
    for (const [id, was] of room.before) {
      const now = room.members.has(id) ? room.members.get(id) : ABSENT;
      if (now === ABSENT) {
        if (was !== ABSENT) leaves.push(record(id, was));
      } else if (was === ABSENT || !sameJson(was, now)) joins.push(record(id, now));
    }
    room.before.clear();
    const total = room.members.size;
    const update =
      joins.length + leaves.length === 0
        ? undefined
        : `{"type":"update","total":${total},"joins":[${joins.join(",")}],"leaves":[${leaves.join(",")}]}`;
    let info: string | undefined;
    if (room.fresh.size > 0) {
      const records = [...room.members].map(([id, value]) => record(id, value));
      info = `{"type":"info","total":${total},"records":[${records.join(",")}]}`;
    }
    if (update === undefined && info === undefined) return;
    this.flushes++;
    const frames = new Map<string, PreparedMessage | string>();
    for (const watcher of room.watchers) {
      const fresh = room.fresh.has(watcher);
      const body = fresh ? info : update;
      if (body === undefined) continue;
      const key = `${fresh ? "i" : "u"}${watcher.ext ? "x" : "p"}${watcher.identifier}`;
      let frame = frames.get(key);
      if (frame === undefined) {
        frame = this.#prepare(
          watcher.ext
            ? encodePresence(watcher.identifier, body)
            : encodeMessage(watcher.identifier, `{"presence":${body}}`),
        );
        frames.set(key, frame);
        this.framesPrepared++;
      }
      try {
        watcher.transport.send(frame);
      } catch (err) {
        this.#report(new CableError("HANDLER_ERROR", "presence watcher failed", { cause: err }));
      }
    }
    room.fresh.clear();
  }
}

function record(id: string, info: unknown): string {
  return `{"id":${JSON.stringify(id)},"info":${JSON.stringify(info ?? null)}}`;
}

function sameJson(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}
