/**
 * Presence for the demo chat: who is in each room, across every process that shares a broker.
 *
 * Contract:
 * - Each process owns the members connected to it and announces changes on the broker stream
 *   `presence:${room}` (`join`, `leave`); a process that gets its first member in a room asks the
 *   others for their members (`sync`, answered by `state`). Every process therefore holds the
 *   whole room and tells its own subscribers about every change (local listeners).
 * - Every `announceInterval` ms each process re-announces its members (`state`); entries of a
 *   process not heard from for 3 intervals are dropped, so a crashed process's members vanish.
 * - With the in-memory broker it all happens in one process and is exact at once; across
 *   processes it is eventually consistent (a sync round trip; a crash: 3 to 4 intervals).
 */
import type { Broker, Unsubscribe } from "../../channels/index.js";

export interface Member {
  readonly id: string;
  readonly name: string;
}

export interface PresenceChange {
  readonly room: string;
  /** "join"/"leave" for a member coming or going, "sync" when another process's list arrived or expired. */
  readonly event: "join" | "leave" | "sync";
  /** The member that came or went ("join"/"leave"). */
  readonly member?: Member;
  /** Everyone now in the room, sorted by name. */
  readonly members: readonly Member[];
}

export type PresenceListener = (change: PresenceChange) => void;

type Op =
  | { op: "join" | "leave"; pid: string; id: string; name: string }
  | { op: "sync"; pid: string }
  | { op: "state"; pid: string; members: Member[] };

interface Room {
  /** Members by process id (ours included), then by member id. */
  readonly byProcess: Map<string, Map<string, string>>;
  readonly lastSeen: Map<string, number>;
  readonly listeners: Set<PresenceListener>;
  unsubscribe: Promise<Unsubscribe> | undefined;
}

export interface PresenceOptions {
  broker: Broker;
  /** This process's id (unique among the processes sharing the broker). */
  processId: string;
  /** Re-announce period (ms). Default 5 000; 0 disables re-announcing and expiry. */
  announceInterval?: number;
  /** Broker failures (a publish that was not accepted). */
  onError?: (error: Error) => void;
}

const MAX_NAME = 64;

export class Presence {
  readonly #broker: Broker;
  readonly #pid: string;
  readonly #interval: number;
  readonly #onError: (error: Error) => void;
  readonly #rooms = new Map<string, Room>();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: PresenceOptions) {
    this.#broker = options.broker;
    this.#pid = options.processId;
    this.#interval = options.announceInterval ?? 5000;
    this.#onError = options.onError ?? (() => {});
    if (this.#interval > 0) {
      this.#timer = setInterval(() => this.#tick(), this.#interval);
      this.#timer.unref();
    }
  }

  /** Everyone in `room`, from every process. */
  members(room: string): Member[] {
    const r = this.#rooms.get(room);
    if (r === undefined) return [];
    const all: Member[] = [];
    for (const members of r.byProcess.values()) for (const [id, name] of members) all.push({ id, name });
    return all.sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
  }

  /** Add a local member; `listener` hears every later change in the room until `leave`. */
  async join(room: string, member: Member, listener: PresenceListener): Promise<void> {
    if (this.#closed) throw new Error("presence is closed");
    const r = this.#room(room);
    const first = r.unsubscribe === undefined;
    if (first) {
      r.unsubscribe = this.#broker.subscribe(`presence:${room}`, (payload) => this.#receive(room, payload));
    }
    await r.unsubscribe;
    r.listeners.add(listener);
    this.#own(r).set(member.id, member.name);
    if (first) this.#publish(room, { op: "sync", pid: this.#pid });
    this.#publish(room, { op: "join", pid: this.#pid, id: member.id, name: member.name });
    this.#notify(room, r, "join", member);
  }

  /** Remove a local member and its listener. */
  leave(room: string, member: Member, listener: PresenceListener): void {
    const r = this.#rooms.get(room);
    if (r === undefined) return;
    r.listeners.delete(listener);
    if (this.#own(r).delete(member.id)) {
      if (!this.#closed) this.#publish(room, { op: "leave", pid: this.#pid, id: member.id, name: member.name });
      this.#notify(room, r, "leave", member);
    }
    if (r.listeners.size === 0) {
      // Nobody here listens any more: stop following the room (others will expire our entry).
      this.#rooms.delete(room);
      void r.unsubscribe?.then((off) => off()).catch(() => {});
    }
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
  }

  #room(room: string): Room {
    let r = this.#rooms.get(room);
    if (r === undefined) {
      r = { byProcess: new Map(), lastSeen: new Map(), listeners: new Set(), unsubscribe: undefined };
      this.#rooms.set(room, r);
    }
    return r;
  }

  #own(r: Room): Map<string, string> {
    let own = r.byProcess.get(this.#pid);
    if (own === undefined) r.byProcess.set(this.#pid, (own = new Map()));
    return own;
  }

  #publish(room: string, op: Op): void {
    this.#broker.publish(`presence:${room}`, JSON.stringify(op)).catch((err: unknown) => {
      this.#onError(err instanceof Error ? err : new Error(String(err)));
    });
  }

  #receive(room: string, payload: string): void {
    let op: Op;
    try {
      op = JSON.parse(payload) as Op;
    } catch {
      return;
    }
    if (typeof op !== "object" || op === null || typeof op.pid !== "string" || op.pid === this.#pid) return;
    const r = this.#rooms.get(room);
    if (r === undefined) return;
    r.lastSeen.set(op.pid, Date.now());
    let theirs = r.byProcess.get(op.pid);
    if (theirs === undefined) r.byProcess.set(op.pid, (theirs = new Map()));
    switch (op.op) {
      case "join":
      case "leave": {
        if (typeof op.id !== "string" || typeof op.name !== "string") return;
        const member = { id: op.id, name: op.name.slice(0, MAX_NAME) };
        if (op.op === "join") theirs.set(member.id, member.name);
        else if (!theirs.delete(member.id)) return;
        this.#notify(room, r, op.op, member);
        return;
      }
      case "sync":
        this.#announce(room, r);
        return;
      case "state": {
        if (!Array.isArray(op.members)) return;
        const next = new Map<string, string>();
        for (const m of op.members) {
          if (typeof m?.id === "string" && typeof m.name === "string") next.set(m.id, m.name.slice(0, MAX_NAME));
        }
        if (sameMembers(theirs, next)) return;
        r.byProcess.set(op.pid, next);
        this.#notify(room, r, "sync");
        return;
      }
    }
  }

  #announce(room: string, r: Room): void {
    const own = r.byProcess.get(this.#pid);
    if (own === undefined || own.size === 0) return;
    const members = [...own].map(([id, name]) => ({ id, name }));
    this.#publish(room, { op: "state", pid: this.#pid, members });
  }

  #tick(): void {
    const now = Date.now();
    for (const [room, r] of this.#rooms) {
      this.#announce(room, r);
      let changed = false;
      for (const [pid, seen] of r.lastSeen) {
        if (now - seen > 3 * this.#interval) {
          r.lastSeen.delete(pid);
          changed = r.byProcess.delete(pid) || changed;
        }
      }
      if (changed) this.#notify(room, r, "sync");
    }
  }

  #notify(room: string, r: Room, event: PresenceChange["event"], member?: Member): void {
    const change: PresenceChange = { room, event, members: this.members(room), ...(member ? { member } : {}) };
    for (const listener of [...r.listeners]) {
      try {
        listener(change);
      } catch (err) {
        this.#onError(err instanceof Error ? err : new Error(String(err)));
      }
    }
  }
}

function sameMembers(a: Map<string, string>, b: Map<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [id, name] of a) if (b.get(id) !== name) return false;
  return true;
}
