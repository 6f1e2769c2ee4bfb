/**
 * One client connection of the cable server: authentication, the command loop and its
 * subscriptions (Rails' Connection::Base + Connection::Subscriptions).
 *
 * Contract:
 * - Commands are handled one at a time, in arrival order (each awaits the previous one's channel
 *   callbacks). Commands arriving while `authenticate` runs are buffered, as Rails does.
 * - Nothing a client sends can throw out of `receive`: bad commands are reported through
 *   `report` (the server's `error` event) and ignored, as Rails logs and ignores them.
 * - A command refused by a limit never vanishes silently: it is reported, and the client sees
 *   why, as a close it can act on (the ActionCable protocol has no per-command error): over
 *   `maxCommandSize` 1009, over `rateLimit` 1008, more than MAX_QUEUED_COMMANDS waiting 1013.
 *   Limits are checked before parsing (size) or before queueing (rate).
 * - `closed()` unsubscribes everything (running `unsubscribed` callbacks) exactly once.
 * - Connections that negotiated the extensions (src/cable/extensions.ts) get: positions in the
 *   confirmation and on broadcasts of streams keeping history, resumption from the client's
 *   positions (subscribe with `history`, or the `history` command) answered by confirm_history or
 *   reject_history, acknowledgements of `message` commands with an `id` (acks.ts), and presence
 *   messages. Other connections get Rails' protocol only; the extensions' commands are unknown.
 */
import { Buffer } from "node:buffer";
import { randomUUID } from "node:crypto";
import { CableError, UnauthorizedError } from "../cable/errors.js";
import {
  encodeAck,
  encodeConfirmExt,
  encodeConfirmHistory,
  encodeRejectHistory,
  encodeWelcomeExt,
  errorOutcome,
  type Feature,
  type HistoryRequest,
  PROTOCOL_V1_EXT_JSON,
  replyOutcome,
} from "../cable/extensions.js";
import {
  type CableCommand,
  DisconnectReason,
  encodeConfirm,
  encodeDisconnect,
  encodeReject,
  parseCommand,
  WELCOME,
} from "../cable/protocol.js";
import { TokenBucket } from "../node/index.js";
import { AckLedger } from "./acks.js";
import {
  bindSubscription,
  leavePresence,
  newSubscription,
  preparedResyncs,
  prepareStreams,
  type Subscription,
  startPositions,
  startStreams,
} from "./cable-subscription.js";
import {
  ActionError,
  actionsOf,
  bindChannel,
  type ChannelBinding,
  type ChannelClass,
  type ChannelParams,
  takePendingStreams,
} from "./channel.js";
import type { ListEntry } from "./connection-list.js";
import type { PresenceHub } from "./presence-hub.js";
import type { Prepared, StreamHub } from "./stream-hub.js";
import type { CableRequest, CableTransport } from "./transport.js";

export interface CableLimits {
  /** Subscriptions per connection; more are rejected. Default 100. */
  maxSubscriptions?: number;
  /**
   * Bytes per command (UTF-8). Default 64 MiB, Rails' (websocket-driver's frame limit); a larger
   * command closes the connection with 1009 (0: no limit). Lower it for untrusted clients.
   */
  maxCommandSize?: number;
  /** Opt-in: at most `commands` per `interval` ms per connection; the one beyond closes with 1008. */
  rateLimit?: { commands: number; interval: number };
}

/**
 * 100 subscriptions: real pages subscribe to a handful of channels; each subscription costs a
 * channel instance and stream listeners, so a client must not create them without bound.
 * 64 MiB per command: at least what Rails accepts (it sets no command limit of its own;
 * websocket-driver, under it, refuses messages over 2^26 - 1 bytes with 1009), so a `perform`
 * that works against Rails works here. Most applications want far less: set `maxCommandSize`.
 */
export const DEFAULT_LIMITS = { maxSubscriptions: 100, maxCommandSize: 64 * 1024 * 1024 } as const;

/**
 * Commands queued per connection (waiting for `authenticate`, or behind a slow action): 1024.
 * A page subscribing to its channels at load sends tens; beyond a thousand unanswered commands a
 * client is sending faster than its channels can answer: the connection is closed with 1013
 * ("try again later") and reported as RATE_LIMITED, instead of growing memory without bound.
 */
export const MAX_QUEUED_COMMANDS = 1024;

/** What a connection needs from its server. */
export interface ConnectionHost {
  readonly hub: StreamHub;
  readonly presence: PresenceHub;
  readonly acks: AckLedger;
  /** Listed in the extensions' welcome. */
  readonly features: readonly Feature[];
  resolveChannel(name: string): { cls: ChannelClass; channelName: string } | undefined;
  broadcast(stream: string, data: unknown): Promise<void>;
  authenticate?: (request: CableRequest) => unknown;
  report(err: CableError, connection: CableConnection): void;
  /** Called once the welcome is sent (the server starts pinging it) and once closed. */
  opened(connection: CableConnection): void;
  closedConnection(connection: CableConnection): void;
  readonly limits: Required<Omit<CableLimits, "rateLimit">> & Pick<CableLimits, "rateLimit">;
}

const State = { authenticating: 0, open: 1, closed: 2 } as const;
type State = (typeof State)[keyof typeof State];

export class CableConnection {
  readonly transport: CableTransport;
  readonly request: CableRequest | undefined;
  #identity: unknown;
  #state: State = State.authenticating;
  readonly #host: ConnectionHost;
  readonly #subscriptions = new Map<string, Subscription>();
  #queue: Promise<void> = Promise.resolve();
  #queued = 0;
  #closing: Promise<void> | undefined;
  #buffered: string[] = [];
  /** The `rateLimit` budget, when one is set. */
  readonly #bucket: TokenBucket | undefined;
  /** The extensions were negotiated (extensions.ts). */
  readonly #ext: boolean;
  /** Prefix of this connection's presence sessions (made on the first join). */
  #sessionPrefix: string | undefined;
  #sessions = 0;
  /** Its places in the server's lists of every connection and of the welcomed ones. @internal */
  allEntry: ListEntry<CableConnection> | null = null;
  /** @internal */
  openEntry: ListEntry<CableConnection> | null = null;

  constructor(host: ConnectionHost, transport: CableTransport, request?: CableRequest) {
    this.#host = host;
    this.transport = transport;
    this.request = request;
    this.#ext = transport.protocol === PROTOCOL_V1_EXT_JSON;
    const limit = host.limits.rateLimit;
    this.#bucket = limit !== undefined ? new TokenBucket(limit.commands, limit.interval, Date.now()) : undefined;
    void this.#authenticate();
  }

  /** What `authenticate` returned. */
  get identity(): unknown {
    return this.#identity;
  }
  get isOpen(): boolean {
    return this.#state === State.open;
  }
  /** @internal Closed already (its `closedConnection` ran): a `connect` listener may close it while it is made. */
  get isClosed(): boolean {
    return this.#state === State.closed;
  }
  /** Whether this connection speaks the extensions (acks, history, presence). */
  get extended(): boolean {
    return this.#ext;
  }
  /** Identifiers of the current subscriptions (confirmed or not). */
  get identifiers(): string[] {
    return [...this.#subscriptions.keys()];
  }

  async #authenticate(): Promise<void> {
    const auth = this.#host.authenticate;
    if (auth !== undefined) {
      try {
        const identity = await auth(this.request ?? { headers: {} });
        if (this.#state === State.closed) return;
        this.#identity = identity;
      } catch (err) {
        if (!(err instanceof UnauthorizedError)) {
          this.#report(new CableError("AUTHENTICATION_ERROR", "authenticate threw", { cause: err }));
        }
        // Rails: reject_unauthorized_connection -> close(reason: unauthorized, reconnect: false).
        this.disconnect(DisconnectReason.unauthorized, false);
        return;
      }
    }
    if (this.#state === State.closed) return;
    this.#state = State.open;
    this.transport.send(this.#ext ? encodeWelcomeExt(this.#host.features) : WELCOME);
    this.#host.opened(this);
    const buffered = this.#buffered;
    this.#buffered = [];
    for (const text of buffered) this.receive(text);
  }

  /** Feed one text message from the socket. Never throws. */
  receive(text: string): void {
    if (this.#state === State.closed) return;
    const max = this.#host.limits.maxCommandSize;
    if (max > 0 && text.length * 3 > max && (text.length > max || Buffer.byteLength(text) > max)) {
      this.#refuse(1009, "command too large", new CableError("COMMAND_TOO_LARGE", `command larger than ${max} bytes`));
      return;
    }
    if (this.#state === State.authenticating) {
      if (this.#buffered.length >= MAX_QUEUED_COMMANDS) {
        this.#refuse(
          1013,
          "too many commands waiting",
          new CableError("RATE_LIMITED", "too many commands before authentication"),
        );
        return;
      }
      this.#buffered.push(text);
      return;
    }
    if (!this.#takeToken()) {
      this.#refuse(1008, "command rate limit exceeded", new CableError("RATE_LIMITED", "command rate limit exceeded"));
      return;
    }
    const command = parseCommand(text);
    if (command instanceof CableError) {
      this.#report(command);
      return;
    }
    if (this.#queued >= MAX_QUEUED_COMMANDS) {
      this.#refuse(1013, "too many commands waiting", new CableError("RATE_LIMITED", "too many commands waiting"));
      return;
    }
    this.#queued++;
    this.#queue = this.#queue.then(async () => {
      await this.#execute(command);
      this.#queued--;
    });
  }

  #takeToken(): boolean {
    return this.#bucket === undefined || this.#bucket.take(Date.now());
  }

  async #execute(command: CableCommand): Promise<void> {
    if (this.#state !== State.open) return;
    try {
      switch (command.command) {
        case "subscribe":
          return await this.#subscribe(command.identifier, command.params, this.#ext ? command.history : undefined);
        case "unsubscribe":
          return await this.#unsubscribe(command.identifier);
        case "message":
          if (command.id !== undefined && this.#ext) return await this.#performAcked(command);
          await this.#perform(command.identifier, command.data);
          return;
        case "history":
          if (!this.#ext) {
            this.#report(new CableError("UNKNOWN_COMMAND", "unrecognized command: history"));
            return;
          }
          return await this.#history(command.identifier, command.history);
      }
    } catch (err) {
      this.#report(new CableError("HANDLER_ERROR", `${command.command} failed`, { cause: err }));
    }
  }

  async #subscribe(identifier: string, params: ChannelParams, resume?: HistoryRequest): Promise<void> {
    // Rails: AlreadySubscribedError, logged; nothing is sent (the first subscription stays).
    if (this.#subscriptions.has(identifier)) {
      this.#report(new CableError("ALREADY_SUBSCRIBED", `already subscribed to ${identifier}`));
      return;
    }
    const send = (text: string) => this.transport.send(text);
    if (this.#subscriptions.size >= this.#host.limits.maxSubscriptions) {
      this.#report(new CableError("TOO_MANY_SUBSCRIPTIONS", `more than ${this.#host.limits.maxSubscriptions}`));
      send(encodeReject(identifier));
      return;
    }
    const name = params.channel as string;
    const found = this.#host.resolveChannel(name);
    if (found === undefined) {
      this.#report(new CableError("CHANNEL_NOT_FOUND", `channel not found: ${name.slice(0, 100)}`));
      send(encodeReject(identifier));
      return;
    }
    let accepted: ChannelParams = params;
    if (found.cls.params !== undefined) {
      let verdict: boolean | ChannelParams;
      try {
        verdict = found.cls.params(params);
      } catch (err) {
        verdict = false;
        this.#report(new CableError("INVALID_PARAMS", `${name}: params refused`, { cause: err }));
      }
      if (verdict === false) {
        this.#report(new CableError("INVALID_PARAMS", `${name}: params refused`));
        send(encodeReject(identifier));
        return;
      }
      if (typeof verdict === "object" && verdict !== null) accepted = verdict;
    }

    const channel = new found.cls();
    const sub = newSubscription(identifier, channel);
    bindChannel(channel, this.#binding(sub, accepted, found.channelName));
    this.#subscriptions.set(identifier, sub);
    try {
      await channel.subscribed(accepted);
      await Promise.all(takePendingStreams(channel));
    } catch (err) {
      // Rails logs and sends nothing, and its client then retries every 500 ms forever;
      // we reject instead, so the client hears about it once.
      this.#report(new CableError("HANDLER_ERROR", `${name}#subscribed threw`, { cause: err }));
      channel.reject();
    }
    if (this.#subscriptions.get(identifier) !== sub) return; // unsubscribed meanwhile
    if (channel.rejected) {
      // Rails' reject_subscription: remove (running `unsubscribed`), then transmit the rejection.
      await this.#remove(sub);
      if (this.#state === State.open) send(encodeReject(identifier));
      return;
    }
    if (this.#state !== State.open) return;
    // Streams keeping history start where the client was (resume), or here and now: their
    // listeners held every message since streamFrom; the confirmation comes first, then those.
    const prepared = await prepareStreams(this.#host.hub, sub, resume);
    if (this.#subscriptions.get(identifier) !== sub || this.#state !== State.open) return;
    sub.confirmed = true;
    send(this.#ext ? encodeConfirmExt(identifier, startPositions(prepared)) : encodeConfirm(identifier));
    this.#go(sub, prepared, resume !== undefined);
  }

  /** The history command: resume the subscription's streams named in `request`. */
  async #history(identifier: string, request: HistoryRequest): Promise<void> {
    const sub = this.#subscriptions.get(identifier);
    if (sub === undefined || !sub.confirmed) {
      this.#report(new CableError("UNKNOWN_SUBSCRIPTION", `history: not subscribed to ${identifier}`));
      return;
    }
    const prepared = await prepareStreams(this.#host.hub, sub, request, true);
    if (this.#subscriptions.get(identifier) !== sub || this.#state !== State.open) return;
    this.#go(sub, prepared, true);
  }

  /**
   * Starts the prepared streams. The client hears of streams it cannot resume first (with the
   * position each restarts from), then gets their messages; then confirm_history when it asked
   * and everything came, or reject_history for live messages lost while catching up.
   */
  #go(sub: Subscription, prepared: Map<string, Prepared>, answer: boolean): void {
    const before = this.#ext ? preparedResyncs(prepared) : undefined;
    if (before !== undefined) this.transport.send(encodeRejectHistory(sub.identifier, before));
    const lost = startStreams(this.#host.hub, sub, prepared);
    if (!this.#ext) return;
    if (lost !== undefined) this.transport.send(encodeRejectHistory(sub.identifier, lost));
    else if (answer && before === undefined) this.transport.send(encodeConfirmHistory(sub.identifier));
  }

  #binding(sub: Subscription, params: ChannelParams, channelName: string): ChannelBinding {
    return bindSubscription(sub, {
      hub: this.#host.hub,
      presence: this.#host.presence,
      transport: this.transport,
      ext: this.#ext,
      identity: this.#identity,
      params,
      channelName,
      isOpen: () => this.#state === State.open,
      newSession: () => this.#newSession(),
      // Never rejects: actions often fire and forget, and an unhandled rejection would end the
      // process when the broker is down. Failures are reported (BROKER_UNAVAILABLE) instead.
      broadcast: (stream, data) =>
        this.#host.broadcast(stream, data).catch((err) => {
          this.#report(new CableError("BROKER_UNAVAILABLE", `broadcast to ${stream} failed`, { cause: err }));
        }),
    });
  }

  async #unsubscribe(identifier: string): Promise<void> {
    const sub = this.#subscriptions.get(identifier);
    if (sub === undefined) {
      this.#report(new CableError("UNKNOWN_SUBSCRIPTION", `unsubscribe: not subscribed to ${identifier}`));
      return;
    }
    await this.#remove(sub);
  }

  async #remove(sub: Subscription): Promise<void> {
    if (this.#subscriptions.get(sub.identifier) !== sub) return;
    this.#subscriptions.delete(sub.identifier);
    sub.channel.stopAllStreams(); // Rails: on_unsubscribe :stop_all_streams
    leavePresence(this.#host.presence, sub, (stream, err) => {
      this.#report(new CableError("BROKER_ERROR", `presence leave of ${stream} failed`, { cause: err }));
    });
    try {
      await sub.channel.unsubscribed();
    } catch (err) {
      this.#report(new CableError("HANDLER_ERROR", "unsubscribed threw", { cause: err }));
    }
  }

  /** The subscription and action a `message` command names, or why there is none. */
  #action(identifier: string, data: Record<string, unknown>) {
    const sub = this.#subscriptions.get(identifier);
    if (sub === undefined) {
      return new CableError("UNKNOWN_SUBSCRIPTION", `message: not subscribed to ${identifier}`);
    }
    if (sub.channel.rejected) return undefined;
    // Rails: (data["action"].presence || :receive), and only the channel's own public methods.
    const action = typeof data.action === "string" && data.action !== "" ? data.action : "receive";
    const cls = sub.channel.constructor as ChannelClass;
    if (!actionsOf(cls).has(action)) {
      return new CableError("ACTION_NOT_FOUND", `${cls.name}#${action.slice(0, 100)} is not an action`);
    }
    const method = (sub.channel as unknown as Record<string, (data: unknown) => unknown>)[action]!;
    return () => method.call(sub.channel, data);
  }

  async #perform(identifier: string, data: Record<string, unknown>): Promise<unknown> {
    const run = this.#action(identifier, data);
    if (run instanceof CableError) {
      this.#report(run);
      return undefined;
    }
    return run === undefined ? undefined : await run();
  }

  /** A `message` with an `id`: run at most once per id, answered with the outcome (acks.ts). */
  async #performAcked(command: { identifier: string; data: Record<string, unknown>; id?: string }): Promise<void> {
    const { identifier, data } = command;
    const id = command.id!;
    const ack = (outcome: string) => {
      if (this.#state === State.open) this.transport.send(encodeAck(identifier, id, outcome));
    };
    const run = this.#action(identifier, data);
    if (run instanceof CableError || run === undefined) {
      // Nothing ran, nothing is recorded: a retry once subscribed may still run it.
      const error = run ?? new CableError("UNKNOWN_SUBSCRIPTION", "the subscription was rejected");
      this.#report(error);
      ack(errorOutcome(error.code, error.message));
      return;
    }
    const outcome = await this.#host.acks.run(AckLedger.key(identifier, id), async () => {
      try {
        return replyOutcome(await run());
      } catch (err) {
        if (err instanceof ActionError) return errorOutcome(err.code, err.message);
        this.#report(new CableError("HANDLER_ERROR", "message failed", { cause: err }));
        return errorOutcome("HANDLER_ERROR", "the action failed");
      }
    });
    if (outcome !== undefined) ack(outcome);
  }

  #newSession(): string {
    this.#sessionPrefix ??= randomUUID();
    return `${this.#sessionPrefix}:${++this.#sessions}`;
  }

  /** A limit refused a command: report it, and close with `code` so that the client knows. */
  #refuse(code: number, reason: string, err: CableError): void {
    this.#report(err);
    this.transport.close(code, reason);
    void this.closed();
  }

  /** Send a disconnect message and close (Rails' Connection#close). */
  disconnect(reason: DisconnectReason | string, reconnect: boolean): void {
    if (this.#state === State.closed) return;
    this.transport.send(encodeDisconnect(reason, reconnect));
    this.transport.close(1000, "");
    void this.closed();
  }

  /**
   * The socket closed: unsubscribe everything, once. Every call returns the same promise, which
   * resolves when the `unsubscribed` callbacks have run.
   */
  closed(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#state = State.closed;
    this.#buffered = [];
    this.#host.closedConnection(this);
    await this.#queue; // let a running command finish first
    for (const sub of [...this.#subscriptions.values()]) await this.#remove(sub);
  }

  #report(err: CableError): void {
    this.#host.report(err, this);
  }
}
