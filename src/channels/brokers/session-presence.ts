/**
 * What the presence of every broker keeping members in a shared server (Redis and Redis Cluster:
 * redis-store.ts, PostgreSQL: postgres-store.ts, NATS: nats-presence.ts) shares, around the
 * server-specific part:
 * - this process's sessions (`remember`/`forget`), which `close()` leaves and heartbeats refresh
 *   or join again when the server lost them;
 * - the watched streams: one server subscription per stream (`listen`, given to the subclass),
 *   however many local listeners, each listener's exceptions reported through `onError`;
 * - the heartbeat timer (every `heartbeat` ms from the first join or watch, unref'd): `beat()`
 *   runs one at a time, its errors reported through `onError`;
 * - `abandon()`: stop as a killed process would (fault tests), leaving nothing.
 */
import {
  type PresenceEvent,
  type PresenceJoin,
  type PresenceListener,
  type PresenceMember,
  type PresenceOptions,
  type PresenceSnapshot,
  type ResolvedPresenceOptions,
  resolvePresenceOptions,
  type StreamPresence,
} from "./stream-presence.js";

interface Watched {
  readonly listeners: Set<PresenceListener>;
  readonly ready: Promise<() => Promise<void>>;
}

export abstract class SessionPresence implements StreamPresence {
  readonly timeout: number;
  readonly maxMembers: number;
  protected readonly options: ResolvedPresenceOptions;
  /** This process's sessions: stream -> session -> member. */
  protected readonly own = new Map<string, Map<string, PresenceMember>>();
  protected readonly onError: (error: Error) => void;
  readonly #watched = new Map<string, Watched>();
  #timer: NodeJS.Timeout | undefined;
  #beating = false;

  constructor(options: PresenceOptions | undefined, onError: (error: Error) => void) {
    this.options = resolvePresenceOptions(options);
    this.timeout = this.options.ttl + this.options.heartbeat;
    this.maxMembers = this.options.maxMembers;
    this.onError = onError;
  }

  abstract join(stream: string, session: string, member: PresenceMember): Promise<PresenceJoin>;
  abstract leave(stream: string, session: string): Promise<void>;
  abstract snapshot(stream: string): Promise<PresenceSnapshot>;
  /** Subscribes to the stream's events on the server (each one to `deliver`); resolves to the unsubscribe. */
  protected abstract listen(stream: string, deliver: (event: PresenceEvent) => void): Promise<() => Promise<void>>;
  /** One heartbeat's work: refresh this process's sessions, remove the dead, join again what went missing. */
  protected abstract beat(): Promise<void>;

  async watch(stream: string, listener: PresenceListener): Promise<() => Promise<void>> {
    const own: PresenceListener = (event) => listener(event);
    let watched = this.#watched.get(stream);
    if (watched === undefined) {
      const listeners = new Set<PresenceListener>();
      const created: Watched = { listeners, ready: this.listen(stream, (event) => this.#deliver(listeners, event)) };
      created.ready.catch(() => {
        if (this.#watched.get(stream) === created) this.#watched.delete(stream); // the next watch tries again
      });
      watched = created;
      this.#watched.set(stream, created);
      this.#start();
    }
    watched.listeners.add(own);
    await watched.ready;
    return async () => {
      const current = this.#watched.get(stream);
      if (current === undefined || !current.listeners.delete(own) || current.listeners.size > 0) return;
      this.#watched.delete(stream);
      await (await current.ready)();
    };
  }

  /** Leave every session of this process (a graceful close), then stop. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    const all = [...this.own].flatMap(([stream, sessions]) => [...sessions.keys()].map((s) => [stream, s] as const));
    await Promise.all(all.map(([stream, session]) => this.leave(stream, session).catch(() => {})));
  }

  /** Stop without leaving (a crash, for fault tests). */
  abandon(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.own.clear();
    this.#watched.clear();
  }

  /** One heartbeat now (see `beat`); does nothing while one runs. */
  async heartbeat(): Promise<void> {
    if (this.#beating) return;
    this.#beating = true;
    try {
      await this.beat();
    } catch (err) {
      this.onError(err as Error);
    } finally {
      this.#beating = false;
    }
  }

  /** The streams this process has sessions on or watches. */
  protected followed(): Set<string> {
    return new Set([...this.own.keys(), ...this.#watched.keys()]);
  }

  /** Counts `session` as this process's (and starts the heartbeat). */
  protected remember(stream: string, session: string, member: PresenceMember): void {
    let sessions = this.own.get(stream);
    if (sessions === undefined) this.own.set(stream, (sessions = new Map()));
    sessions.set(session, member);
    this.#start();
  }

  /** Forgets one of this process's sessions; false when it was not one. */
  protected forget(stream: string, session: string): boolean {
    const sessions = this.own.get(stream);
    if (sessions === undefined || !sessions.delete(session)) return false;
    if (sessions.size === 0) this.own.delete(stream);
    return true;
  }

  #deliver(listeners: Set<PresenceListener>, event: PresenceEvent): void {
    for (const listener of [...listeners]) {
      try {
        listener(event);
      } catch (err) {
        this.onError(err instanceof Error ? err : new Error(String(err)));
      }
    }
  }

  #start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => void this.heartbeat(), this.options.heartbeat);
    this.#timer.unref();
  }
}
