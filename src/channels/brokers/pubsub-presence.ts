/**
 * Presence over any broker's plain publish/subscribe (the default of brokers whose store offers
 * none of its own, such as core NATS): every process keeps the whole set of the streams it
 * follows, from the others' announcements.
 *
 * Contract (StreamPresence, stream-presence.ts), with these differences from a store's:
 * - Each process announces its own sessions on the stream `\u0001presence\u0001<stream>`:
 *   `join`, `leave`, a full `state` every `heartbeat` ms and when asked (`sync`, sent by a
 *   process that starts following the stream). A process not heard from for `ttl` is dead: its
 *   members leave. So members of a killed process disappear within `ttl + heartbeat` (`timeout`).
 * - Snapshots and events are this process's view: `epoch` is this process's, versions count the
 *   changes it saw. A process that just started following a stream learns the others' members a
 *   broker round trip later (as joins). `maxMembers` is checked against this view.
 * - Announcements that are not ours are ignored (malformed JSON, wrong shapes).
 */
import { randomUUID } from "node:crypto";
import type { Broker } from "./broker.js";
import { newEpoch } from "./stream-history.js";
import {
  type PresenceJoin,
  type PresenceListener,
  type PresenceMember,
  type PresenceOptions,
  type PresenceSnapshot,
  type ResolvedPresenceOptions,
  resolvePresenceOptions,
  type StreamPresence,
} from "./stream-presence.js";

type Session = readonly [id: string, info: unknown];

type Announcement =
  | { op: "join"; pid: string; sid: string; id: string; info: unknown }
  | { op: "leave"; pid: string; sid: string }
  | { op: "sync"; pid: string }
  | { op: "state"; pid: string; sessions: Array<[string, string, unknown]> };

interface Room {
  readonly epoch: string;
  version: number;
  /** Sessions by process (ours included): sid -> [member id, info]. */
  readonly byProcess: Map<string, Map<string, Session>>;
  readonly lastSeen: Map<string, number>;
  /** Member id -> [info, sessions]. */
  readonly members: Map<string, { info: unknown; sessions: number }>;
  readonly watchers: Set<PresenceListener>;
  subscribed?: Promise<() => Promise<void>>;
}

export class PubSubPresence implements StreamPresence {
  readonly timeout: number;
  readonly maxMembers: number;
  readonly #broker: Pick<Broker, "publish" | "subscribe">;
  readonly #options: ResolvedPresenceOptions;
  readonly #pid = randomUUID();
  readonly #rooms = new Map<string, Room>();
  readonly #onError: (error: Error) => void;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    broker: Pick<Broker, "publish" | "subscribe">,
    options: PresenceOptions = {},
    onError: (error: Error) => void = () => {},
  ) {
    this.#broker = broker;
    this.#options = resolvePresenceOptions(options);
    this.timeout = this.#options.ttl + this.#options.heartbeat;
    this.maxMembers = this.#options.maxMembers;
    this.#onError = onError;
  }

  async join(stream: string, session: string, member: PresenceMember): Promise<PresenceJoin> {
    const room = await this.#follow(stream);
    const own = this.#sessions(room, this.#pid);
    const before = own.get(session);
    if (before !== undefined && before[0] === member.id) {
      own.set(session, [member.id, member.info]);
      room.members.get(member.id)!.info = member.info;
      this.#announce(stream, { op: "join", pid: this.#pid, sid: session, id: member.id, info: member.info });
      return "present";
    }
    if (before !== undefined) this.#remove(room, this.#pid, session);
    if (!room.members.has(member.id) && room.members.size >= this.maxMembers) return "full";
    const joined = this.#add(room, this.#pid, session, member.id, member.info);
    this.#announce(stream, { op: "join", pid: this.#pid, sid: session, id: member.id, info: member.info });
    return joined ? "joined" : "present";
  }

  async leave(stream: string, session: string): Promise<void> {
    const room = this.#rooms.get(stream);
    if (room === undefined || !this.#sessions(room, this.#pid).has(session)) return;
    this.#remove(room, this.#pid, session);
    this.#announce(stream, { op: "leave", pid: this.#pid, sid: session });
    this.#forgetIfIdle(stream, room);
  }

  async snapshot(stream: string): Promise<PresenceSnapshot> {
    const room = await this.#follow(stream);
    const members = [...room.members].map(([id, m]) => ({ id, info: m.info }));
    return { epoch: room.epoch, version: room.version, members };
  }

  async watch(stream: string, listener: PresenceListener): Promise<() => Promise<void>> {
    const room = await this.#follow(stream);
    const own: PresenceListener = (event) => listener(event);
    room.watchers.add(own);
    return async () => {
      room.watchers.delete(own);
      this.#forgetIfIdle(stream, room);
    };
  }

  /** Leave every own session (a graceful close), then stop announcing. */
  async close(): Promise<void> {
    for (const [stream, room] of [...this.#rooms]) {
      for (const session of [...this.#sessions(room, this.#pid).keys()]) await this.leave(stream, session);
    }
    this.abandon();
  }

  /** Stop without leaving (a crash, for fault tests). */
  abandon(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    for (const room of this.#rooms.values()) void room.subscribed?.then((off) => off()).catch(() => {});
    this.#rooms.clear();
  }

  async #follow(stream: string): Promise<Room> {
    let room = this.#rooms.get(stream);
    if (room === undefined) {
      const created: Room = {
        epoch: newEpoch(),
        version: 0,
        byProcess: new Map(),
        lastSeen: new Map(),
        members: new Map(),
        watchers: new Set(),
      };
      room = created;
      this.#rooms.set(stream, created);
      created.subscribed = this.#broker.subscribe(channelOf(stream), (payload) =>
        this.#receive(stream, created, payload),
      );
      this.#start();
      await created.subscribed;
      this.#announce(stream, { op: "sync", pid: this.#pid });
    }
    await room.subscribed;
    return room;
  }

  #sessions(room: Room, pid: string): Map<string, Session> {
    let sessions = room.byProcess.get(pid);
    if (sessions === undefined) room.byProcess.set(pid, (sessions = new Map()));
    return sessions;
  }

  /** Adds a session; true (and a join event) when its member is new. */
  #add(room: Room, pid: string, sid: string, id: string, info: unknown): boolean {
    this.#sessions(room, pid).set(sid, [id, info]);
    const known = room.members.get(id);
    if (known !== undefined) {
      known.sessions++;
      known.info = info;
      return false;
    }
    room.members.set(id, { info, sessions: 1 });
    this.#emit(room, "join", id, info);
    return true;
  }

  #remove(room: Room, pid: string, sid: string): void {
    const sessions = room.byProcess.get(pid);
    const session = sessions?.get(sid);
    if (sessions === undefined || session === undefined) return;
    sessions.delete(sid);
    const member = room.members.get(session[0]);
    if (member === undefined || --member.sessions > 0) return;
    room.members.delete(session[0]);
    this.#emit(room, "leave", session[0], member.info);
  }

  #emit(room: Room, type: "join" | "leave", id: string, info: unknown): void {
    const event = { type, id, info, epoch: room.epoch, version: ++room.version };
    for (const watcher of [...room.watchers]) {
      try {
        watcher(event);
      } catch (err) {
        this.#onError(err instanceof Error ? err : new Error(String(err)));
      }
    }
  }

  #receive(stream: string, room: Room, payload: string): void {
    let a: Announcement;
    try {
      a = JSON.parse(payload) as Announcement;
    } catch {
      return;
    }
    if (typeof a !== "object" || a === null || typeof a.pid !== "string" || a.pid === this.#pid) return;
    room.lastSeen.set(a.pid, Date.now());
    switch (a.op) {
      case "join": {
        if (typeof a.sid !== "string" || typeof a.id !== "string") return;
        const current = room.byProcess.get(a.pid)?.get(a.sid);
        if (current?.[0] === a.id) {
          this.#sessions(room, a.pid).set(a.sid, [a.id, a.info]);
          room.members.get(a.id)!.info = a.info; // a repeated join updates the info
          return;
        }
        if (current !== undefined) this.#remove(room, a.pid, a.sid);
        this.#add(room, a.pid, a.sid, a.id, a.info);
        return;
      }
      case "leave":
        if (typeof a.sid === "string") this.#remove(room, a.pid, a.sid);
        return;
      case "sync":
        this.#announceState(stream, room);
        return;
      case "state": {
        if (!Array.isArray(a.sessions)) return;
        const next = new Map<string, Session>();
        for (const s of a.sessions) {
          if (Array.isArray(s) && typeof s[0] === "string" && typeof s[1] === "string") next.set(s[0], [s[1], s[2]]);
        }
        const current = room.byProcess.get(a.pid) ?? new Map<string, Session>();
        for (const [sid, [id]] of [...current]) if (next.get(sid)?.[0] !== id) this.#remove(room, a.pid, sid);
        for (const [sid, [id, info]] of next) if (!current.has(sid)) this.#add(room, a.pid, sid, id, info);
        return;
      }
    }
  }

  #announce(stream: string, announcement: Announcement): void {
    this.#broker.publish(channelOf(stream), JSON.stringify(announcement)).catch((err: unknown) => {
      this.#onError(err instanceof Error ? err : new Error(String(err)));
    });
  }

  #announceState(stream: string, room: Room): void {
    const own = room.byProcess.get(this.#pid);
    if (own === undefined || own.size === 0) return;
    const sessions = [...own].map(([sid, [id, info]]) => [sid, id, info] as [string, string, unknown]);
    this.#announce(stream, { op: "state", pid: this.#pid, sessions });
  }

  #start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.#tick(), this.#options.heartbeat);
    this.#timer.unref();
  }

  /** Heartbeat: announce ours, drop the processes not heard from for `ttl`. */
  #tick(): void {
    const now = Date.now();
    for (const [stream, room] of this.#rooms) {
      this.#announceState(stream, room);
      for (const [pid, seen] of [...room.lastSeen]) {
        if (now - seen <= this.#options.ttl) continue;
        room.lastSeen.delete(pid);
        for (const sid of [...(room.byProcess.get(pid)?.keys() ?? [])]) this.#remove(room, pid, sid);
        room.byProcess.delete(pid);
      }
    }
  }

  #forgetIfIdle(stream: string, room: Room): void {
    if (room.watchers.size > 0 || (room.byProcess.get(this.#pid)?.size ?? 0) > 0) return;
    this.#rooms.delete(stream);
    void room.subscribed?.then((off) => off()).catch(() => {});
  }
}

/** The stream carrying a stream's presence announcements (streams starting with \u0001 are reserved). */
function channelOf(stream: string): string {
  return `\u0001presence\u0001${stream}`;
}
