/**
 * Redis Cluster broker (ioredis' Cluster with sharded pub/sub, Redis 7): a broadcast goes only
 * to the shard that owns its stream (SPUBLISH), not to every node as cluster-wide PUBLISH does,
 * so pub/sub capacity grows with the number of primaries.
 *
 * Design:
 * - One ioredis Cluster: commands (SPUBLISH) go through its per-node pool; with
 *   `shardedSubscribers` it keeps one subscriber connection per primary that owns subscribed
 *   streams and SSUBSCRIBEs each stream there. One SSUBSCRIBE per stream and process.
 * - Names `{prefix:stream}` (the whole name is the hash tag): a stream's channel and every key
 *   kept for it (history, presence: `{prefix:stream}:suffix`, see `keyFor`) hash to one slot, so
 *   they live on one shard and a command or script touching them never spans slots.
 *   A stream's traffic is served by one shard: sharding spreads streams, not one hot stream.
 * - Envelope and `localDelivery` as in RedisBroker (`\0<processId>\0<payload>`, our own echo
 *   dropped). Bare payloads are delivered as they are.
 * - History, presence and dedup: RedisStore (redis-store.ts) on the Cluster, with the keys above
 *   and SPUBLISH; its scripts touch one stream's keys (one slot) and publish on that stream's
 *   channel. Streams keeping history are published by the script only (no local shortcut), so
 *   every process receives them in offset order. Dedup keys are `{prefix:dedup:id}`: spread over
 *   the shards.
 * - Faults: a primary that dies or fails over, or a slot that moves (Redis sends SUNSUBSCRIBE, or
 *   answers MOVED), makes ioredis refresh the slot map and SSUBSCRIBE the streams again on their
 *   new owner. This broker emits `disconnected` when a subscriber connection drops and
 *   `reconnected` ({ streams, downtimeMs }) once every subscriber is back and has confirmed its
 *   SSUBSCRIBEs (a PING answered after them). Messages published on the affected shard between
 *   the two are lost for this process and cannot be counted here (pub/sub keeps no backlog); a
 *   publish that cannot reach its shard (after ioredis' retries, about 2 s during a failover)
 *   rejects and is counted (`lost`).
 */
import { randomUUID } from "node:crypto";
import type { Cluster, ClusterOptions } from "ioredis";
import { BaseBroker, type Broker, type BrokerHandler, checkTimeout, type Unsubscribe } from "./broker.js";
import { received, wrap } from "./envelope.js";
import { loadPeer } from "./optional-peer.js";
import type { RedisClientOptions } from "./redis.js";
import { type RedisDedup, type RedisHistory, type RedisPresence, RedisStore } from "./redis-store.js";
import type { HistoryOptions } from "./stream-history.js";
import type { PresenceOptions } from "./stream-presence.js";

/**
 * ioredis Cluster options (ioredis' `ClusterOptions`), typed structurally so that wirecable's
 * types never require ioredis; `redisOptions` apply to every node connection.
 */
export interface RedisClusterClientOptions {
  redisOptions?: RedisClientOptions;
  scaleReads?: string;
  slotsRefreshTimeout?: number;
  clusterRetryStrategy?: (times: number) => number | null | undefined;
  [option: string]: unknown;
}

export interface RedisClusterBrokerOptions {
  /**
   * Seed nodes as a URL: `redis+cluster://[user:password@]host:port[,host:port…]`
   * (`rediss+cluster://` for TLS). Any reachable node is enough; the others are discovered.
   */
  url?: string;
  /** Or the seed nodes themselves (default 127.0.0.1:6379 when neither is given). */
  nodes?: Array<{ host: string; port: number }>;
  /** Extra ioredis Cluster options. */
  cluster?: RedisClusterClientOptions;
  /** Name prefix: names are `{prefix:stream}` (`{stream}` when empty). */
  prefix?: string;
  /** Deliver locally before publishing and drop our own echo (default true), as RedisBroker. */
  localDelivery?: boolean;
  processId?: string;
  /**
   * How long publish/subscribe wait for the first connection before giving up (ms, 0 to 2^31 - 1;
   * default 5000; 0: they do not wait).
   */
  connectTimeout?: number;
  /** Keep stream history in Redis Streams on each stream's shard. Default: none. */
  history?: HistoryOptions;
  /** Presence timing and limits (heartbeats, expiry of a dead process's members). */
  presence?: PresenceOptions;
}

/** Seeds and connection options from a `redis+cluster://` or `rediss+cluster://` URL. */
export function parseClusterUrl(url: string): {
  nodes: Array<{ host: string; port: number }>;
  redis: RedisClientOptions;
} {
  const m = /^(rediss?)\+cluster:\/\/(?:([^@/]*)@)?([^/?#]+)\/?(?:[?#].*)?$/.exec(url);
  if (m === null) throw new TypeError(`expected redis+cluster://host:port[,host:port…], got "${url}"`);
  const [, scheme, auth, hosts] = m as unknown as [string, string, string | undefined, string];
  const nodes = hosts.split(",").map((h) => {
    const hm = /^(\[[^\]]+\]|[^:]+)(?::(\d{1,5}))?$/.exec(h.trim());
    const port = Number(hm?.[2] ?? 6379);
    if (hm === null || port < 1 || port > 65535) throw new TypeError(`bad node "${h}" in "${url}"`);
    return { host: hm[1]!.replace(/^\[|\]$/g, ""), port };
  });
  const redis: RedisClientOptions = {};
  if (auth !== undefined && auth !== "") {
    const colon = auth.indexOf(":");
    if (colon < 0) redis.username = decodeURIComponent(auth);
    else {
      if (colon > 0) redis.username = decodeURIComponent(auth.slice(0, colon));
      redis.password = decodeURIComponent(auth.slice(colon + 1));
    }
  }
  if (scheme === "rediss") redis.tls = {};
  return { nodes, redis };
}

/** What ioredis keeps privately about its sharded subscribers (read to confirm resubscription). */
interface ShardedSubscriberView {
  isHealthy(): boolean;
  isStarted(): boolean;
  getInstance(): { status: string; ping(): Promise<unknown> } | null;
}

/**
 * A Broker over Redis Cluster sharded pub/sub. Needs the optional peer dependency `ioredis`
 * (`npm install ioredis`): the constructor throws MissingPeerError without it.
 */
export class RedisClusterBroker extends BaseBroker implements Broker {
  readonly processId: string;
  readonly prefix: string;
  readonly localDelivery: boolean;
  /** The cluster client, once ioredis has loaded (the constructor starts loading it). */
  #cluster: Cluster | undefined;
  /** Resolves once the cluster is ready, or after `connectTimeout`; rejects if ioredis failed to load. */
  readonly #firstReady: Promise<void>;
  #downSince = 0;
  #checking = false;
  /** Channels whose SSUBSCRIBE failed before ioredis took them in charge (cluster not ready). */
  readonly #pending = new Set<string>();
  /** Times every subscription was confirmed again after a subscriber connection dropped. */
  reconnects = 0;
  readonly history: RedisHistory | undefined;
  readonly presence: RedisPresence;
  readonly dedup: RedisDedup;
  /** Channels listened to for the store (presence events), besides the streams. */
  readonly #listened = new Map<string, (message: string) => void>();

  constructor(options: RedisClusterBrokerOptions = {}) {
    super();
    checkTimeout("RedisClusterBroker", "connectTimeout", options.connectTimeout, 0);
    const ioredis = loadPeer<typeof import("ioredis")>("ioredis", "RedisClusterBroker");
    this.processId = options.processId ?? randomUUID();
    this.prefix = options.prefix ?? "";
    this.localDelivery = options.localDelivery ?? true;
    const timeout = options.connectTimeout ?? 5000;
    const store = new RedisStore({
      commander: ioredis
        .then(() => this.#firstReady)
        .then(() => {
          if (this.#cluster === undefined) throw new Error("broker is closed");
          return this.#cluster;
        }),
      key: (stream, suffix) => this.keyFor(stream, suffix),
      channel: (stream) => this.nameOf(stream),
      listen: (channel, onMessage) => this.#listen(channel, onMessage),
      publishCommand: "SPUBLISH",
      dedupKey: (id) => (this.prefix === "" ? `{dedup:${id}}` : `{${this.prefix}:dedup:${id}}`),
      history: options.history,
      presence: options.presence,
      onError: (err) => this.emit("error", err),
    });
    this.history = store.history;
    this.presence = store.presence;
    this.dedup = store.dedup;
    this.#firstReady = ioredis.then((mod) => {
      if (this.closed) return;
      const cluster = this.#connect(mod.Cluster, options);
      return Promise.race([
        new Promise<void>((resolve) => {
          if (cluster.status === "ready") resolve();
          else cluster.once("ready", () => resolve());
        }),
        new Promise<void>((resolve) => setTimeout(resolve, timeout).unref()),
      ]);
    });
    // A load failure reaches the caller through publish/subscribe and the `error` event.
    this.#firstReady.catch((error: unknown) => this.emit("error", error as Error));
  }

  #connect(ClusterClient: typeof Cluster, options: RedisClusterBrokerOptions): Cluster {
    const fromUrl = options.url === undefined ? undefined : parseClusterUrl(options.url);
    const nodes = options.nodes ?? fromUrl?.nodes ?? [{ host: "127.0.0.1", port: 6379 }];
    const cluster = new ClusterClient(nodes, {
      shardedSubscribers: true,
      // Commands wait for a node connection that is being opened, in order (without this queue
      // ioredis retries them after 100 ms, after later ones). A publish while the cluster itself is
      // down is refused by publish() before it reaches ioredis: never queued, counted as lost.
      enableOfflineQueue: true,
      // Reconnect forever, backing off to at most 1 s.
      clusterRetryStrategy: (times: number) => Math.min(50 * times, 1000),
      ...(options.cluster as ClusterOptions | undefined),
      redisOptions: {
        ...fromUrl?.redis,
        maxRetriesPerRequest: 0,
        ...options.cluster?.redisOptions,
      },
      lazyConnect: false,
    });
    this.#cluster = cluster;
    cluster.on("error", (err: Error) => this.emit("error", err));
    cluster.on("smessage", (channel: string, message: string) => this.#onMessage(channel, message));
    // A sharded subscriber's connection ended: ioredis emits -node with its node key.
    cluster.on("-node", (_redis: unknown, nodeKey?: string) => {
      if (nodeKey !== undefined && !this.closed && this.#wants() && this.#downSince === 0) {
        this.#downSince = Date.now();
        this.emit("disconnected");
      }
    });
    cluster.on("subscribersReady", () => void this.#confirmResubscribed(cluster));
    cluster.on("ready", () => {
      for (const channel of this.#pending) void this.#ssubscribe(cluster, channel);
    });
    return cluster;
  }

  /** Whether any stream or listened channel is subscribed. */
  #wants(): boolean {
    return this.handlers.size > 0 || this.#listened.size > 0;
  }

  /** `{prefix:stream}`: the channel, and the hash tag of every key kept for the stream. */
  nameOf(stream: string): string {
    return this.prefix === "" ? `{${stream}}` : `{${this.prefix}:${stream}}`;
  }

  /** A key kept for `stream` (history, presence): on the stream's shard. */
  keyFor(stream: string, suffix: string): string {
    return `${this.nameOf(stream)}:${suffix}`;
  }

  #streamOf(channel: string): string {
    return channel.slice(this.prefix === "" ? 1 : this.prefix.length + 2, -1);
  }

  #onMessage(channel: string, message: string): void {
    const listener = this.#listened.get(channel);
    if (listener !== undefined) {
      listener(message);
      return;
    }
    const got = received(message, this.localDelivery ? this.processId : undefined);
    if (got !== undefined) this.dispatch(this.#streamOf(channel), got.payload, got.position);
  }

  /**
   * After ioredis has re-issued its SSUBSCRIBEs: when every subscriber it needs is healthy, a
   * PING on each (answered after the SSUBSCRIBEs sent before it) confirms they are live.
   */
  async #confirmResubscribed(cluster: Cluster): Promise<void> {
    if (this.#downSince === 0 || this.#checking || this.closed) return;
    this.#checking = true;
    try {
      const group = (cluster as unknown as { shardedSubscribers?: { shardedSubscribers?: unknown } }).shardedSubscribers
        ?.shardedSubscribers;
      if (group instanceof Map) {
        const subs = [...group.values()] as ShardedSubscriberView[];
        // ioredis retries: another subscribersReady follows.
        if (subs.some((s) => !s.isHealthy()) || this.#pending.size > 0) return;
        await Promise.all(
          subs.filter((s) => s.isStarted() && s.getInstance()?.status === "ready").map((s) => s.getInstance()?.ping()),
        );
      }
      if (this.closed || this.#downSince === 0) return;
      const downtimeMs = Date.now() - this.#downSince;
      this.#downSince = 0;
      this.reconnects++;
      this.emit("reconnected", { streams: this.handlers.size, downtimeMs });
    } catch (err) {
      this.emit("error", err as Error);
    } finally {
      this.#checking = false;
    }
  }

  async publish(stream: string, payload: string): Promise<void> {
    this.assertOpen();
    const stored = this.history?.keeps(stream) === true;
    // Stored and published by one script on the stream's shard: every subscriber, ours too, gets
    // a history stream from Redis in offset order (no local shortcut).
    if (this.localDelivery && !stored) this.dispatch(stream, payload);
    if (this.#cluster?.status !== "ready") await this.#firstReady;
    const cluster = this.#cluster;
    try {
      if (cluster === undefined) throw new Error("broker is closed");
      if (cluster.status !== "ready") throw new Error(`Redis Cluster is not connected (${cluster.status})`);
      if (stored) await this.history!.append(stream, payload);
      else await cluster.spublish(this.nameOf(stream), wrap(this.localDelivery ? this.processId : undefined, payload));
    } catch (err) {
      this.recordLost(stream, payload, (err as Error).message);
      throw err;
    }
  }

  async subscribe(stream: string, handler: BrokerHandler): Promise<Unsubscribe> {
    this.assertOpen();
    const own: BrokerHandler = (payload, position) => handler(payload, position);
    if (this.addHandler(stream, own)) {
      if (this.#cluster?.status !== "ready") await this.#firstReady;
      if (this.#cluster !== undefined && !this.closed) await this.#ssubscribe(this.#cluster, this.nameOf(stream));
    }
    return async () => {
      const cluster = this.#cluster;
      if (this.removeHandler(stream, own) && !this.closed && cluster !== undefined) {
        this.#pending.delete(this.nameOf(stream));
        try {
          await cluster.sunsubscribe(this.nameOf(stream));
        } catch (err) {
          this.emit("error", err as Error);
        }
      }
    };
  }

  /** SSUBSCRIBE of a stream's channel or a listened one (presence events). */
  async #ssubscribe(cluster: Cluster, channel: string): Promise<void> {
    if (cluster.status !== "ready") {
      this.#pending.add(channel); // not queued in ioredis: subscribed at the next `ready`
      return;
    }
    try {
      await cluster.ssubscribe(channel);
      this.#pending.delete(channel);
    } catch (err) {
      // Once routed, ioredis keeps the channel in its list and subscribes it again when the
      // shard is back; a channel refused before that (cluster not ready) is retried at `ready`.
      if (cluster.status !== "ready") this.#pending.add(channel);
      this.emit("error", err as Error);
    }
  }

  /** A raw channel (the store's presence events), on the shard its name hashes to. */
  async #listen(channel: string, onMessage: (message: string) => void): Promise<() => Promise<void>> {
    this.assertOpen();
    this.#listened.set(channel, onMessage);
    if (this.#cluster?.status !== "ready") await this.#firstReady;
    if (this.#cluster !== undefined && !this.closed) await this.#ssubscribe(this.#cluster, channel);
    return async () => {
      if (this.#listened.get(channel) !== onMessage) return;
      this.#listened.delete(channel);
      this.#pending.delete(channel);
      if (this.#cluster !== undefined && !this.closed) {
        await this.#cluster.sunsubscribe(channel).catch((err: Error) => this.emit("error", err));
      }
    };
  }

  get streams(): string[] {
    return [...this.handlers.keys()];
  }

  /** Leaves this process's presence sessions, then releases the cluster connections. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.presence.close();
    this.closed = true;
    this.handlers.clear();
    this.#listened.clear();
    const cluster = this.#cluster;
    this.#cluster = undefined;
    if (cluster === undefined) return;
    try {
      if (cluster.status === "ready") await cluster.quit();
      else cluster.disconnect();
    } catch {
      cluster.disconnect();
    }
  }

  /**
   * Drop every connection at once, leaving nothing and refreshing nothing: what a killed process
   * does (fault tests; its presence sessions then expire after `presence.timeout`).
   */
  async abandon(): Promise<void> {
    this.closed = true;
    this.presence.abandon();
    this.handlers.clear();
    this.#listened.clear();
    this.#cluster?.disconnect();
  }
}
