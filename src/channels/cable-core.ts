/**
 * The transport-independent heart of the cable server: channel registry, connections, the one
 * shared ping timer, the stream hub and broadcasting. CableServer (cable-server.ts) mounts it on
 * the Node layer's WebSocketServer; tests drive it directly through `accept(transport)`.
 *
 * Contract: never throws because of a client; reports problems as `error` events (CableError,
 * with the connection when there is one) and a default listener keeps an unheard one harmless.
 */
import { EventEmitter } from "node:events";
import { CableError } from "../cable/errors.js";
import { type Feature, Feature as Features } from "../cable/extensions.js";
import { DisconnectReason, encodeDisconnect, encodePing } from "../cable/protocol.js";
import type { EmitterBase, TypedEvents } from "../node/index.js";
import { AckLedger, DEFAULT_ACK_WINDOW } from "./acks.js";
import type { Broker } from "./brokers/broker.js";
import { MemoryDedup } from "./brokers/dedup.js";
import { MemoryBroker } from "./brokers/memory.js";
import { CableConnection, type CableLimits, type ConnectionHost, DEFAULT_LIMITS } from "./cable-connection.js";
import { type ChannelClass, type ChannelDefinition, channelNameOf, defineChannel } from "./channel.js";
import { ConnectionList } from "./connection-list.js";
import { broadcastingFor, channelName, type Streamable } from "./naming.js";
import { DEFAULT_PRESENCE_INTERVAL, PresenceHub } from "./presence-hub.js";
import { StreamHub } from "./stream-hub.js";
import type { CableRequest, CableTransport, PrepareText } from "./transport.js";

export interface CableCoreOptions {
  /** Channels by the name clients use in their identifier (`{"channel":"ChatChannel"}`). */
  channels: Record<string, ChannelDefinition>;
  /** Identify the connection from its request; throw (UnauthorizedError or anything) to refuse. */
  authenticate?: (request: CableRequest) => unknown;
  /** Where broadcasts go; default a new MemoryBroker (this process only). */
  broker?: Broker;
  limits?: CableLimits;
  /** Heartbeat period in ms; Rails' BEAT_INTERVAL is 3 s and its client counts on it. */
  pingInterval?: number;
  /** Frame a text once for many sockets (the Node layer passes prepareMessage). */
  prepare?: PrepareText;
  /**
   * Acknowledged performs (extensions): an id is remembered for `window` ms (default 120 000),
   * through the broker's dedup when it has one (every process sharing it), else this process's.
   */
  acks?: { window?: number };
  /** Presence output: changes of a stream are sent at most once per `interval` ms (default 100). */
  presence?: { interval?: number };
}

/** The cable server's events and their listeners' arguments. */
export interface CableEvents {
  /** A problem caused by a client or the broker, never thrown; `connection` when there is one. */
  error: [error: CableError, connection?: CableConnection];
  /** A connection got its welcome (authenticated). */
  connect: [connection: CableConnection];
  /** A welcomed connection closed. */
  disconnect: [connection: CableConnection];
}

export interface CableCore extends TypedEvents<CableEvents> {}

// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the interface adds the typed event methods (node/typed-events.ts)
export class CableCore extends (EventEmitter as EmitterBase) {
  readonly broker: Broker;
  readonly hub: StreamHub;
  readonly presence: PresenceHub;
  readonly acks: AckLedger;
  readonly #features: Feature[];
  readonly limits: ConnectionHost["limits"];
  readonly #channels = new Map<string, { cls: ChannelClass; channelName: string }>();
  readonly #authenticate?: (request: CableRequest) => unknown;
  readonly #prepare: PrepareText;
  readonly #ownsBroker: boolean;
  readonly #pingInterval: number;
  /** Every connection, authenticated or not (lists, not Sets: see connection-list.ts). */
  readonly #all = new ConnectionList<CableConnection>((c) => c.allEntry);
  /** Welcomed connections: the ones that get pings. */
  readonly #open = new ConnectionList<CableConnection>((c) => c.openEntry);
  /** What every connection calls back (one for all: it only needs this core). */
  readonly #host: ConnectionHost;
  #pingTimer: NodeJS.Timeout | undefined;
  #closing = false;

  constructor(options: CableCoreOptions) {
    super();
    this.on("error", () => {}); // default listener: an unheard error never crashes the process
    for (const [name, def] of Object.entries(options.channels)) {
      const cls = defineChannel(name, def);
      this.#channels.set(name, { cls, channelName: channelNameOf(name, cls) });
    }
    this.#ownsBroker = options.broker === undefined;
    this.broker = options.broker ?? new MemoryBroker();
    this.#authenticate = options.authenticate;
    this.#prepare = options.prepare ?? ((text) => text);
    this.#pingInterval = options.pingInterval ?? 3000;
    this.limits = {
      maxSubscriptions: options.limits?.maxSubscriptions ?? DEFAULT_LIMITS.maxSubscriptions,
      maxCommandSize: options.limits?.maxCommandSize ?? DEFAULT_LIMITS.maxCommandSize,
      rateLimit: options.limits?.rateLimit,
    };
    const report = (err: CableError) => this.emit("error", err);
    this.hub = new StreamHub(this.broker, this.#prepare, report);
    const interval = options.presence?.interval ?? DEFAULT_PRESENCE_INTERVAL;
    if (!(interval > 0)) throw new TypeError("presence.interval must be a positive number of ms");
    this.presence = new PresenceHub(this.broker, this.#prepare, report, interval);
    const window = options.acks?.window ?? DEFAULT_ACK_WINDOW;
    if (!(window > 0)) throw new TypeError("acks.window must be a positive number of ms");
    this.acks = new AckLedger(this.broker.dedup ?? new MemoryDedup(), window, (err) =>
      report(new CableError("BROKER_ERROR", "acknowledgement store failed", { cause: err })),
    );
    this.#features = [Features.acks];
    if (this.broker.history !== undefined) this.#features.push(Features.history);
    this.#features.push(Features.presence); // over the broker's pub/sub when it has none of its own
    const self = this;
    this.#host = {
      hub: this.hub,
      presence: this.presence,
      acks: this.acks,
      features: this.#features,
      limits: this.limits,
      authenticate: this.#authenticate,
      resolveChannel: (name) => this.#channels.get(name),
      broadcast: (stream, data) => this.broadcast(stream, data),
      report: (err, connection) => this.emit("error", err, connection),
      opened(connection) {
        connection.openEntry = self.#open.add(connection);
        self.#startPing();
        self.emit("connect", connection);
      },
      closedConnection(connection) {
        self.#all.remove(connection.allEntry);
        connection.allEntry = null;
        const open = connection.openEntry;
        connection.openEntry = null;
        if (open !== null) {
          self.#open.remove(open);
          self.emit("disconnect", connection);
        }
        if (self.#open.size === 0) self.#stopPing();
      },
    };
  }

  /** Serve one socket (already upgraded with an ActionCable subprotocol). */
  accept(transport: CableTransport, request?: CableRequest): CableConnection {
    const connection = new CableConnection(this.#host, transport, request);
    // Without `authenticate` it is welcomed while it is made, and a `connect` listener may close it
    // then: its `closedConnection` ran before this add, which would keep it listed for good.
    if (!connection.isClosed) connection.allEntry = this.#all.add(connection);
    if (this.#closing) connection.disconnect(DisconnectReason.serverRestart, true);
    return connection;
  }

  /** Connections that got their welcome. */
  get connections(): ReadonlySet<CableConnection> {
    return this.#open;
  }

  /** Broadcast `data` (encoded to JSON once) to every subscriber of `stream`, across processes. */
  async broadcast(stream: string, data: unknown): Promise<void> {
    const payload = JSON.stringify(data);
    if (payload === undefined) throw new TypeError("broadcast: data is not JSON-serialisable");
    await this.broker.publish(String(stream), payload);
  }

  /** Rails' `ChatChannel.broadcast_to(model, data)`: the channel's registered name, or a class. */
  broadcastTo(channel: string, model: Streamable, data: unknown): Promise<void> {
    const entry = this.#channels.get(channel);
    const name = entry?.channelName ?? channelName(channel);
    return this.broadcast(broadcastingFor(name, model), data);
  }

  /** Disconnect the connections whose identity matches (Rails' remote_connections.where(...).disconnect). */
  disconnect(match: (identity: unknown) => boolean, reconnect = true): number {
    let count = 0;
    // forEach: a Set's walk without a copy of the list (a match's disconnect removes it meanwhile).
    this.#all.forEach((connection) => {
      if (connection.isOpen && match(connection.identity)) {
        connection.disconnect(DisconnectReason.remote, reconnect);
        count++;
      }
    });
    return count;
  }

  /** @internal Whether the heartbeat timer runs (tests). */
  get pinging(): boolean {
    return this.#pingTimer !== undefined;
  }

  #startPing(): void {
    if (this.#pingTimer !== undefined || this.#pingInterval <= 0) return;
    // One timer for every connection: each beat is one text, framed once, shared by all sockets.
    this.#pingTimer = setInterval(() => this.ping(), this.#pingInterval);
    this.#pingTimer.unref();
  }

  #stopPing(): void {
    if (this.#pingTimer === undefined) return;
    clearInterval(this.#pingTimer);
    this.#pingTimer = undefined;
  }

  /** Send one heartbeat to every open connection now (the timer calls this every 3 s). */
  ping(now = Date.now()): void {
    const frame = this.#prepare(encodePing(Math.floor(now / 1000)));
    this.#open.forEach((connection) => {
      connection.transport.send(frame);
    });
  }

  /**
   * Rails' `ActionCable.server.restart`: tell every client
   * `{"type":"disconnect","reason":"server_restart","reconnect":true}`, close them, wait for their
   * `unsubscribed` callbacks, and keep serving: the clients reconnect and are welcomed as before
   * (after a deploy, a reload of the channels...). The broker stays connected.
   */
  async restart(options: { reason?: string; reconnect?: boolean } = {}): Promise<void> {
    await this.#disconnectAll(options.reason ?? DisconnectReason.serverRestart, options.reconnect ?? true);
  }

  /**
   * The end (what `close()` runs): the same disconnect as {@link restart} to every client, then
   * no more: a connection arriving afterwards gets the disconnect at once. An owned broker is closed.
   */
  async shutdown(options: { reason?: string; reconnect?: boolean } = {}): Promise<void> {
    this.#closing = true;
    this.#stopPing();
    await this.#disconnectAll(options.reason ?? DisconnectReason.serverRestart, options.reconnect ?? true);
    await this.presence.close();
    if (this.#ownsBroker) await this.broker.close();
  }

  async #disconnectAll(reason: string, reconnect: boolean): Promise<void> {
    const frame = this.#prepare(encodeDisconnect(reason, reconnect));
    const all = [...this.#all];
    for (const connection of all) {
      if (connection.isOpen) connection.transport.send(frame);
      connection.transport.close(1000, "");
    }
    await Promise.all(all.map((c) => c.closed()));
  }
}

export { CableError };
