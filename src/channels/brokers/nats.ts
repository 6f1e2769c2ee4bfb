/**
 * NATS broker (core NATS subjects; the optional peer `@nats-io/transport-node`, loaded when the
 * first broker connects). Several processes sharing one NATS server or cluster and one `prefix`
 * form a cluster, as with RedisBroker.
 *
 * Design:
 * - One connection per broker. One NATS subscription per stream and process, however many local
 *   handlers. Subject `${prefix}.${token}`: the stream name is one subject token (see
 *   `subjectToken`: letters, digits, `_`, `-`, `:` and `=` kept, every other byte `~HH`, longer
 *   than 200 characters hashed), so names match exactly: no wildcard or hierarchy from user data.
 * - `localDelivery: true` (default): publish delivers here at once and the connection is opened
 *   with NATS' `noEcho`, so the server never sends our own messages back: payloads travel bare.
 *   `localDelivery: false`: every process, this one included, receives from NATS.
 * - `publish` resolves once the server has the message (a PING answered after it): it rejects,
 *   counted in `lostCount` and reported as `lost`, while the connection is down (never queued) or
 *   when the connection drops before the server answered (then it may still have been delivered).
 * - Outages: reconnects forever (`reconnectTimeWait`, default 250 ms, plus jitter), to any server
 *   of the URL's list or learned from the NATS cluster; the client subscribes every subject again
 *   and `reconnected` ({ streams, downtimeMs }) is emitted once the server confirmed them.
 *   Core NATS keeps no backlog: what others published while this connection was down is lost
 *   for this process (between `disconnected` and `reconnected`).
 * - JetStream capabilities (need `@nats-io/jetstream` and a server with JetStream on; each
 *   creates its JetStream streams on first use, so a broker that uses none needs no JetStream):
 *   - `history`: streams that keep history are appended to a JetStream stream (nats-history.ts)
 *     and delivered from what it stored, republished in its order with the position in the
 *     headers (subscribers listen on `${prefix}.hr.<token>`), to this process's handlers too: no
 *     local shortcut.
 *   - `presence` (nats-presence.ts) and `dedup` (nats-dedup.ts): offered unless `jetstream: false`.
 * - `jetstream: false`: core NATS only (no `@nats-io/jetstream` needed); `history` is then refused.
 */
import { createHash } from "node:crypto";
import type { NatsConnection, NodeConnectionOptions, Subscription } from "@nats-io/transport-node";
import { BaseBroker, type Broker, type BrokerHandler, checkTimeout, type Unsubscribe } from "./broker.js";
import type { Deduplicator } from "./dedup.js";
import { NatsDedup } from "./nats-dedup.js";
import { EPOCH_HEADER, NatsHistory, OFFSET_HEADER } from "./nats-history.js";
import type { NatsJetStreamDeps } from "./nats-jetstream.js";
import { NatsPresence } from "./nats-presence.js";
import { OffsetOrder } from "./offset-order.js";
import { loadPeer } from "./optional-peer.js";
import type { HistoryOptions, StreamHistory } from "./stream-history.js";
import type { PresenceOptions, StreamPresence } from "./stream-presence.js";

/**
 * `@nats-io/transport-node` connection options (its `NodeConnectionOptions`), typed structurally
 * so that wirecable's types never require the NATS client.
 */
export interface NatsClientOptions {
  servers?: string | string[];
  user?: string;
  pass?: string;
  token?: string;
  tls?: object | null;
  name?: string;
  reconnectTimeWait?: number;
  maxReconnectAttempts?: number;
  pingInterval?: number;
  [option: string]: unknown;
}

export interface NatsBrokerOptions {
  /**
   * `nats://[user:password@]host:port[,host:port…]` (`tls://` for TLS; `nats://token@host` for a
   * token); default `nats://127.0.0.1:4222`.
   */
  url?: string;
  /** Extra `@nats-io/transport-node` connection options. */
  connection?: NatsClientOptions;
  /** Subject prefix: subjects are `${prefix}.${token}` (default "wirecable"). */
  prefix?: string;
  /** Deliver locally before publishing and have the server drop our own echo (default true). */
  localDelivery?: boolean;
  /**
   * How long publish/subscribe wait for the first connection before giving up (ms, 0 to 2^31 - 1;
   * default 5000; 0: they do not wait).
   */
  connectTimeout?: number;
  /**
   * How long a JetStream request of history, presence or dedup waits for the server's answer
   * before it fails with a timeout (ms, 1 to 2^31 - 1; default `@nats-io/jetstream`'s, 5000).
   * Raise it for a server that answers slowly under load. A read is first a direct get, which
   * waits at most 2000 ms (or this timeout if smaller); unanswered, the same read goes through
   * the stream's message API with this whole timeout, and that stream's reads take the API from
   * then on (nats-server 2.9 drops a direct get no stream takes, with no answer at all).
   */
  requestTimeout?: number;
  /** Keep stream history on JetStream (needs `@nats-io/jetstream`). Default: none. */
  history?: HistoryOptions;
  /** Presence timing and limits (presence is kept on JetStream). */
  presence?: PresenceOptions;
  /**
   * Offer the JetStream capabilities: presence, dedup and (with `history`) history. They need
   * `@nats-io/jetstream` and a server with JetStream on. `false`: core NATS only. Default true.
   */
  jetstream?: boolean;
}

const KEEP = /^[A-Za-z0-9_:=-]$/;
const MAX_TOKEN = 200;

/**
 * The stream as one NATS subject token, injectively: kept characters as they are, every other
 * UTF-8 byte as `~HH`; the empty stream is `~`; a token over 200 characters is `~~` + SHA-256.
 */
export function subjectToken(stream: string): string {
  if (stream === "") return "~";
  let token = "";
  for (const ch of stream) {
    if (KEEP.test(ch)) token += ch;
    else for (const b of Buffer.from(ch)) token += `~${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return token.length > MAX_TOKEN ? `~~${createHash("sha256").update(stream).digest("hex")}` : token;
}

/** Servers and credentials from a `nats://` or `tls://` URL (several hosts: comma-separated). */
export function parseNatsUrl(url: string): NatsClientOptions {
  const m = /^(nats|tls):\/\/(?:([^@/]*)@)?([^/?#]+)\/?(?:[?#].*)?$/.exec(url);
  if (m === null) throw new TypeError(`expected nats://host:port[,host:port…], got "${url}"`);
  const [, scheme, auth, hosts] = m as unknown as [string, string, string | undefined, string];
  const options: NatsClientOptions = { servers: hosts.split(",").map((h) => h.trim()) };
  if (auth !== undefined && auth !== "") {
    const colon = auth.indexOf(":");
    if (colon < 0) options.token = decodeURIComponent(auth);
    else {
      options.user = decodeURIComponent(auth.slice(0, colon));
      options.pass = decodeURIComponent(auth.slice(colon + 1));
    }
  }
  if (scheme === "tls") options.tls = {};
  return options;
}

type NatsModule = typeof import("@nats-io/transport-node");

/**
 * A Broker over core NATS, with history, presence and dedup on JetStream. Needs the optional peer
 * dependencies `@nats-io/transport-node` and (unless `jetstream: false`) `@nats-io/jetstream`:
 * the constructor throws MissingPeerError naming the one that is missing.
 */
export class NatsBroker extends BaseBroker implements Broker {
  readonly prefix: string;
  readonly localDelivery: boolean;
  readonly #options: NodeConnectionOptions;
  readonly #subs = new Map<string, Subscription>();
  /** History streams' deliveries, put back in offset order (JetStream may republish out of it). */
  readonly #orders = new Map<string, OffsetOrder>();
  readonly #firstReady: Promise<void>;
  readonly #encoder = new TextEncoder();
  #nc: NatsConnection | undefined;
  /** Stream history on JetStream (with `history` options). */
  readonly history: StreamHistory | undefined;
  /** Presence on JetStream (undefined with `jetstream: false`). */
  readonly presence: StreamPresence | undefined;
  /** Command deduplication on JetStream (undefined with `jetstream: false`). */
  readonly dedup: Deduplicator | undefined;
  readonly #history: NatsHistory | undefined;
  readonly #presence: NatsPresence | undefined;
  #connected = false;
  #downSince = 0;
  /** Times the connection came back and the server confirmed every subscription. */
  reconnects = 0;

  constructor(options: NatsBrokerOptions = {}) {
    super();
    const requestTimeout = options.requestTimeout;
    // nats.js refuses a request timeout under 1 ms
    checkTimeout("NatsBroker", "requestTimeout", requestTimeout, 1);
    checkTimeout("NatsBroker", "connectTimeout", options.connectTimeout, 0);
    this.prefix = options.prefix ?? "wirecable";
    this.localDelivery = options.localDelivery ?? true;
    const nats = loadPeer<NatsModule>("@nats-io/transport-node", "NatsBroker");
    this.#options = {
      ...parseNatsUrl(options.url ?? "nats://127.0.0.1:4222"),
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      reconnectJitter: 100,
      ...options.connection,
      noEcho: this.localDelivery,
    } as NodeConnectionOptions;
    if (options.jetstream === false) {
      if (options.history !== undefined) throw new TypeError("NatsBroker: history needs JetStream (jetstream: false)");
      this.#history = this.history = undefined;
      this.#presence = this.presence = undefined;
      this.dedup = undefined;
    } else {
      const deps: NatsJetStreamDeps = {
        prefix: this.prefix,
        token: subjectToken,
        connection: () => this.#connection(),
        nats,
        jetstream: loadPeer<typeof import("@nats-io/jetstream")>(
          "@nats-io/jetstream",
          "NatsBroker's history, presence and dedup (or `jetstream: false`)",
        ),
        requestTimeout,
      };
      this.#history = this.history =
        options.history === undefined ? undefined : new NatsHistory({ ...deps, history: options.history });
      this.#presence = this.presence = new NatsPresence({
        ...deps,
        presence: options.presence,
        onError: (err) => this.emit("error", err),
      });
      this.dedup = new NatsDedup(deps);
    }
    const timeout = options.connectTimeout ?? 5000;
    const connected = nats.then((mod) => this.#connect(mod));
    connected.catch((err: unknown) => this.emit("error", err as Error));
    this.#firstReady = Promise.race([
      connected.then(
        () => {},
        () => {},
      ),
      new Promise<void>((resolve) => setTimeout(resolve, timeout).unref()),
    ]);
  }

  /** The first connection: retried (capped backoff) until it succeeds or the broker is closed. */
  async #connect({ connect }: NatsModule): Promise<void> {
    let nc: NatsConnection | undefined;
    for (let attempt = 1; nc === undefined; attempt++) {
      if (this.closed) return;
      try {
        nc = await connect(this.#options);
      } catch (err) {
        if (attempt === 1) this.emit("error", err as Error);
        await new Promise((r) => setTimeout(r, Math.min(50 * attempt, 1000)));
      }
    }
    if (this.closed) {
      await nc.close();
      return;
    }
    this.#nc = nc;
    this.#connected = true;
    void this.#watch(nc);
    // Streams added before the first connection.
    for (const stream of this.handlers.keys()) this.#subscribeSubject(nc, stream);
    if (this.handlers.size > 0) await nc.flush().catch(() => {});
  }

  async #watch(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (this.closed) return;
      if (status.type === "disconnect") {
        this.#connected = false;
        if (this.#downSince === 0) {
          this.#downSince = Date.now();
          this.emit("disconnected");
        }
      } else if (status.type === "reconnect") {
        this.#connected = true;
        // The client sent every SUB again before anything else; the PONG confirms them.
        try {
          await nc.flush();
        } catch {
          continue; // dropped again: the next reconnect confirms
        }
        if (this.#downSince !== 0 && this.#connected) {
          const downtimeMs = Date.now() - this.#downSince;
          this.#downSince = 0;
          this.reconnects++;
          this.emit("reconnected", { streams: this.handlers.size, downtimeMs });
        }
      } else if (status.type === "error") {
        this.emit("error", status.error);
      }
    }
  }

  /** The subject a stream travels on (history streams: their JetStream LOG subject). */
  subjectOf(stream: string): string {
    if (this.#history?.keeps(stream)) return this.#history.deliverySubject(stream);
    return `${this.prefix}.${subjectToken(stream)}`;
  }

  #subscribeSubject(nc: NatsConnection, stream: string): void {
    if (this.#subs.has(stream)) return;
    const stored = this.#history?.keeps(stream) === true;
    const order = stored ? new OffsetOrder((payload, position) => this.dispatch(stream, payload, position)) : null;
    if (order !== null) this.#orders.set(stream, order);
    const sub = nc.subscribe(this.subjectOf(stream), {
      callback: (err, msg) => {
        if (err !== null) {
          this.emit("error", err);
        } else if (order !== null) {
          const epoch = msg.headers?.get(EPOCH_HEADER) ?? "";
          const offset = Number(msg.headers?.get(OFFSET_HEADER));
          if (epoch !== "" && Number.isSafeInteger(offset)) order.accept({ epoch, offset }, msg.string());
        } else {
          this.dispatch(stream, msg.string());
        }
      },
    });
    this.#subs.set(stream, sub);
  }

  /** The connection, once connected (JetStream appends; `noEcho` does not hide what the LOG republishes). */
  async #connection(): Promise<NatsConnection> {
    if (this.#nc === undefined) await this.#firstReady;
    if (this.#nc === undefined) throw new Error(this.closed ? "broker is closed" : "NATS is not connected");
    return this.#nc;
  }

  async publish(stream: string, payload: string): Promise<void> {
    this.assertOpen();
    if (this.#history?.keeps(stream)) {
      try {
        await this.#history.append(stream, payload);
      } catch (err) {
        this.recordLost(stream, payload, (err as Error).message);
        throw err;
      }
      return;
    }
    if (this.localDelivery) this.dispatch(stream, payload);
    if (this.#nc === undefined) await this.#firstReady;
    const nc = this.#nc;
    try {
      if (nc === undefined || !this.#connected) throw new Error("NATS is not connected");
      nc.publish(this.subjectOf(stream), this.#encoder.encode(payload));
      await nc.flush();
    } catch (err) {
      this.recordLost(stream, payload, (err as Error).message);
      throw err;
    }
  }

  async subscribe(stream: string, handler: BrokerHandler): Promise<Unsubscribe> {
    this.assertOpen();
    const own: BrokerHandler = (payload, position) => handler(payload, position);
    if (this.addHandler(stream, own)) {
      if (this.#nc === undefined) await this.#firstReady;
      const nc = this.#nc;
      // Not connected yet: the first connection subscribes every stream wanted by then.
      if (nc !== undefined && !this.closed) {
        this.#subscribeSubject(nc, stream);
        // While disconnected the SUB is sent on reconnect; the flush would wait for that.
        if (this.#connected) await nc.flush().catch(() => {});
      }
    }
    return async () => {
      if (this.removeHandler(stream, own)) {
        this.#subs.get(stream)?.unsubscribe();
        this.#subs.delete(stream);
        this.#orders.get(stream)?.clear();
        this.#orders.delete(stream);
      }
    };
  }

  get streams(): string[] {
    return [...this.handlers.keys()];
  }

  /** Leaves this process's presence sessions, then closes the connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.#presence?.close();
    this.closed = true;
    this.handlers.clear();
    this.#subs.clear();
    for (const order of this.#orders.values()) order.clear();
    this.#orders.clear();
    const nc = this.#nc;
    this.#nc = undefined;
    if (nc !== undefined) await nc.close().catch(() => {});
  }

  /**
   * Drop the connection, leaving nothing and refreshing nothing: what a killed process does
   * (fault tests; its presence sessions then expire after `presence.timeout`).
   */
  async abandon(): Promise<void> {
    this.closed = true;
    this.#presence?.abandon();
    this.handlers.clear();
    this.#subs.clear();
    for (const order of this.#orders.values()) order.clear();
    this.#orders.clear();
    const nc = this.#nc;
    this.#nc = undefined;
    if (nc !== undefined) await nc.close().catch(() => {});
  }
}
