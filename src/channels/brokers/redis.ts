/**
 * Redis pub/sub broker (ioredis). Several processes sharing one Redis and one `prefix` form a
 * cluster: a broadcast from any of them (or from a process with no sockets) reaches the
 * subscribers of all of them.
 *
 * Design:
 * - Two connections: a publisher, and a subscriber (a connection in SUBSCRIBE mode can do
 *   nothing else). One Redis SUBSCRIBE per stream and process, however many local handlers.
 * - Channel name `${prefix}:${stream}` (Rails' channel_prefix convention), SUBSCRIBE only:
 *   exact names, never PSUBSCRIBE patterns.
 * - `localDelivery: true` (default): publish delivers to this process's handlers at once, then
 *   sends `\0<processId>\0<payload>` to Redis; the echo that comes back carrying our own
 *   processId is dropped. Local subscribers keep receiving while Redis is down, and see no Redis
 *   round trip. Messages without the `\0` envelope (a Rails app publishing plain JSON on the same
 *   Redis) are delivered as they are.
 *   `localDelivery: false`: publish sends the bare payload, exactly as Rails' Redis adapter does,
 *   and every process (this one included) receives it from Redis: Rails and wirecable servers can
 *   then share one Redis both ways.
 * - Outages: both connections reconnect forever (capped backoff). The subscriber resubscribes
 *   every stream it had on each reconnect (`reconnected` event with the downtime). A publish
 *   while the publisher is down is not queued: it rejects and is counted in `lostCount` and
 *   reported as a `lost` event. Plain Redis pub/sub keeps no backlog: whatever other processes
 *   published while *our subscriber* was disconnected is lost too, and cannot be counted here;
 *   the `disconnected`/`reconnected` events bracket that window.
 */
import { randomUUID } from "node:crypto";
import type { Redis, RedisOptions } from "ioredis";
import { BaseBroker, type Broker, type BrokerHandler, checkTimeout, type Unsubscribe } from "./broker.js";
import { received, wrap } from "./envelope.js";
import { loadPeer } from "./optional-peer.js";
import { type RedisDedup, type RedisHistory, type RedisPresence, RedisStore } from "./redis-store.js";
import type { HistoryOptions } from "./stream-history.js";
import type { PresenceOptions } from "./stream-presence.js";

/**
 * ioredis connection options (ioredis' `RedisOptions`), passed through to both connections.
 * Typed structurally here so that wirecable's types never require ioredis to be installed.
 */
export interface RedisClientOptions {
  host?: string;
  port?: number;
  username?: string;
  password?: string;
  db?: number;
  tls?: object;
  connectTimeout?: number;
  retryStrategy?: (times: number) => number | null | undefined;
  [option: string]: unknown;
}

export interface RedisBrokerOptions {
  /** `redis://host:port/db`; default `redis://127.0.0.1:6379`. */
  url?: string;
  /** Extra ioredis options for both connections. */
  redis?: RedisClientOptions;
  /** Channel prefix: channels are `${prefix}:${stream}` (none when empty). */
  prefix?: string;
  /** Deliver locally before publishing and drop our own echo (default true). See the module comment. */
  localDelivery?: boolean;
  /** This process's id in the envelope; default a random UUID. */
  processId?: string;
  /**
   * How long publish/subscribe wait for the first connection before giving up (ms, 0 to 2^31 - 1;
   * default 5000; 0: they do not wait).
   */
  connectTimeout?: number;
  /** Keep stream history in Redis Streams (resumable streams). Default: none. */
  history?: HistoryOptions;
  /** Presence timing and limits (heartbeats, expiry of a dead process's members). */
  presence?: PresenceOptions;
}

/**
 * A Broker over Redis pub/sub. Needs the optional peer dependency `ioredis` (`npm install
 * ioredis`): the constructor throws MissingPeerError without it.
 */
export class RedisBroker extends BaseBroker implements Broker {
  readonly processId: string;
  readonly prefix: string;
  readonly localDelivery: boolean;
  /** Both connections, once ioredis has loaded (the constructor starts loading it). */
  #pub: Redis | undefined;
  #sub: Redis | undefined;
  /** Resolves once both connections are ready, or after `connectTimeout`; rejects if ioredis failed to load. */
  readonly #firstReady: Promise<void>;
  #subWasReady = false;
  #downSince = 0;
  /** Times the subscriber came back and resubscribed every stream. */
  reconnects = 0;
  readonly history: RedisHistory | undefined;
  readonly presence: RedisPresence;
  readonly dedup: RedisDedup;
  /** Channels listened to for the store (presence events), besides the streams. */
  readonly #listened = new Map<string, (message: string) => void>();

  constructor(options: RedisBrokerOptions = {}) {
    super();
    checkTimeout("RedisBroker", "connectTimeout", options.connectTimeout, 0);
    const ioredis = loadPeer<typeof import("ioredis")>("ioredis", "RedisBroker");
    this.processId = options.processId ?? randomUUID();
    this.prefix = options.prefix ?? "";
    this.localDelivery = options.localDelivery ?? true;
    const timeout = options.connectTimeout ?? 5000;
    const storePrefix = this.prefix === "" ? "wirecable" : `${this.prefix}:wirecable`;
    const store = new RedisStore({
      commander: ioredis
        .then(() => this.#firstReady)
        .then(() => {
          if (this.#pub === undefined) throw new Error("broker is closed");
          return this.#pub;
        }),
      key: (stream, suffix) => `${storePrefix}:{${stream}}:${suffix}`,
      channel: (stream) => this.#channel(stream),
      listen: (channel, onMessage) => this.#listen(channel, onMessage),
      history: options.history,
      presence: options.presence,
      onError: (err) => this.emit("error", err),
    });
    this.history = store.history;
    this.presence = store.presence;
    this.dedup = store.dedup;
    this.#firstReady = ioredis.then((mod) => {
      if (this.closed) return;
      this.#connect(mod.Redis, options);
      const pub = this.#pub as Redis;
      const sub = this.#sub as Redis;
      return Promise.race([
        Promise.all([waitReady(pub), waitReady(sub)]).then(() => {}),
        new Promise<void>((resolve) => setTimeout(resolve, timeout).unref()),
      ]);
    });
    // A load failure reaches the caller through publish/subscribe and the `error` event.
    this.#firstReady.catch((error: unknown) => this.emit("error", error as Error));
  }

  #connect(RedisClient: typeof Redis, options: RedisBrokerOptions): void {
    const common: RedisOptions = {
      // Reconnect forever, backing off to at most 1 s: a broker outlives Redis restarts.
      retryStrategy: (times) => Math.min(50 * times, 1000),
      // Never queue while disconnected: a queued broadcast would arrive late and out of context;
      // it fails at once and is counted as lost instead.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      ...(options.redis as RedisOptions | undefined),
      autoResubscribe: false, // we resubscribe ourselves, every stream, and report it
      lazyConnect: false,
    };
    const url = options.url ?? "redis://127.0.0.1:6379";
    const pub = new RedisClient(url, common);
    const sub = new RedisClient(url, common);
    this.#pub = pub;
    this.#sub = sub;
    for (const conn of [pub, sub]) conn.on("error", (err) => this.emit("error", err));
    sub.on("message", (channel: string, message: string) => this.#onMessage(channel, message));
    sub.on("ready", () => this.#onSubReady(sub));
    sub.on("close", () => {
      if (this.#subWasReady && this.#downSince === 0 && !this.closed) {
        this.#downSince = Date.now();
        this.emit("disconnected");
      }
    });
  }

  #channel(stream: string): string {
    return this.prefix === "" ? stream : `${this.prefix}:${stream}`;
  }

  #stream(channel: string): string {
    return this.prefix === "" ? channel : channel.slice(this.prefix.length + 1);
  }

  #onMessage(channel: string, message: string): void {
    const listener = this.#listened.get(channel);
    if (listener !== undefined) {
      listener(message);
      return;
    }
    const got = received(message, this.localDelivery ? this.processId : undefined);
    if (got !== undefined) this.dispatch(this.#stream(channel), got.payload, got.position);
  }

  async #onSubReady(sub: Redis): Promise<void> {
    const reconnect = this.#subWasReady;
    this.#subWasReady = true;
    // Every stream wanted so far, also on the first connection: streams added while Redis was
    // unreachable at startup are subscribed here. SUBSCRIBE is idempotent, so a concurrent
    // subscribe() of the same stream does no harm.
    const channels = [...[...this.handlers.keys()].map((s) => this.#channel(s)), ...this.#listened.keys()];
    try {
      if (channels.length > 0) await sub.subscribe(...channels);
    } catch (err) {
      this.emit("error", err as Error);
      return;
    }
    if (!reconnect) return;
    this.reconnects++;
    const downtimeMs = this.#downSince === 0 ? 0 : Date.now() - this.#downSince;
    this.#downSince = 0;
    this.emit("reconnected", { streams: channels.length, downtimeMs });
  }

  async publish(stream: string, payload: string): Promise<void> {
    this.assertOpen();
    if (this.history?.keeps(stream)) {
      // Stored and published by one script: every subscriber, ours too, gets it from Redis in
      // offset order (no local shortcut, which could overtake an earlier offset).
      try {
        await this.history.append(stream, payload);
      } catch (err) {
        this.recordLost(stream, payload, (err as Error).message);
        throw err;
      }
      return;
    }
    if (this.localDelivery) this.dispatch(stream, payload);
    if (this.#pub?.status !== "ready") await this.#firstReady;
    const pub = this.#pub;
    // Bare (Rails-style) unless local delivery needs our id.
    const message = wrap(this.localDelivery ? this.processId : undefined, payload);
    try {
      if (pub === undefined) throw new Error("broker is closed");
      await pub.publish(this.#channel(stream), message);
    } catch (err) {
      this.recordLost(stream, payload, (err as Error).message);
      throw err;
    }
  }

  async subscribe(stream: string, handler: BrokerHandler): Promise<Unsubscribe> {
    this.assertOpen();
    const own: BrokerHandler = (payload, position) => handler(payload, position);
    if (this.addHandler(stream, own)) {
      if (this.#sub?.status !== "ready") await this.#firstReady;
      const sub = this.#sub;
      // When down, the next `ready` resubscribes every stream, this one included.
      if (sub?.status === "ready") {
        try {
          await sub.subscribe(this.#channel(stream));
        } catch (err) {
          this.emit("error", err as Error);
        }
      }
    }
    return async () => {
      const sub = this.#sub;
      if (this.removeHandler(stream, own) && sub?.status === "ready" && !this.closed) {
        try {
          await sub.unsubscribe(this.#channel(stream));
        } catch (err) {
          this.emit("error", err as Error);
        }
      }
    };
  }

  /** A raw channel on the subscriber connection (the store's presence events). */
  async #listen(channel: string, onMessage: (message: string) => void): Promise<() => Promise<void>> {
    this.assertOpen();
    this.#listened.set(channel, onMessage);
    if (this.#sub?.status !== "ready") await this.#firstReady;
    const sub = this.#sub;
    if (sub?.status === "ready") await sub.subscribe(channel).catch((err: Error) => this.emit("error", err));
    return async () => {
      if (this.#listened.get(channel) !== onMessage) return;
      this.#listened.delete(channel);
      if (this.#sub?.status === "ready" && !this.closed) {
        await this.#sub.unsubscribe(channel).catch((err: Error) => this.emit("error", err));
      }
    };
  }

  /** Streams this process listens to (for diagnostics and tests). */
  get streams(): string[] {
    return [...this.handlers.keys()];
  }

  /** Leaves this process's presence sessions, then releases both connections. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.presence.close();
    this.closed = true;
    this.handlers.clear();
    this.#listened.clear();
    const conns = [this.#pub, this.#sub].filter((c) => c !== undefined);
    await Promise.all(conns.map(quit));
  }

  /**
   * Drop both connections at once, leaving nothing and refreshing nothing: what a killed
   * process does (fault tests; its presence sessions then expire after `presence.timeout`).
   */
  async abandon(): Promise<void> {
    this.closed = true;
    this.presence.abandon();
    this.handlers.clear();
    this.#listened.clear();
    for (const conn of [this.#pub, this.#sub]) conn?.disconnect();
  }
}

function waitReady(conn: Redis): Promise<void> {
  if (conn.status === "ready") return Promise.resolve();
  return new Promise((resolve) => conn.once("ready", () => resolve()));
}

async function quit(conn: Redis): Promise<void> {
  try {
    if (conn.status === "ready") await conn.quit();
    else conn.disconnect();
  } catch {
    conn.disconnect();
  }
}
