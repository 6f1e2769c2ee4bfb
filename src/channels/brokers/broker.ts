/**
 * The broker interface: how a broadcast reaches every process that has subscribers for a stream.
 *
 * Contract (checked by test/channels/broker-contract.ts against every implementation):
 * - `publish(stream, payload)` delivers `payload` (a string: the broadcast's JSON) to every handler
 *   subscribed to exactly `stream`, in this process and in every other process sharing the
 *   broker, in publish order per publisher. It resolves once the broker accepted the message and
 *   rejects (after emitting `lost`) when it could not be sent: plain pub/sub keeps no backlog.
 * - `subscribe(stream, handler)` resolves once delivery to `handler` is live, to a function that
 *   removes that handler only. Stream names match exactly: no patterns, no prefixes
 *   (Faye's CVE-2020-11020 was a prefix match letting a client read others' channels).
 * - A handler that throws does not stop delivery to the others (reported as `error`).
 * - `close()` releases connections; later calls to publish/subscribe reject.
 * - Events (brokers are EventEmitters with a default `error` listener, so nothing crashes):
 *   `error` (err), `lost` ({ stream, payload, reason }), `disconnected`, `reconnected` ({ streams, downtimeMs }).
 *
 * Optional capabilities (every broker of this package offers them; each has its own contract,
 * in its module, and its own contract suite):
 * - `history` (stream-history.ts): streams that keep history stamp each message with an epoch
 *   and offset, passed to handlers as the second argument; publishes on such a stream reach
 *   every handler (this process's too) through the one place that orders them, in offset order.
 * - `presence` (stream-presence.ts): join/leave of members per stream, across processes.
 * - `dedup` (dedup.ts): command ids claimed once within a window, across processes.
 */
import { EventEmitter } from "node:events";
import { type EmitterBase, OptionError, type TypedEvents } from "../../node/index.js";
import type { Deduplicator } from "./dedup.js";
import type { StreamHistory, StreamPosition } from "./stream-history.js";
import type { StreamPresence } from "./stream-presence.js";

/**
 * Streams named with this prefix are the library's own (the fallback relay's, see
 * fallback-relay.ts): no history is kept for them, and no channel should stream from them.
 */
export const INTERNAL_STREAM_PREFIX = "\u0000wirecable/";

export function isInternalStream(stream: string): boolean {
  return stream.startsWith(INTERNAL_STREAM_PREFIX);
}

/** `position` is set for streams that keep history (see `Broker.history`). */
export type BrokerHandler = (payload: string, position?: StreamPosition) => void;
export type Unsubscribe = () => Promise<void>;

export interface Broker {
  publish(stream: string, payload: string): Promise<void>;
  subscribe(stream: string, handler: BrokerHandler): Promise<Unsubscribe>;
  close(): Promise<void>;
  /** Stream history, when the broker was created with `history` options. */
  readonly history?: StreamHistory;
  /** Presence of members per stream. */
  readonly presence?: StreamPresence;
  /** Command deduplication shared by the processes using the broker. */
  readonly dedup?: Deduplicator;
  on(event: "error", listener: (err: Error) => void): this;
  on(event: "lost", listener: (info: LostMessage) => void): this;
  on(event: "disconnected", listener: () => void): this;
  on(event: "reconnected", listener: (info: { streams: number; downtimeMs: number }) => void): this;
  off(event: "error", listener: (err: Error) => void): this;
  off(event: "lost", listener: (info: LostMessage) => void): this;
  off(event: "disconnected", listener: () => void): this;
  off(event: "reconnected", listener: (info: { streams: number; downtimeMs: number }) => void): this;
}

export interface LostMessage {
  stream: string;
  payload: string;
  reason: string;
}

/** A broker's events and their listeners' arguments. */
export interface BrokerEvents {
  error: [error: Error];
  lost: [info: LostMessage];
  disconnected: [];
  reconnected: [info: { streams: number; downtimeMs: number }];
}

export interface BaseBroker extends TypedEvents<BrokerEvents> {}

/** The longest delay a Node timer keeps: a longer one fires at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A broker's timeout option, checked when the broker is constructed, before it starts anything:
 * undefined (the default), or a number of ms from `min` to 2^31 - 1. Anything else throws an
 * OptionError naming `<owner>.<option>` (NaN, a negative or a longer delay would otherwise reach
 * a timer and fire at once; a string or null is refused rather than coerced).
 */
export function checkTimeout(owner: string, option: string, value: unknown, min: number): void {
  if (value === undefined) return;
  if (typeof value === "number" && value >= min && value <= MAX_TIMER_MS) return;
  throw new OptionError(
    `${owner}.${option}`,
    `expected a number of ms from ${min} to ${MAX_TIMER_MS}, got ${typeof value === "string" ? `"${value}"` : String(value)}`,
  );
}

/** Shared plumbing: handler bookkeeping per stream and safe dispatch. */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the interface adds the typed event methods (node/typed-events.ts)
export abstract class BaseBroker extends (EventEmitter as EmitterBase) {
  protected readonly handlers = new Map<string, Set<BrokerHandler>>();
  protected closed = false;
  /** Messages that could not be published (counted once each; see the `lost` event). */
  lostCount = 0;

  constructor() {
    super();
    this.on("error", () => {}); // default listener: an unheard broker error never crashes
  }

  protected dispatch(stream: string, payload: string, position?: StreamPosition): void {
    const set = this.handlers.get(stream);
    if (set === undefined) return;
    for (const handler of set) {
      try {
        handler(payload, position);
      } catch (err) {
        this.emit("error", err instanceof Error ? err : new Error(String(err)));
      }
    }
  }

  /** Adds the handler; returns true when it is the stream's first one. */
  protected addHandler(stream: string, handler: BrokerHandler): boolean {
    let set = this.handlers.get(stream);
    const first = set === undefined;
    if (set === undefined) this.handlers.set(stream, (set = new Set()));
    set.add(handler);
    return first;
  }

  /** Removes the handler; returns true when the stream has no handler left. */
  protected removeHandler(stream: string, handler: BrokerHandler): boolean {
    const set = this.handlers.get(stream);
    if (set === undefined || !set.delete(handler)) return false;
    if (set.size > 0) return false;
    this.handlers.delete(stream);
    return true;
  }

  protected recordLost(stream: string, payload: string, reason: string): void {
    this.lostCount++;
    this.emit("lost", { stream, payload, reason } satisfies LostMessage);
  }

  protected assertOpen(): void {
    if (this.closed) throw new Error("broker is closed");
  }
}
