/**
 * PostgreSQL LISTEN/NOTIFY broker (`pg`), the design of Rails' postgresql adapter:
 * - One dedicated connection LISTENs (one LISTEN per stream and process); NOTIFY goes through a
 *   second connection (`SELECT pg_notify($1, $2)`, so names and payloads are parameters).
 * - Channel names are `${prefix}:${stream}`; PostgreSQL truncates identifiers at 63 bytes, so
 *   longer names are replaced by their SHA-1 (as Rails does). The stream name also travels in the
 *   envelope and is compared on receipt, so two streams can never be confused.
 * - Envelope `["<processId>","<stream>","<payload>"]` (JSON: PostgreSQL text cannot hold NUL, JSON
 *   escapes it): with `localDelivery` (default) publish delivers here at once and our own echo is
 *   dropped, as in the Redis broker.
 * - NOTIFY payloads are limited to 8000 bytes by PostgreSQL: a larger envelope is stored in a
 *   table (wirecable_spill) and its id notified instead; listeners read it back, in order.
 * - Outages: the listener reconnects with capped backoff and LISTENs every stream again
 *   (`reconnected`); a publish while down rejects and is counted (`lost`). A connection
 *   attempt fails after `client.connectionTimeoutMillis` (default 5000) without an answer.
 *   Like Redis pub/sub, NOTIFY keeps nothing for a listener that is not connected: on plain
 *   streams those messages are lost; streams keeping `history` (tables, postgres-store.ts) are
 *   recovered from it.
 * - History, presence and dedup: postgres-store.ts (tables created on first use).
 */
import { createHash, randomUUID } from "node:crypto";
import type pg from "pg";
import { BaseBroker, type Broker, type BrokerHandler, checkTimeout, type Unsubscribe } from "./broker.js";
import { loadPeer } from "./optional-peer.js";
import {
  NOTIFY_BUDGET,
  type PostgresDedup,
  type PostgresHistory,
  type PostgresPresence,
  PostgresStore,
} from "./postgres-store.js";
import type { HistoryOptions } from "./stream-history.js";
import type { PresenceOptions } from "./stream-presence.js";

/**
 * pg client options (pg's `ClientConfig`), passed through to both connections. Typed
 * structurally here so that wirecable's types never require pg to be installed.
 */
export interface PostgresClientOptions {
  host?: string;
  port?: number;
  user?: string;
  password?: string | (() => string | Promise<string>);
  database?: string;
  ssl?: boolean | object;
  /**
   * Each connection attempt's timeout (ms, 0 to 2^31 - 1): an attempt not through within it
   * (TCP, TLS, authentication, a `password` function included) fails ("PostgreSQL did not answer
   * within … ms") as a refused one does (the listening connection retries, a publish rejects).
   * Default 5000 (pg's own default, 0, waits forever for a server that accepts TCP and never
   * answers); 0: no timeout.
   */
  connectionTimeoutMillis?: number;
  [option: string]: unknown;
}

export interface PostgresBrokerOptions {
  /** `postgres://user@host:port/db`. */
  url?: string;
  /** Extra pg client options. */
  client?: PostgresClientOptions;
  prefix?: string;
  localDelivery?: boolean;
  processId?: string;
  /** Keep stream history in a table (resumable streams). Default: none. */
  history?: HistoryOptions;
  /** Presence timing and limits (heartbeats, expiry of a dead process's members). */
  presence?: PresenceOptions;
}

/** Each connection attempt's timeout when the options give none (ms; the other brokers wait as long). */
const CONNECT_TIMEOUT = 5000;

/** PostgreSQL's NOTIFY payload limit (bytes, default build). */
export const MAX_NOTIFY_PAYLOAD = 7999;

/**
 * A Broker over PostgreSQL LISTEN/NOTIFY. Needs the optional peer dependency `pg` (`npm install
 * pg`): the constructor throws MissingPeerError without it.
 */
export class PostgresBroker extends BaseBroker implements Broker {
  readonly processId: string;
  readonly prefix: string;
  readonly localDelivery: boolean;
  readonly #config: pg.ClientConfig;
  /** pg's connectionTimeoutMillis for every attempt (0: none). */
  readonly #connectTimeout: number;
  /** pg's Client class, once loaded (the constructor starts loading it). */
  readonly #Client: Promise<typeof pg.Client>;
  #listener: pg.Client | undefined;
  /** The listening connection being made (connect, then its LISTENs): #listener once that succeeds. */
  #connecting: pg.Client | undefined;
  #publisher: pg.Client | undefined;
  /** The publishing connection while it connects (close() cuts it: pg's end() would wait). */
  #publisherConnecting: pg.Client | undefined;
  #listenerReady: Promise<void> | undefined;
  #downSince = 0;
  #retry = 0;
  reconnects = 0;
  readonly history: PostgresHistory | undefined;
  readonly presence: PostgresPresence;
  readonly dedup: PostgresDedup;
  readonly #store: PostgresStore;
  /** Raw channels LISTENed for the store (presence events), besides the streams. */
  readonly #listened = new Map<string, (message: string) => void>();
  /** Statements on the publisher connection run one at a time, in call order (pg 9 refuses overlaps). */
  #statements: Promise<unknown> = Promise.resolve();
  /** Notifications wait here, in order, while one of them reads its payload from a table. */
  #inbox: Promise<void> = Promise.resolve();
  #inboxSize = 0;

  constructor(options: PostgresBrokerOptions = {}) {
    super();
    checkTimeout("PostgresBroker", "client.connectionTimeoutMillis", options.client?.connectionTimeoutMillis, 0);
    this.#Client = loadPeer<typeof import("pg")>("pg", "PostgresBroker").then((mod) => mod.Client);
    this.#Client.catch((error: unknown) => this.emit("error", error as Error)); // also rejects first use
    this.processId = options.processId ?? randomUUID();
    this.prefix = options.prefix ?? "";
    this.localDelivery = options.localDelivery ?? true;
    this.#connectTimeout = options.client?.connectionTimeoutMillis ?? CONNECT_TIMEOUT;
    this.#config = {
      connectionString: options.url,
      ...(options.client as pg.ClientConfig | undefined),
      connectionTimeoutMillis: this.#connectTimeout,
    };
    this.#store = new PostgresStore({
      query: (text, params) => this.#statement((client) => client.query(text, params)),
      listen: (channel, onMessage) => this.#listen(channel, onMessage),
      channel: (stream) => this.#channel(stream),
      prefix: this.prefix,
      processId: this.processId,
      history: options.history,
      presence: options.presence,
      onError: (err) => this.emit("error", err),
    });
    this.history = this.#store.history;
    this.presence = this.#store.presence;
    this.dedup = this.#store.dedup;
  }

  #channel(stream: string): string {
    const name = this.prefix === "" ? stream : `${this.prefix}:${stream}`;
    return Buffer.byteLength(name) > 63 ? createHash("sha1").update(name).digest("hex") : name;
  }

  #ensureListener(): Promise<void> {
    this.#listenerReady ??= this.#connectListener();
    return this.#listenerReady;
  }

  async #connectListener(): Promise<void> {
    const Client = await this.#Client;
    if (this.closed) throw new Error("broker is closed");
    const client = new Client(this.#config);
    this.#connecting = client;
    client.on("error", (err) => this.emit("error", err));
    client.on("notification", (n) => this.#onNotification(n.channel, n.payload ?? ""));
    client.on("end", () => this.#listenerLost(client));
    try {
      await this.#connect(client);
      // Every stream and channel, those added while these LISTENs run included (their
      // subscribe() waits for this attempt rather than LISTENing itself).
      const done = new Set<string>();
      for (;;) {
        const names = [...[...this.handlers.keys()].map((s) => this.#channel(s)), ...this.#listened.keys()];
        const next = names.filter((name) => !done.has(name));
        if (next.length === 0) break;
        for (const name of next) {
          done.add(name);
          await client.query(`LISTEN ${quote(name)}`);
        }
      }
    } catch (err) {
      this.#listenerLost(client);
      throw err;
    }
    if (this.#connecting !== client) {
      // lost meanwhile (another attempt is under way) or the broker closed: never a second listener
      client.end().catch(() => {});
      throw new Error(this.closed ? "broker is closed" : "the listening connection ended while it was made");
    }
    this.#connecting = undefined;
    this.#listener = client;
    if (this.#downSince !== 0) {
      this.reconnects++;
      this.emit("reconnected", { streams: this.handlers.size, downtimeMs: Date.now() - this.#downSince });
      this.#downSince = 0;
    }
    this.#retry = 0;
  }

  #listenerLost(client: pg.Client): void {
    if (this.closed) return;
    // A connection already given up (its 'end' after a failed connect, say) changes nothing: the
    // attempt that replaced it may be under way, and a second one would listen twice (duplicates).
    if (client !== this.#listener && client !== this.#connecting) return;
    if (this.#listener === client) this.#listener = undefined;
    if (this.#connecting === client) this.#connecting = undefined;
    if (this.#downSince === 0) {
      this.#downSince = Date.now();
      this.emit("disconnected");
    }
    this.#listenerReady = undefined;
    client.end().catch(() => {});
    const delay = Math.min(50 * ++this.#retry, 1000);
    setTimeout(() => {
      if (!this.closed && this.#listenerReady === undefined) this.#ensureListener().catch(() => {});
    }, delay).unref();
  }

  #onNotification(channel: string, message: string): void {
    const listener = this.#listened.get(channel);
    if (listener !== undefined) {
      listener(message);
      return;
    }
    let envelope: unknown;
    try {
      envelope = JSON.parse(message);
    } catch {
      return; // not ours
    }
    // [origin, stream, payload] | [origin, stream, null, spillId] | [origin, stream, payload|null, epoch, offset]
    if (!Array.isArray(envelope) || envelope.length < 3 || envelope.length > 5) return;
    const [origin, stream, payload, a, b] = envelope as [unknown, unknown, unknown, unknown, unknown];
    if (typeof origin !== "string" || typeof stream !== "string") return;
    if (payload !== null && typeof payload !== "string") return;
    if (envelope.length === 5) {
      if (typeof a !== "string" || typeof b !== "number") return;
      const position = { epoch: a, offset: b };
      this.#deliver(stream, payload ?? (() => this.#store.readHistoryRow(stream, b)), position);
      return;
    }
    if (this.localDelivery && origin === this.processId) return; // our own echo
    if (envelope.length === 4) {
      if (payload !== null || typeof a !== "number") return;
      this.#deliver(stream, () => this.#store.readSpill(a));
    } else if (payload !== null) this.#deliver(stream, payload);
  }

  /** Delivers in notification order, reading a payload from its table when it was not inline. */
  #deliver(
    stream: string,
    payload: string | (() => Promise<string | undefined>),
    position?: { epoch: string; offset: number },
  ): void {
    if (typeof payload === "string" && this.#inboxSize === 0) {
      this.dispatch(stream, payload, position);
      return;
    }
    this.#inboxSize++;
    this.#inbox = this.#inbox.then(async () => {
      try {
        const text = typeof payload === "string" ? payload : await payload();
        if (text !== undefined) this.dispatch(stream, text, position);
        else this.emit("error", new Error(`a large broadcast on ${stream} was gone before it was read`));
      } catch (err) {
        this.emit("error", err as Error);
      } finally {
        this.#inboxSize--;
      }
    });
  }

  #statement<T>(run: (client: pg.Client) => Promise<T>): Promise<T> {
    const result = this.#statements.then(async () => run(await this.#publisherClient()));
    this.#statements = result.catch(() => {});
    return result;
  }

  async #publisherClient(): Promise<pg.Client> {
    if (this.#publisher !== undefined) return this.#publisher;
    const Client = await this.#Client;
    if (this.#publisher !== undefined) return this.#publisher;
    if (this.closed) throw new Error("broker is closed");
    const client = new Client(this.#config);
    client.on("error", (err) => this.emit("error", err));
    client.on("end", () => {
      if (this.#publisher === client) this.#publisher = undefined;
    });
    this.#publisher = this.#publisherConnecting = client;
    try {
      await this.#connect(client);
    } catch (err) {
      if (this.#publisher === client) this.#publisher = undefined;
      throw this.closed ? new Error("broker is closed") : err;
    } finally {
      if (this.#publisherConnecting === client) this.#publisherConnecting = undefined;
    }
    return client;
  }

  /** `client.connect()`; its timeout (pg says only "timeout expired") reported as what it is. */
  async #connect(client: pg.Client): Promise<void> {
    try {
      await client.connect();
    } catch (err) {
      const message = (err as Error | undefined)?.message;
      if (this.#connectTimeout > 0 && (message === "timeout expired" || message?.includes("connection timeout"))) {
        throw new Error(
          `PostgreSQL did not answer within ${this.#connectTimeout} ms (client.connectionTimeoutMillis)`,
          { cause: err },
        );
      }
      throw err;
    }
  }

  async publish(stream: string, payload: string): Promise<void> {
    this.assertOpen();
    try {
      if (this.history?.keeps(stream)) {
        // Stored and notified with its position in one statement; every listener, ours too,
        // gets it from NOTIFY, in offset order.
        await this.history.append(stream, payload);
        return;
      }
      if (this.localDelivery) this.dispatch(stream, payload);
      const origin = this.localDelivery ? this.processId : "";
      const message = JSON.stringify([origin, stream, payload]);
      if (Buffer.byteLength(message) > NOTIFY_BUDGET) return await this.#store.spill(stream, payload, origin);
      await this.#statement((client) => client.query("SELECT pg_notify($1, $2)", [this.#channel(stream), message]));
    } catch (err) {
      this.recordLost(stream, payload, (err as Error).message);
      throw err;
    }
  }

  async subscribe(stream: string, handler: BrokerHandler): Promise<Unsubscribe> {
    this.assertOpen();
    const own: BrokerHandler = (payload, position) => handler(payload, position);
    if (this.addHandler(stream, own)) {
      try {
        if (this.#listener === undefined) await this.#ensureListener();
        else await this.#listener.query(`LISTEN ${quote(this.#channel(stream))}`);
      } catch (err) {
        if (!this.closed) this.emit("error", err as Error); // the reconnect LISTENs every stream again
      }
    }
    return async () => {
      if (this.removeHandler(stream, own) && this.#listener !== undefined && !this.closed) {
        await this.#listener.query(`UNLISTEN ${quote(this.#channel(stream))}`).catch(() => {});
      }
    };
  }

  /** A raw channel LISTENed on the listening connection (the store's presence events). */
  async #listen(channel: string, onMessage: (message: string) => void): Promise<() => Promise<void>> {
    this.assertOpen();
    this.#listened.set(channel, onMessage);
    try {
      if (this.#listener === undefined) await this.#ensureListener();
      else await this.#listener.query(`LISTEN ${quote(channel)}`);
    } catch (err) {
      if (!this.closed) this.emit("error", err as Error); // the reconnect LISTENs every channel again
    }
    return async () => {
      if (this.#listened.get(channel) !== onMessage) return;
      this.#listened.delete(channel);
      if (this.#listener !== undefined && !this.closed) {
        await this.#listener.query(`UNLISTEN ${quote(channel)}`).catch(() => {});
      }
    };
  }

  /** Leaves this process's presence sessions, then releases both connections. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.presence.close();
    this.#store.close();
    this.closed = true;
    this.handlers.clear();
    this.#listened.clear();
    const clients = [this.#listener, this.#publisher].filter((c) => c !== undefined);
    cut(this.#connecting);
    cut(this.#publisherConnecting);
    this.#listener = this.#connecting = this.#publisher = this.#publisherConnecting = undefined;
    await Promise.all(clients.map((c) => c.end().catch(() => {})));
  }

  /**
   * Drop both connections at once, leaving nothing: what a killed process does (fault tests;
   * its presence sessions then expire after `presence.timeout`).
   */
  async abandon(): Promise<void> {
    this.closed = true;
    this.presence.abandon();
    this.#store.close();
    this.handlers.clear();
    this.#listened.clear();
    const clients = [this.#listener, this.#publisher].filter((c) => c !== undefined);
    cut(this.#connecting);
    this.#listener = this.#connecting = this.#publisher = this.#publisherConnecting = undefined;
    for (const c of clients) cut(c);
    await Promise.all(clients.map((c) => c.end().catch(() => {})));
  }
}

/**
 * Cuts a pg client's socket. For an attempt still connecting this is the only way out: pg's
 * end() during connect() leaves connect() pending forever (and waits for the server's FIN);
 * a cut socket makes connect() reject, so the attempt settles.
 */
function cut(client: pg.Client | undefined): void {
  (client as unknown as { connection?: { stream?: { destroy(): void } } } | undefined)?.connection?.stream?.destroy();
}

/** A quoted identifier: "…" with inner quotes doubled (channel names are identifiers in LISTEN). */
function quote(name: string): string {
  return `"${name.replace(/"/g, '""').replace(/\u0000/g, "")}"`;
}
