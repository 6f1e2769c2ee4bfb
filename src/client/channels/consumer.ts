/**
 * An ActionCable consumer on top of {@link ReconnectingWebSocket}: the same API as
 * @rails/actioncable (`createConsumer(url)`, `consumer.subscriptions.create(params, mixin)`,
 * `subscription.perform(action, data)`, `subscription.unsubscribe()`), with the client's
 * jittered backoff, connection timeout, token-refreshing URL providers and synchronous events.
 *
 * Contract:
 * - Offers `actioncable-v1-json` (then `actioncable-unsupported`); a server that picks anything
 *   else is left for good, as ActionCable does.
 * - Subscribes after each `welcome` (so every reconnection resubscribes), one `subscribe` per
 *   distinct identifier, and re-sends unconfirmed subscribes every `subscribeRetryInterval` ms.
 * - The server's pings feed the stale check (no message for `staleTimeout`, 6 s by default:
 *   two missed pings, like ActionCable's ConnectionMonitor): the connection is reopened.
 * - `disconnect` with `reconnect: false` (e.g. unauthorized) stops for good; otherwise the
 *   consumer reconnects after a jittered delay (a `server_restart` must not stampede).
 * - A callback that throws is reported as an `error` event of the client and does not stop the
 *   other callbacks.
 * - It offers the delivery extensions first (`actioncable-v1-ext-json`; `extensions: false` to
 *   not): with a server that takes them, streams resume where they were after a reconnection
 *   (exactly once, in order, or `resync`), `perform(..., { ack: true })` is acknowledged, and
 *   presence arrives (delivery.ts). With any other server it is @rails/actioncable's protocol.
 */

import { Feature, PROTOCOL_V1_EXT_JSON } from "../../cable/extensions.js";
import {
  type Command,
  encodeCommand,
  MessageType,
  PROTOCOL_UNSUPPORTED,
  PROTOCOL_V1_JSON,
  parseServerMessage,
} from "../../cable/protocol.js";
import { systemClock } from "../clock.js";
import { ReconnectingWebSocket } from "../reconnecting-websocket.js";
import type { ClientOptions, Clock, Provider, SendResult } from "../types.js";
import { AckError, DEFAULT_ACK_RETRY_INTERVAL, DEFAULT_ACK_TIMEOUT, DeliveryState } from "./delivery.js";
import { type ChannelParams, Subscription, type SubscriptionCallbacks, type SubscriptionHost } from "./subscription.js";

export interface ConsumerOptions extends Omit<ClientOptions, "protocols" | "startClosed" | "queue"> {
  /** Extra subprotocols offered after ActionCable's two (as `addSubProtocol` does). */
  subprotocols?: string[];
  /** Re-send a subscribe that is not confirmed after this long (ms). Default 1 000. */
  subscribeRetryInterval?: number;
  /** Actions kept per unconfirmed subscription. Default 100. */
  maxPendingPerSubscription?: number;
  /** Offer the delivery extensions (resumable streams, acks, presence). Default true. */
  extensions?: boolean;
  /** How long an acknowledged perform waits for its answer (ms). Default 10 000. */
  ackTimeout?: number;
  /** Re-send an unanswered acknowledged perform this often while connected (ms). Default 2 000. */
  ackRetryInterval?: number;
}

type CallbackName = keyof SubscriptionCallbacks;

/** `consumer.subscriptions`: the collection, as in @rails/actioncable. */
export class Subscriptions {
  readonly #consumer: Consumer;
  constructor(consumer: Consumer) {
    this.#consumer = consumer;
  }

  /**
   * Subscribe to a channel: `create("ChatChannel")` or `create({ channel: "ChatChannel", room: 1 }, {
   * received(data) { ... } })`. The mixin's properties are copied onto the subscription.
   */
  create<M extends SubscriptionCallbacks & Record<string, unknown>>(
    channel: string | ChannelParams,
    mixin?: M & ThisType<Subscription & M>,
  ): Subscription & M {
    return this.#consumer._create(channel, mixin);
  }

  /** Every live subscription, in creation order. */
  get all(): readonly Subscription[] {
    return this.#consumer._subscriptions();
  }

  findAll(identifier: string): Subscription[] {
    return this.#consumer._subscriptions().filter((s) => s.identifier === identifier);
  }
}

export class Consumer {
  readonly client: ReconnectingWebSocket;
  readonly subscriptions: Subscriptions;
  readonly #clock: Clock;
  readonly #retryInterval: number;
  readonly #maxPending: number;
  #list: Subscription[] = [];
  /** Identifiers sent in a `subscribe` on this connection and not confirmed yet. */
  #awaiting = new Set<string>();
  #confirmedIds = new Set<string>();
  #welcomed = false;
  #connected = false;
  #retryTimer: unknown = null;
  /** Whether `disconnect()` (or the server, or the protocol) stopped this consumer. */
  #stopped = false;
  #subprotocols: string[];
  readonly #host: SubscriptionHost;
  readonly #offerExtensions: boolean;
  /** This connection speaks the extensions, and what its server said it can do. */
  #ext = false;
  #features = new Set<string>();
  readonly #delivery: DeliveryState;
  #ackTimer: unknown = null;

  constructor(url: Provider<string | URL>, options: ConsumerOptions = {}) {
    const {
      subprotocols = [],
      subscribeRetryInterval = 1000,
      maxPendingPerSubscription = 100,
      extensions = true,
      ackTimeout = DEFAULT_ACK_TIMEOUT,
      ackRetryInterval = DEFAULT_ACK_RETRY_INTERVAL,
      ...rest
    } = options;
    this.#clock = options.clock ?? systemClock;
    this.#offerExtensions = extensions;
    this.#delivery = new DeliveryState(this.#clock, { ackTimeout, ackRetryInterval });
    this.#subprotocols = [...subprotocols];
    this.#retryInterval = subscribeRetryInterval;
    this.#maxPending = maxPendingPerSubscription;
    this.subscriptions = new Subscriptions(this);
    this.#host = {
      sendMessage: (sub, data) => this.#command({ command: "message", identifier: sub.identifier, data }),
      performAcked: (sub, data, timeout) => this.#performAcked(sub, data, timeout),
      members: (sub) => this.#delivery.members(sub.identifier),
      remove: (sub) => this.#remove(sub),
      isClosed: () => this.client.state === "closed" && this.#stopped,
    };
    this.client = new ReconnectingWebSocket(url, {
      staleTimeout: 6000,
      ...rest,
      // @rails/actioncable's order, after the extensions; read at every attempt, so
      // addSubProtocol applies next time.
      protocols: () => [
        ...(this.#offerExtensions ? [PROTOCOL_V1_EXT_JSON] : []),
        PROTOCOL_V1_JSON,
        PROTOCOL_UNSUPPORTED,
        ...this.#subprotocols,
      ],
      // Commands are regenerated after each welcome; actions wait in their subscription.
      queue: { size: 0 },
      startClosed: true,
    });
    this.client.on("open", ({ protocol }) => {
      this.#connected = true;
      this.#ext = protocol === PROTOCOL_V1_EXT_JSON;
      if (protocol !== PROTOCOL_V1_JSON && !this.#ext) {
        this.#stopped = true;
        this.client.close(1000, "unsupported protocol");
      }
    });
    this.client.on("message", ({ data }) => this.#onMessage(data));
    this.client.on("reconnecting", () => this.#onDisconnect(true));
    this.client.on("closed", () => this.#onDisconnect(false));
  }

  /** The URL of the current or last connection. */
  get url(): string {
    return this.client.url;
  }

  /** Connect (the first `subscriptions.create` does it too). */
  connect(): void {
    this.#stopped = false;
    this.client.connect();
  }

  /** Close and stay closed (until `connect()`); subscriptions are kept and resubscribe then. */
  disconnect(): void {
    this.#stopped = true;
    this.client.close();
  }

  /** Offer one more subprotocol from the next connection on (e.g. a token, as in ActionCable). */
  addSubProtocol(subprotocol: string): void {
    this.#subprotocols.push(subprotocol);
  }

  /** Send a raw command (ActionCable's `consumer.send`). */
  send(command: Command): SendResult {
    return this.#command(command);
  }

  // --- internal -------------------------------------------------------------------------------

  /** @internal */
  _subscriptions(): readonly Subscription[] {
    return this.#list;
  }

  /** @internal */
  _create<M extends SubscriptionCallbacks & Record<string, unknown>>(
    channel: string | ChannelParams,
    mixin?: M,
  ): Subscription & M {
    const params = typeof channel === "string" ? { channel } : channel;
    const sub = new Subscription(this.#host, params, this.#maxPending) as Subscription & M;
    if (mixin) {
      for (const key of Object.keys(mixin)) {
        if (key in Subscription.prototype || key === "identifier" || key === "params") {
          throw new TypeError(`subscription mixin must not override "${key}"`);
        }
        (sub as Record<string, unknown>)[key] = mixin[key];
      }
    }
    this.#list.push(sub);
    this.#notify(sub, "initialized");
    // Like @rails/actioncable's ensureActiveConnection: a new subscription (re)opens the cable.
    if (this.client.state === "closed") this.connect();
    else if (this.#welcomed) {
      if (this.#confirmedIds.has(sub.identifier)) this.#confirm(sub);
      else this.#subscribe(sub.identifier);
    }
    return sub;
  }

  #command(command: Command): SendResult {
    if (!this.#welcomed) return this.client.state === "closed" ? "closed" : "dropped";
    return this.client.send(encodeCommand(command));
  }

  #subscribe(identifier: string): void {
    const history = this.#ext ? this.#delivery.historyFor(identifier) : undefined;
    const command: Command =
      history === undefined ? { command: "subscribe", identifier } : { command: "subscribe", identifier, history };
    if (this.#command(command) === "sent") {
      this.#awaiting.add(identifier);
      this.#armRetry();
    }
  }

  #armRetry(): void {
    if (this.#retryTimer !== null) return;
    this.#retryTimer = this.#clock.setTimeout(() => {
      this.#retryTimer = null;
      if (!this.#welcomed) return;
      for (const identifier of [...this.#awaiting]) this.#subscribe(identifier);
    }, this.#retryInterval);
  }

  #stopRetry(): void {
    if (this.#retryTimer !== null) this.#clock.clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
  }

  #remove(sub: Subscription): void {
    sub._markRemoved();
    this.#list = this.#list.filter((s) => s !== sub);
    this.#delivery.failAll("CLOSED", "the subscription was removed", sub);
    if (this.#list.some((s) => s.identifier === sub.identifier)) return;
    this.#delivery.forget(sub.identifier);
    this.#awaiting.delete(sub.identifier);
    this.#confirmedIds.delete(sub.identifier);
    this.#command({ command: "unsubscribe", identifier: sub.identifier });
  }

  #onMessage(data: unknown): void {
    const msg = parseServerMessage(data);
    if (!msg) return;
    switch (msg.type) {
      case MessageType.welcome: {
        this.#welcomed = true;
        this.#features = new Set(this.#ext && Array.isArray(msg.features) ? msg.features.map(String) : []);
        if (!this.#features.has(Feature.acks)) {
          this.#delivery.failAll("UNSUPPORTED", "the server does not acknowledge performs");
        }
        this.#awaiting.clear();
        this.#confirmedIds.clear();
        for (const identifier of new Set(this.#list.map((s) => s.identifier))) this.#subscribe(identifier);
        return;
      }
      case MessageType.ping:
        return; // Counted by the client's stale check.
      case MessageType.disconnect: {
        if (msg.reconnect === false) this.disconnect();
        else this.client.reconnect(`server disconnect: ${msg.reason ?? ""}`);
        return;
      }
      case MessageType.confirmation: {
        const id = msg.identifier ?? "";
        if (!this.#awaiting.delete(id) && this.#confirmedIds.has(id)) return; // duplicate confirmation
        this.#confirmedIds.add(id);
        if (this.#ext) this.#delivery.learn(id, msg.streams);
        if (this.#awaiting.size === 0) this.#stopRetry();
        for (const sub of this.#list.filter((s) => s.identifier === id)) this.#confirm(sub);
        this.#sendAcks(id, true);
        return;
      }
      case MessageType.rejection: {
        const id = msg.identifier ?? "";
        this.#awaiting.delete(id);
        for (const sub of this.#list.filter((s) => s.identifier === id)) {
          sub._markRemoved();
          this.#list = this.#list.filter((s) => s !== sub);
          this.#notify(sub, "rejected");
        }
        return;
      }
      case "confirm_history":
        if (this.#ext) return;
        break;
      case "reject_history": {
        if (!this.#ext) break;
        const id = msg.identifier ?? "";
        this.#delivery.learn(id, msg.streams);
        const streams = (typeof msg.streams === "object" && msg.streams !== null ? msg.streams : {}) as never;
        for (const sub of this.#list.filter((s) => s.identifier === id)) this.#notify(sub, "resync", { streams });
        return;
      }
      case "ack":
        if (!this.#ext) break;
        this.#delivery.acknowledge(msg.id, msg.reply, msg.error);
        if (this.#delivery.waitingAcks === 0) this.#stopAckRetry();
        return;
      case "presence": {
        if (!this.#ext) break;
        const id = msg.identifier ?? "";
        const change = this.#delivery.presence(id, msg.message);
        if (change === undefined) return;
        for (const sub of this.#list.filter((s) => s.identifier === id)) this.#notify(sub, "presence", change);
        return;
      }
    }
    // Anything else with an identifier is data, as @rails/actioncable treats it.
    if (msg.identifier === undefined || !("message" in msg)) return;
    if (this.#ext && msg.stream_id !== undefined) {
      // A stamped broadcast: drop what this client already has (a duplicate after a resume).
      if (!this.#delivery.accept(msg.identifier, msg.stream_id, msg.epoch, msg.offset)) return;
    }
    for (const sub of this.#list.filter((s) => s.identifier === msg.identifier)) {
      this.#notify(sub, "received", msg.message);
    }
  }

  #confirm(sub: Subscription): void {
    const details = sub._confirm();
    if (details) this.#notify(sub, "connected", details);
  }

  #onDisconnect(willReconnect: boolean): void {
    this.#welcomed = false;
    this.#stopAckRetry();
    this.#awaiting.clear();
    this.#confirmedIds.clear();
    this.#stopRetry();
    if (!this.#connected) return;
    this.#connected = false;
    const willAttemptReconnect = willReconnect && !this.#stopped;
    for (const sub of [...this.#list]) {
      sub._unconfirm();
      this.#notify(sub, "disconnected", { willAttemptReconnect });
    }
  }

  #performAcked(sub: Subscription, data: string, timeout?: number): Promise<unknown> {
    if (sub.removed) return Promise.reject(new AckError("CLOSED", "the subscription was removed"));
    if (this.#welcomed && !this.#features.has(Feature.acks)) {
      return Promise.reject(new AckError("UNSUPPORTED", "the server does not acknowledge performs"));
    }
    const { promise } = this.#delivery.track(sub.identifier, data, sub, timeout);
    if (this.#welcomed && this.#confirmedIds.has(sub.identifier)) this.#sendAcks(sub.identifier, false);
    return promise;
  }

  /** Sends the acks of `identifier` (all after a confirmation, else the overdue), and re-arms. */
  #sendAcks(identifier: string | undefined, all: boolean): void {
    if (!this.#welcomed || !this.#features.has(Feature.acks)) return;
    for (const ack of this.#delivery.pendingAcks(identifier, all)) {
      if (!this.#confirmedIds.has(ack.identifier)) continue;
      this.#command({ command: "message", identifier: ack.identifier, data: ack.data, id: ack.id });
    }
    this.#armAckRetry();
  }

  #armAckRetry(): void {
    if (this.#ackTimer !== null || this.#delivery.waitingAcks === 0) return;
    this.#ackTimer = this.#clock.setTimeout(() => {
      this.#ackTimer = null;
      this.#sendAcks(undefined, false);
    }, this.#delivery.retryInterval);
  }

  #stopAckRetry(): void {
    if (this.#ackTimer !== null) this.#clock.clearTimeout(this.#ackTimer);
    this.#ackTimer = null;
  }

  /** Extensions: the last position seen on `stream` by `identifier`'s subscriptions. */
  position(identifier: string, stream: string): { epoch: string; offset: number } | undefined {
    return this.#delivery.position(identifier, stream);
  }

  /** Whether the current connection speaks the extensions. */
  get extended(): boolean {
    return this.#ext;
  }

  #notify(sub: Subscription, name: CallbackName, ...args: unknown[]): void {
    const callback = (sub as unknown as Record<string, unknown>)[name];
    if (typeof callback !== "function") return;
    try {
      (callback as (...a: unknown[]) => void).apply(sub, args);
    } catch (error) {
      // Reported through the client's error event without stopping other subscriptions.
      this.client._reportError(error instanceof Error ? error : new Error(String(error)), "listener");
    }
  }
}

/**
 * Create a consumer. `url` may be absolute (ws:, wss:, http:, https:), relative to the page in
 * browsers, a function (async allowed: a fresh token per attempt); without it, browsers use
 * `<meta name="action-cable-url">` or "/cable", as @rails/actioncable does.
 */
export function createConsumer(url?: Provider<string | URL>, options?: ConsumerOptions): Consumer {
  const source = url ?? defaultCableUrl();
  const resolve =
    typeof source === "function" ? async () => createWebSocketURL(await source()) : createWebSocketURL(source);
  return new Consumer(resolve, options);
}

function defaultCableUrl(): string {
  const doc = (
    globalThis as {
      document?: { head?: { querySelector(s: string): { getAttribute(n: string): string | null } | null } };
    }
  ).document;
  const meta = doc?.head?.querySelector("meta[name='action-cable-url']");
  return meta?.getAttribute("content") ?? "/cable";
}

/** Absolute ws(s) URL: http(s) becomes ws(s), relative URLs resolve against the page. */
export function createWebSocketURL(url: string | URL): string {
  const text = String(url);
  if (/^wss?:/i.test(text)) return text;
  const base = (globalThis as { location?: { href: string } }).location?.href;
  const absolute = base === undefined ? new URL(text) : new URL(text, base);
  absolute.protocol = absolute.protocol.replace(/^http/, "ws");
  return absolute.href;
}
