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
 * - NOTIFY payloads are limited to 8000 bytes by PostgreSQL: larger ones are refused (rejected,
 *   counted as lost).
 * - Outages: the listener reconnects with capped backoff and LISTENs every stream again
 *   (`reconnected`); a publish while down rejects and is counted (`lost`). Like Redis pub/sub,
 *   NOTIFY keeps nothing for a listener that is not connected: those messages are lost.
 */
import { createHash, randomUUID } from "node:crypto";
import type pg from "pg";
import { BaseBroker, type Broker, type BrokerHandler, type Unsubscribe } from "./broker.js";
import { loadPeer } from "./optional-peer.js";

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
}

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
  /** pg's Client class, once loaded (the constructor starts loading it). */
  readonly #Client: Promise<typeof pg.Client>;
  #listener: pg.Client | undefined;
  #publisher: pg.Client | undefined;
  #listenerReady: Promise<void> | undefined;
  #downSince = 0;
  #retry = 0;
  reconnects = 0;

  constructor(options: PostgresBrokerOptions = {}) {
    super();
    this.#Client = loadPeer<typeof import("pg")>("pg", "PostgresBroker").then((mod) => mod.Client);
    this.#Client.catch((error: unknown) => this.emit("error", error as Error)); // also rejects first use
    this.processId = options.processId ?? randomUUID();
    this.prefix = options.prefix ?? "";
    this.localDelivery = options.localDelivery ?? true;
    this.#config = { connectionString: options.url, ...(options.client as pg.ClientConfig | undefined) };
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
    client.on("error", (err) => this.emit("error", err));
    client.on("notification", (n) => this.#onNotification(n.payload ?? ""));
    client.on("end", () => this.#listenerLost(client));
    try {
      await client.connect();
      for (const stream of this.handlers.keys()) await client.query(`LISTEN ${quote(this.#channel(stream))}`);
    } catch (err) {
      this.#listenerLost(client);
      throw err;
    }
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
    if (this.#listener === client) this.#listener = undefined;
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

  #onNotification(message: string): void {
    let envelope: unknown;
    try {
      envelope = JSON.parse(message);
    } catch {
      return; // not ours
    }
    if (!Array.isArray(envelope) || envelope.length !== 3 || !envelope.every((x) => typeof x === "string")) return;
    const [origin, stream, payload] = envelope as [string, string, string];
    if (this.localDelivery && origin === this.processId) return; // our own echo
    this.dispatch(stream, payload);
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
    this.#publisher = client;
    try {
      await client.connect();
    } catch (err) {
      if (this.#publisher === client) this.#publisher = undefined;
      throw err;
    }
    return client;
  }

  async publish(stream: string, payload: string): Promise<void> {
    this.assertOpen();
    if (this.localDelivery) this.dispatch(stream, payload);
    const message = JSON.stringify([this.localDelivery ? this.processId : "", stream, payload]);
    try {
      if (Buffer.byteLength(message) > MAX_NOTIFY_PAYLOAD) {
        throw new RangeError(`payload over PostgreSQL's NOTIFY limit (${MAX_NOTIFY_PAYLOAD} bytes)`);
      }
      const client = await this.#publisherClient();
      await client.query("SELECT pg_notify($1, $2)", [this.#channel(stream), message]);
    } catch (err) {
      this.recordLost(stream, payload, (err as Error).message);
      throw err;
    }
  }

  async subscribe(stream: string, handler: BrokerHandler): Promise<Unsubscribe> {
    this.assertOpen();
    const own = (payload: string) => handler(payload);
    if (this.addHandler(stream, own)) {
      try {
        if (this.#listener === undefined) await this.#ensureListener();
        else await this.#listener.query(`LISTEN ${quote(this.#channel(stream))}`);
      } catch (err) {
        this.emit("error", err as Error); // the reconnect LISTENs every stream again
      }
    }
    return async () => {
      if (this.removeHandler(stream, own) && this.#listener !== undefined && !this.closed) {
        await this.#listener.query(`UNLISTEN ${quote(this.#channel(stream))}`).catch(() => {});
      }
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.handlers.clear();
    const clients = [this.#listener, this.#publisher].filter((c) => c !== undefined);
    this.#listener = this.#publisher = undefined;
    await Promise.all(clients.map((c) => c.end().catch(() => {})));
  }
}

/** A quoted identifier: "…" with inner quotes doubled (channel names are identifiers in LISTEN). */
function quote(name: string): string {
  return `"${name.replace(/"/g, '""').replace(/\u0000/g, "")}"`;
}
