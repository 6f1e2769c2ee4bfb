/**
 * Channels: the server half of an ActionCable subscription (Rails' ActionCable::Channel::Base).
 *
 * A channel is a class extending {@link Channel}, or a plain object of the same methods (turned
 * into such a class by {@link defineChannel}; its methods get the channel as `this`). One
 * instance per subscription. Its actions, callable by the client with `perform(action, data)`,
 * are the methods the subclass defines, minus `subscribed`, `unsubscribed`, anything starting
 * with "_" and anything `Channel` itself defines; a message without an action calls `receive`.
 * `static params` optionally validates the identifier's params before `subscribed` runs.
 * What an action returns (or resolves to) is the reply of a client's acknowledged `perform`
 * (docs/channels.md, "Acknowledgements"); throw an {@link ActionError} to answer with a code.
 */
import { CableError } from "../cable/errors.js";
import { encodeMessage } from "../cable/protocol.js";
import type { StreamPosition } from "./brokers/stream-history.js";
import type { PresenceJoin, PresenceMember } from "./brokers/stream-presence.js";
import { broadcastingFor, channelName, type Streamable } from "./naming.js";

/** Identifier params: the decoded identifier (it includes `channel`, as in Rails). */
export type ChannelParams = Record<string, unknown>;

/** Returns true or the (possibly transformed) params to accept; false or a throw rejects. */
export type ParamsValidator = (params: ChannelParams) => boolean | ChannelParams;

/** `streamFrom` options. */
export interface StreamOptions {
  /** Get the decoded messages here instead of relaying them to the client (Rails' block form). */
  callback?: (message: unknown, position?: StreamPosition) => void;
  /**
   * Also send this subscriber the stream's presence: the members once, then changes
   * (docs/channels.md, "Presence"). Needs a broker with presence (all of ours).
   */
  presence?: boolean;
  /**
   * On a stream that keeps history: a new subscriber (not one resuming) first gets the last
   * `recent` retained messages, in order, then the live ones.
   */
  recent?: number;
}

/**
 * Thrown by an action to answer an acknowledged `perform` with an error the client sees
 * (`code`, `message`); any other exception answers HANDLER_ERROR without details.
 */
export class ActionError extends Error {
  override readonly name = "ActionError";
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

/** What the connection lends a channel instance (set once, right after construction). */
export interface ChannelBinding {
  readonly identifier: string;
  readonly params: ChannelParams;
  readonly identity: unknown;
  readonly channelName: string;
  /** Send text on the subscription's socket. */
  send(text: string): void;
  /** Start streaming; resolves when the broker delivers it. */
  streamFrom(stream: string, options: StreamOptions): Promise<void>;
  stopStream(stream: string): void;
  stopAllStreams(): void;
  broadcast(stream: string, data: unknown): Promise<void>;
  readonly streams: ReadonlySet<string>;
  joinPresence(stream: string, member: PresenceMember): Promise<PresenceJoin>;
  leavePresence(stream: string): Promise<void>;
  presenceOf(stream: string): Promise<PresenceMember[]>;
}

/** What the cable lends a subscribed channel, kept out of the class users extend. */
interface ChannelState {
  readonly binding: ChannelBinding;
  /** Streams started since the cable last asked (awaited before it confirms). */
  pending: Promise<unknown>[];
}

/** Each subscribed channel's state, set by bindChannel (only the cable binds channels). */
const states = new WeakMap<Channel, ChannelState>();

function stateOf(channel: Channel): ChannelState {
  const state = states.get(channel);
  if (state === undefined) throw new CableError("HANDLER_ERROR", "channel used before it was subscribed");
  return state;
}

export class Channel<Identity = unknown, Params extends ChannelParams = ChannelParams> {
  /** Optional params validation, run before `subscribed`; refusing rejects the subscription. */
  static params?: ParamsValidator;
  /** Name used by streamFor/broadcastTo (default: Rails' channel_name of the registered name). */
  static channelName?: string;

  #rejected = false;

  get #b(): ChannelBinding {
    return stateOf(this).binding;
  }

  /** The identifier string, exactly as the client sent it. */
  get identifier(): string {
    return this.#b.identifier;
  }
  get params(): Params {
    return this.#b.params as Params;
  }
  /** What `authenticate` returned for this connection (Rails' identified_by / current_user). */
  get identity(): Identity {
    return this.#b.identity as Identity;
  }
  get rejected(): boolean {
    return this.#rejected;
  }
  /** Streams this subscription listens to. */
  get streams(): ReadonlySet<string> {
    return this.#b.streams;
  }

  /** Called once the subscription is created; stream and reject from here. */
  subscribed(_params: Params): void | Promise<void> {}
  /** Called when the client unsubscribes, disconnects, or the subscription is rejected. */
  unsubscribed(): void | Promise<void> {}

  /** Refuse the subscription (from `subscribed`): the client gets reject_subscription. */
  reject(): void {
    this.#rejected = true;
  }

  /** Send `data` to this subscriber only: `{"identifier":…,"message":data}`. */
  transmit(data: unknown): void {
    const json = JSON.stringify(data);
    if (json === undefined) throw new TypeError("transmit: data is not JSON-serialisable");
    this.#b.send(encodeMessage(this.identifier, json));
  }

  /**
   * Relay broadcasts on exactly `stream` to this subscriber (or to a callback, with the decoded
   * message; see {@link StreamOptions} for presence and a backlog). The subscription is confirmed
   * only once the broker delivers every stream started in `subscribed`; awaiting the returned
   * promise is optional.
   */
  streamFrom(stream: string, options?: StreamOptions | ((message: unknown) => void)): Promise<void> {
    const state = stateOf(this);
    const p = state.binding.streamFrom(
      String(stream),
      typeof options === "function" ? { callback: options } : (options ?? {}),
    );
    state.pending.push(p);
    return p;
  }

  /** Stream for a model: `${channelName}:${globalIdParam}` as Rails' stream_for. */
  streamFor(model: Streamable, options?: StreamOptions | ((message: unknown) => void)): Promise<void> {
    return this.streamFrom(broadcastingFor(this.#b.channelName, model), options);
  }

  /**
   * Count this subscription in `stream`'s presence as member `id` with `info` (JSON, at most
   * 1 KiB) until `leavePresence`, unsubscribe or disconnect. Several subscriptions (tabs,
   * processes) with one id are one member. Resolves "joined", "present" (the id was there) or
   * "full" (the stream's `maxMembers` reached; not counted).
   */
  joinPresence(stream: string, member: { id: string; info?: unknown }): Promise<PresenceJoin> {
    return this.#b.joinPresence(String(stream), { id: member.id, info: member.info ?? null });
  }

  leavePresence(stream: string): Promise<void> {
    return this.#b.leavePresence(String(stream));
  }

  /** The members of `stream` now, from every process. */
  presenceOf(stream: string): Promise<PresenceMember[]> {
    return this.#b.presenceOf(String(stream));
  }

  stopStream(stream: string): void {
    this.#b.stopStream(String(stream));
  }

  stopStreamFor(model: Streamable): void {
    this.stopStream(broadcastingFor(this.#b.channelName, model));
  }

  stopAllStreams(): void {
    this.#b.stopAllStreams();
  }

  /**
   * Broadcast to every subscriber of `stream`, in every process sharing the broker. Never
   * rejects: a broker failure is reported as the server's `error` (BROKER_UNAVAILABLE).
   */
  broadcast(stream: string, data: unknown): Promise<void> {
    return this.#b.broadcast(stream, data);
  }

  /** Broadcast to the subscribers of `model` on this channel (Rails' broadcast_to). */
  broadcastTo(model: Streamable, data: unknown): Promise<void> {
    return this.#b.broadcast(broadcastingFor(this.#b.channelName, model), data);
  }
}

/** Internal: lend the binding to a new instance. */
export function bindChannel(channel: Channel, binding: ChannelBinding): void {
  states.set(channel, { binding, pending: [] });
}

/** Internal: stream subscriptions started since the last call (awaited before confirming). */
export function takePendingStreams(channel: Channel): Promise<unknown>[] {
  const state = states.get(channel);
  if (state === undefined) return [];
  const list = state.pending;
  state.pending = [];
  return list;
}

// biome-ignore lint/suspicious/noExplicitAny: channel subclasses narrow Identity and Params freely
export type ChannelClass = (new () => Channel<any, any>) & { params?: ParamsValidator; channelName?: string };

/** A channel written as a plain object; methods are called with the channel as `this`. */
export type ChannelObject = {
  params?: ParamsValidator;
  channelName?: string;
  subscribed?: (this: Channel, params: ChannelParams) => void | Promise<void>;
  unsubscribed?: (this: Channel) => void | Promise<void>;
} & { [action: string]: unknown } & ThisType<Channel>;

export type ChannelDefinition = ChannelClass | ChannelObject;

const BASE_NAMES = new Set(Object.getOwnPropertyNames(Channel.prototype));
const actionCache = new WeakMap<object, ReadonlySet<string>>();

/** The public actions of a channel class (cached). */
export function actionsOf(cls: ChannelClass): ReadonlySet<string> {
  let actions = actionCache.get(cls);
  if (actions !== undefined) return actions;
  const found = new Set<string>();
  for (let proto = cls.prototype; proto && proto !== Channel.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (BASE_NAMES.has(name) || name.startsWith("_")) continue;
      const desc = Object.getOwnPropertyDescriptor(proto, name);
      if (desc !== undefined && typeof desc.value === "function") found.add(name);
    }
  }
  actions = found;
  actionCache.set(cls, actions);
  return actions;
}

/** Turn a plain-object channel into a class (classes pass through unchanged). */
export function defineChannel(name: string, definition: ChannelDefinition): ChannelClass {
  if (typeof definition === "function") {
    if (!(definition.prototype instanceof Channel)) {
      throw new TypeError(`channel ${name}: a class must extend Channel`);
    }
    return definition;
  }
  const cls = class extends Channel {};
  Object.defineProperty(cls, "name", { value: name });
  for (const [key, value] of Object.entries(definition)) {
    if (key === "params" || key === "channelName") continue;
    if (typeof value !== "function") continue;
    Object.defineProperty(cls.prototype, key, { value, writable: true, configurable: true });
  }
  if (typeof definition.params === "function") cls.params = definition.params;
  if (typeof definition.channelName === "string") cls.channelName = definition.channelName;
  return cls;
}

export function channelNameOf(registeredName: string, cls: ChannelClass): string {
  return cls.channelName ?? channelName(registeredName);
}
