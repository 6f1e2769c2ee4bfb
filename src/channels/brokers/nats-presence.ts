/**
 * Presence on NATS JetStream (the capability of stream-presence.ts), for NatsBroker.
 *
 * Contract (presenceContract in test/channels/broker-capabilities.ts), and how:
 * - One document per stream: the last message of `${prefix}.p.<token>` in the PRESENCE stream
 *   (one message per subject, kept a day after its last write): epoch, version, members with
 *   their info, sessions with their member and owning process. Every change is a
 *   compare-and-set of that document (JetStream's expected last subject sequence), re-read and
 *   re-applied when another process wrote first, so the changes of all processes are ordered one
 *   way and the version grows by one per event. A process's concurrent changes to one stream go
 *   in one write (at most BATCH), so a storm of joins costs a few writes, not one race each.
 * - A write's events travel in its `Wirecable-Presence` header; the PRESENCE stream republishes
 *   the headers of what it stored, in its order, on `${prefix}.pr.<token>`: watchers listen
 *   there, so they get every event once, in version order, once `snapshot` (a direct get of the
 *   document) shows it. Events missed during a disconnection show as a version gap (the
 *   presence hub then reads the snapshot again).
 * - Liveness: a process with sessions publishes its deadline (now + ttl) on `${prefix}.pl.<owner>`
 *   (LIVENESS stream, one message per process) before its first join and every `heartbeat`.
 *   At each heartbeat a process reads the documents of the streams it follows (its sessions' and
 *   those it watches) and removes the sessions of processes past their deadline, with their
 *   leaves: a killed process's members go at most `ttl + heartbeat` after it died. Its own
 *   sessions found missing (it was paused past `ttl`) are joined again.
 * - Size: a document must fit in one NATS message (the server's max_payload, 1 MiB by default,
 *   less 64 KiB: roughly 10,000 members with a short info), and a write's events in JetStream's
 *   64 KiB of headers (a write takes fewer changes when they would not fit; a sweep removes
 *   fewer sessions). A join that would not fit, or whose member (id and info as JSON) is over
 *   MAX_MEMBER_BYTES, is refused ("full").
 */
import {
  isLostRace,
  type JetStreamAccess,
  jetStreamName,
  jetStreamSetup,
  type NatsJetStreamDeps,
} from "./nats-jetstream.js";
import { SessionPresence } from "./session-presence.js";
import { newEpoch } from "./stream-history.js";
import type {
  PresenceEvent,
  PresenceJoin,
  PresenceMember,
  PresenceOptions,
  PresenceSnapshot,
} from "./stream-presence.js";

export const PRESENCE_HEADER = "Wirecable-Presence";
const DEADLINE_HEADER = "Wirecable-Deadline";

/** How long a document (or a process's deadline) is kept after its last write (ms). */
const DOC_TTL = 24 * 60 * 60_000;
/** Compare-and-set attempts before a write gives up (each lost race means another write won). */
const MAX_ATTEMPTS = 100;
/** Changes of this process applied in one write at most. */
const BATCH = 100;
/** Sessions of dead processes removed per stream and heartbeat at most (the rest at the next). */
const SWEEP_BATCH = 500;
/** Room left in a message for its headers (JetStream refuses more than 64 KiB of headers). */
const HEADER_ROOM = 64 * 1024;
/** The events of one write, encoded, at most (bytes; what fits in the headers). */
const EVENTS_BUDGET = 48 * 1024;
/** One member's id and info, encoded, at most (bytes): its events always fit in a write. */
export const MAX_MEMBER_BYTES = 16 * 1024;

export interface NatsPresenceOptions extends NatsJetStreamDeps {
  presence?: PresenceOptions;
  onError(error: Error): void;
}

/** One stream's presence, decoded from its document; changes record their events. */
class PresenceState {
  epoch: string;
  version: number;
  readonly members: Map<string, unknown>;
  /** session -> [member id, owner] */
  readonly sessions: Map<string, [string, string]>;
  readonly events: PresenceEvent[] = [];
  /** Whether a change needs a write. */
  dirty = false;
  /** The encoded document's size, kept roughly up to date by the changes. */
  bytes: number;
  /** The encoded events' size. */
  eventBytes = 0;

  constructor(body: string | undefined) {
    const doc = body === undefined ? undefined : parseDocument(body);
    this.epoch = doc?.[0] ?? newEpoch();
    this.version = doc?.[1] ?? 0;
    this.members = new Map(doc?.[2] ?? []);
    this.sessions = new Map((doc?.[3] ?? []).map(([s, id, owner]) => [s, [id, owner]]));
    this.bytes = body?.length ?? 64;
  }

  encode(): string {
    const sessions = [...this.sessions].map(([s, [id, owner]]) => [s, id, owner]);
    return asciiJson([this.epoch, this.version, [...this.members], sessions]);
  }

  join(session: string, member: PresenceMember, owner: string, maxMembers: number, maxBytes: number): PresenceJoin {
    const info = member.info ?? null;
    const existing = this.sessions.get(session);
    if (existing !== undefined && existing[0] !== member.id) this.leave(session);
    else if (existing !== undefined) {
      if (existing[1] !== owner || asciiJson(this.members.get(member.id)) !== asciiJson(info)) this.dirty = true;
      existing[1] = owner;
      this.members.set(member.id, info);
      return "present";
    }
    const known = this.members.has(member.id);
    const size = asciiJson([member.id, info]).length;
    const adds = asciiJson([session, member.id, owner]).length + (known ? 0 : size) + 2;
    if (size > MAX_MEMBER_BYTES) return "full";
    if ((!known && this.members.size >= maxMembers) || this.bytes + adds > maxBytes) return "full";
    this.sessions.set(session, [member.id, owner]);
    this.members.set(member.id, info);
    this.bytes += adds;
    this.dirty = true;
    if (known) return "present";
    this.#event("join", member.id, info);
    return "joined";
  }

  leave(session: string): void {
    const s = this.sessions.get(session);
    if (s === undefined) return;
    this.sessions.delete(session);
    this.dirty = true;
    const [id] = s;
    for (const [, other] of this.sessions) if (other[0] === id) return;
    const info = this.members.get(id);
    this.members.delete(id);
    this.#event("leave", id, info);
  }

  #event(type: "join" | "leave", id: string, info: unknown): void {
    this.events.push({ type, id, info, epoch: this.epoch, version: ++this.version });
    this.eventBytes += asciiJson([type, id, info, this.version]).length + 1;
  }
}

interface Pending {
  change(state: PresenceState): unknown;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

export class NatsPresence extends SessionPresence {
  readonly #deps: NatsPresenceOptions;
  readonly #setup: () => Promise<JetStreamAccess>;
  readonly #docs: string;
  /** This process, as the owner of its sessions. */
  readonly #owner = newEpoch();
  /** Changes waiting for their stream's writer (one writer per stream at a time). */
  readonly #pending = new Map<string, Pending[]>();
  /** This process's deadline, published (undefined: not since it last had no sessions). */
  #announced: Promise<void> | undefined;

  constructor(options: NatsPresenceOptions) {
    super(options.presence, options.onError);
    this.#deps = options;
    this.#docs = jetStreamName("PRESENCE", options);
    const prefix = options.prefix;
    this.#setup = jetStreamSetup(options, (nats) => [
      {
        name: this.#docs,
        subjects: [`${prefix}.p.>`],
        max_msgs_per_subject: 1,
        max_age: nats.nanos(DOC_TTL),
        allow_direct: true,
        republish: { src: `${prefix}.p.>`, dest: `${prefix}.pr.>`, headers_only: true },
      },
      {
        name: jetStreamName("LIVENESS", options),
        subjects: [`${prefix}.pl.>`],
        max_msgs_per_subject: 1,
        max_age: nats.nanos(DOC_TTL),
        allow_direct: true,
      },
    ]);
  }

  #subject(stream: string): string {
    return `${this.#deps.prefix}.p.${this.#deps.token(stream)}`;
  }

  #liveness(owner: string): string {
    return `${this.#deps.prefix}.pl.${owner}`;
  }

  async join(stream: string, session: string, member: PresenceMember): Promise<PresenceJoin> {
    this.remember(stream, session, member);
    this.#announced ??= this.#announce();
    await this.#announced;
    const { nc } = await this.#setup();
    const maxBytes = (nc.info?.max_payload ?? 1024 * 1024) - HEADER_ROOM;
    const result = await this.#update(stream, (state) =>
      state.join(session, member, this.#owner, this.maxMembers, maxBytes),
    );
    if (result === "full") this.forget(stream, session);
    return result;
  }

  async leave(stream: string, session: string): Promise<void> {
    if (!this.forget(stream, session)) return;
    await this.#update(stream, (state) => state.leave(session));
  }

  async snapshot(stream: string): Promise<PresenceSnapshot> {
    const doc = await this.#read(stream);
    if (doc === undefined) return { epoch: "", version: 0, members: [] };
    const state = new PresenceState(doc.body);
    const members = [...state.members].map(([id, info]) => ({ id, info }));
    return { epoch: state.epoch, version: state.version, members };
  }

  protected async beat(): Promise<void> {
    if (this.own.size > 0) await (this.#announced = this.#announce());
    else this.#announced = undefined;
    const alive = new Map<string, Promise<boolean>>([[this.#owner, Promise.resolve(true)]]);
    await Promise.all([...this.followed()].map((stream) => this.#touch(stream, alive)));
  }

  /** Publishes this process's deadline (now + ttl); a failure is retried by the next join or heartbeat. */
  #announce(): Promise<void> {
    const published = (async () => {
      const { js, nats } = await this.#setup();
      const h = nats.headers();
      h.set(DEADLINE_HEADER, String(Date.now() + this.options.ttl));
      await js.publish(this.#liveness(this.#owner), "", { headers: h });
    })();
    published.catch(() => {
      if (this.#announced === published) this.#announced = undefined;
    });
    return published;
  }

  async #isAlive(owner: string): Promise<boolean> {
    const { read } = await this.#setup();
    const m = await read(jetStreamName("LIVENESS", this.#deps), {
      last_by_subj: this.#liveness(owner),
    });
    return m !== null && Number(m.header.get(DEADLINE_HEADER)) > Date.now();
  }

  async #touch(stream: string, alive: Map<string, Promise<boolean>>): Promise<void> {
    try {
      const doc = await this.#read(stream);
      const state = new PresenceState(doc?.body);
      const dead = new Set<string>();
      for (const [, [, owner]] of state.sessions) {
        if (!alive.has(owner)) alive.set(owner, this.#isAlive(owner));
        if (!(await alive.get(owner))) dead.add(owner);
      }
      const stale = doc !== undefined && state.sessions.size > 0 && Date.now() - doc.time > DOC_TTL / 2;
      if (dead.size > 0 || stale) {
        await this.#update(stream, (s) => {
          let removed = 0;
          for (const [session, [, owner]] of [...s.sessions]) {
            if (removed === SWEEP_BATCH || s.eventBytes > EVENTS_BUDGET - MAX_MEMBER_BYTES) break;
            if (dead.has(owner)) {
              s.leave(session);
              removed++;
            }
          }
          if (stale) s.dirty = true; // rewritten before it ages out
        });
      }
      for (const [session, member] of this.own.get(stream) ?? []) {
        if (!state.sessions.has(session) && this.own.get(stream)?.get(session) === member) {
          await this.join(stream, session, member);
        }
      }
    } catch (err) {
      this.onError(err as Error);
    }
  }

  async #read(stream: string): Promise<{ body: string; seq: number; time: number } | undefined> {
    const { read } = await this.#setup();
    const m = await read(this.#docs, { last_by_subj: this.#subject(stream) });
    return m === null ? undefined : { body: m.string(), seq: m.seq, time: m.time.getTime() };
  }

  /** Applies `change` to the stream's document (with the other changes waiting, in one write). */
  #update<T>(stream: string, change: (state: PresenceState) => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let queue = this.#pending.get(stream);
      const idle = queue === undefined;
      if (queue === undefined) this.#pending.set(stream, (queue = []));
      queue.push({ change, resolve: resolve as (value: unknown) => void, reject });
      if (idle) void this.#writer(stream, queue);
    });
  }

  async #writer(stream: string, queue: Pending[]): Promise<void> {
    while (queue.length > 0) {
      const batch = queue.splice(0, BATCH);
      try {
        const results = await this.#write(stream, batch);
        queue.unshift(...batch.slice(results.length)); // did not fit in this write: first in the next
        for (const [i, result] of results.entries()) batch[i]!.resolve(result);
      } catch (err) {
        for (const p of batch) p.reject(err);
      }
    }
    this.#pending.delete(stream);
  }

  /** Writes the first changes of `batch` whose events fit in one write; returns their results. */
  async #write(stream: string, batch: Pending[]): Promise<unknown[]> {
    const { js, nats } = await this.#setup();
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const doc = await this.#read(stream);
      let state = new PresenceState(doc?.body);
      let results: unknown[] = [];
      for (const p of batch) {
        results.push(p.change(state));
        if (state.eventBytes > EVENTS_BUDGET && results.length > 1) {
          // the last change does not fit with the others: write them, it goes in the next write
          state = new PresenceState(doc?.body);
          results = batch.slice(0, results.length - 1).map((q) => q.change(state));
          break;
        }
      }
      if (!state.dirty) return results;
      const h = nats.headers();
      if (state.events.length > 0) {
        const events = state.events.map((e) => [e.type, e.id, e.info, e.version]);
        h.set(PRESENCE_HEADER, asciiJson([state.epoch, events]));
      }
      try {
        await js.publish(this.#subject(stream), state.encode(), {
          headers: h,
          expect: { lastSubjectSequence: doc?.seq ?? 0 },
        });
        return results;
      } catch (err) {
        if (!isLostRace(err)) throw err;
      }
    }
    throw new Error(`presence of ${stream}: lost ${MAX_ATTEMPTS} races in a row`);
  }

  /** The stream's events, from what the PRESENCE stream republishes (headers only). */
  protected async listen(stream: string, deliver: (event: PresenceEvent) => void): Promise<() => Promise<void>> {
    const { nc } = await this.#setup(); // the PRESENCE stream (and its republish) exists from here on
    const sub = nc.subscribe(`${this.#deps.prefix}.pr.${this.#deps.token(stream)}`, {
      callback: (err, msg) => {
        if (err !== null) this.onError(err);
        // a write without events (an info update, a refresh) has no header
        else for (const event of parseEvents(msg.headers?.get(PRESENCE_HEADER) ?? "")) deliver(event);
      },
    });
    await nc.flush();
    return async () => sub.unsubscribe();
  }
}

/** JSON with every non-ASCII character escaped (NATS header values are kept to ASCII). */
function asciiJson(value: unknown): string {
  return (JSON.stringify(value) ?? "null").replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

type Document = [string, number, Array<[string, unknown]>, Array<[string, string, string]>];

function parseDocument(body: string): Document | undefined {
  try {
    const doc = JSON.parse(body) as unknown;
    if (Array.isArray(doc) && doc.length === 4 && typeof doc[0] === "string" && typeof doc[1] === "number") {
      if (Array.isArray(doc[2]) && Array.isArray(doc[3])) return doc as Document;
    }
  } catch {
    // not ours: treated as empty (a new epoch)
  }
  return undefined;
}

/** `[epoch, [[type, id, info, version], …]]`, as #write sets it. */
function parseEvents(header: string): PresenceEvent[] {
  let value: unknown;
  try {
    value = JSON.parse(header);
  } catch {
    return [];
  }
  if (!Array.isArray(value) || typeof value[0] !== "string" || !Array.isArray(value[1])) return [];
  const epoch = value[0];
  const events: PresenceEvent[] = [];
  for (const e of value[1] as unknown[]) {
    if (!Array.isArray(e) || e.length !== 4) continue;
    const [type, id, info, version] = e;
    if ((type !== "join" && type !== "leave") || typeof id !== "string" || typeof version !== "number") continue;
    events.push({ type, id, info, epoch, version });
  }
  return events;
}
