/**
 * One broker from one URL (the CLI's `--broker`, a deployment's environment variable):
 *
 * | URL | broker |
 * |---|---|
 * | `memory` (or nothing) | MemoryBroker: one process |
 * | `redis://…`, `rediss://…` | RedisBroker (pub/sub on one Redis) |
 * | `redis+cluster://host:port[,host:port…]`, `rediss+cluster://…` | RedisClusterBroker (sharded pub/sub) |
 * | `nats://host:port[,host:port…]`, `tls://…` | NatsBroker (core NATS) |
 * | `postgres://…`, `postgresql://…` | PostgresBroker (LISTEN/NOTIFY) |
 *
 * `brokerKind(url)` names the kind without connecting (a TypeError naming the accepted schemes
 * otherwise); `createBroker(url, options)` constructs it (which starts connecting, and throws
 * MissingPeerError when the broker's client package is not installed). `history` and `presence`
 * go to every broker (NATS keeps them on JetStream).
 */
import { type Broker, checkTimeout } from "./broker.js";
import { MemoryBroker } from "./memory.js";
import { NatsBroker } from "./nats.js";
import { PostgresBroker } from "./postgres.js";
import { RedisBroker } from "./redis.js";
import { RedisClusterBroker } from "./redis-cluster.js";
import type { HistoryOptions } from "./stream-history.js";
import type { PresenceOptions } from "./stream-presence.js";

export type BrokerKind = "memory" | "redis" | "redis-cluster" | "nats" | "postgres";

const SCHEMES: Record<string, BrokerKind> = {
  "memory:": "memory",
  "redis:": "redis",
  "rediss:": "redis",
  "redis+cluster:": "redis-cluster",
  "rediss+cluster:": "redis-cluster",
  "nats:": "nats",
  "tls:": "nats",
  "postgres:": "postgres",
  "postgresql:": "postgres",
};

export const BROKER_URL_HELP =
  "memory, redis://host:port/db, redis+cluster://host:port[,host:port…], nats://host:port[,host:port…] or postgres://user@host/db";

/** The kind of broker `url` asks for (`undefined`, "" and "memory" mean in memory). */
export function brokerKind(url: string | undefined): BrokerKind {
  if (url === undefined || url === "" || url === "memory") return "memory";
  const scheme = /^([a-z][a-z0-9+.-]*:)\/\//i.exec(url)?.[1]?.toLowerCase();
  const kind = scheme === undefined ? undefined : SCHEMES[scheme];
  if (kind === undefined) throw new TypeError(`expected a broker URL (${BROKER_URL_HELP}), got "${url}"`);
  return kind;
}

export interface BrokerFromUrlOptions {
  /** Channel/subject prefix shared by the processes of one application. */
  prefix?: string;
  /**
   * How long the first publish/subscribe waits for the broker (ms, 0 to 2^31 - 1; the brokers'
   * default 5000). PostgreSQL: each connection attempt's timeout (pg's `connectionTimeoutMillis`;
   * default 5000; 0: no timeout). The in-memory broker has nothing to wait for.
   */
  connectTimeout?: number;
  /** Keep stream history (resumable streams). */
  history?: HistoryOptions;
  /** Presence timing and limits. */
  presence?: PresenceOptions;
}

/** The broker for `url` (see the module comment). */
export function createBroker(url: string | undefined, options: BrokerFromUrlOptions = {}): Broker {
  const { prefix, connectTimeout, history, presence } = options;
  const kind = brokerKind(url);
  checkTimeout("createBroker", "connectTimeout", connectTimeout, 0);
  switch (kind) {
    case "memory":
      return new MemoryBroker({ history, presence });
    case "redis":
      return new RedisBroker({ url, prefix, connectTimeout, history, presence });
    case "redis-cluster":
      return new RedisClusterBroker({ url, prefix, connectTimeout, history, presence });
    case "nats":
      return new NatsBroker({ url, prefix, connectTimeout, history, presence });
    case "postgres":
      return new PostgresBroker({
        url,
        prefix,
        history,
        presence,
        ...(connectTimeout === undefined ? {} : { client: { connectionTimeoutMillis: connectTimeout } }),
      });
  }
}
