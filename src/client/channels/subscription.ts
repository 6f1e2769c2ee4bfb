/**
 * One channel subscription of a {@link Consumer}, as in @rails/actioncable: created through
 * `consumer.subscriptions.create(params, mixin)`, the mixin's properties copied onto it (so
 * callbacks and helper methods can use `this.perform(...)`).
 *
 * Contract: `perform`/`send` while the subscription is not confirmed (connecting, reconnecting,
 * waiting for the server's confirmation) keep the message in a small bounded queue, sent in
 * order right after the confirmation: an action never reaches a server that does not yet know
 * the subscription. After `unsubscribe()` (or a rejection) they return "closed".
 */
import type { SendResult } from "../types.js";
import type { AckOptions, PresenceChange, ResyncInfo } from "./delivery.js";

/** The callbacks @rails/actioncable calls on a subscription. All optional. */
export interface SubscriptionCallbacks {
  initialized?(): void;
  /** The server confirmed the subscription; `reconnected` if it had been confirmed before. */
  connected?(details: { reconnected: boolean }): void;
  disconnected?(details: { willAttemptReconnect: boolean }): void;
  received?(data: unknown): void;
  rejected?(): void;
  /**
   * Extensions (docs/channels.md): some messages published while this client was away could not
   * be recovered (the history no longer has them, or was reset). Reload what depends on them.
   */
  resync?(details: ResyncInfo): void;
  /** Extensions: the presence of a stream this subscription watches changed. */
  presence?(change: PresenceChange): void;
}

export type ChannelParams = { channel: string; [key: string]: unknown };

/** What a subscription needs from its consumer (internal). */
export interface SubscriptionHost {
  sendMessage(subscription: Subscription, data: string): SendResult;
  performAcked(subscription: Subscription, data: string, timeout?: number): Promise<unknown>;
  members(subscription: Subscription): ReadonlyMap<string, unknown>;
  remove(subscription: Subscription): void;
  isClosed(): boolean;
}

export class Subscription {
  /** JSON of the params: the key the server uses for this subscription. */
  readonly identifier: string;
  readonly params: Readonly<ChannelParams>;
  readonly #host: SubscriptionHost;
  readonly #maxPending: number;
  #pending: string[] = [];
  #confirmed = false;
  #everConfirmed = false;
  #removed = false;

  constructor(host: SubscriptionHost, params: ChannelParams, maxPending: number) {
    this.#host = host;
    this.params = params;
    this.identifier = JSON.stringify(params);
    this.#maxPending = maxPending;
  }

  /** Whether the server confirmed this subscription on the current connection. */
  get confirmed(): boolean {
    return this.#confirmed;
  }

  /** Whether it was removed (unsubscribe or rejection): it will not subscribe again. */
  get removed(): boolean {
    return this.#removed;
  }

  /** Messages waiting for the confirmation. */
  get pending(): number {
    return this.#pending.length;
  }

  /**
   * Call the channel's `action` on the server with `data` (copied, not mutated). With
   * `{ ack: true }` (servers with the extensions): a promise of the action's reply, rejected with
   * an AckError (the server's error code, TIMEOUT, UNSUPPORTED, CLOSED); the action runs once
   * even when the perform is sent again after a reconnection.
   */
  perform(action: string, data?: Record<string, unknown>): SendResult;
  perform(action: string, data: Record<string, unknown>, options: AckOptions): Promise<unknown>;
  perform(action: string, data: Record<string, unknown> = {}, options?: AckOptions): SendResult | Promise<unknown> {
    if (options?.ack === true) {
      return this.#host.performAcked(this, JSON.stringify({ ...data, action }), options.timeout);
    }
    return this.send({ ...data, action });
  }

  /** Extensions: the members of the presence this subscription watches, by id (with their info). */
  get members(): ReadonlyMap<string, unknown> {
    return this.#host.members(this);
  }

  /** Send `data` to the channel's `receive` (ActionCable's `send`). */
  send(data: Record<string, unknown>): SendResult {
    if (this.#removed || this.#host.isClosed()) return "closed";
    const json = JSON.stringify(data);
    if (this.#confirmed) {
      const result = this.#host.sendMessage(this, json);
      if (result !== "dropped" && result !== "queued") return result;
    }
    if (this.#pending.length >= this.#maxPending) return "dropped";
    this.#pending.push(json);
    return "queued";
  }

  /** Leave the channel; sends `unsubscribe` unless another subscription shares the identifier. */
  unsubscribe(): void {
    if (this.#removed) return;
    this.#host.remove(this);
  }

  // --- used by the consumer -----------------------------------------------------------------

  /** @internal */
  _confirm(): { reconnected: boolean } | null {
    if (this.#confirmed || this.#removed) return null;
    this.#confirmed = true;
    const reconnected = this.#everConfirmed;
    this.#everConfirmed = true;
    // Actions performed while unconfirmed go out now, before anything the callback sends.
    while (this.#pending.length > 0) {
      const result = this.#host.sendMessage(this, this.#pending[0]!);
      if (result !== "sent") break;
      this.#pending.shift();
    }
    return { reconnected };
  }

  /** @internal */
  _unconfirm(): void {
    this.#confirmed = false;
  }

  /** @internal */
  _markRemoved(): void {
    this.#removed = true;
    this.#confirmed = false;
    this.#pending = [];
  }
}
