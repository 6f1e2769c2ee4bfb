/**
 * The consumer's side of the delivery extensions (src/cable/extensions.ts): stream positions
 * for resumption, acknowledged performs, and presence, per subscription identifier.
 *
 * Contract:
 * - Positions: learnt from the confirmation (`streams`), every stamped message, and
 *   `reject_history`; sent back with every resubscription, so the server sends exactly what was
 *   missed. A stamped message at or before the known position is a duplicate and is dropped.
 * - Acks: each acknowledged perform gets an id (a random consumer id plus a counter), is sent
 *   once the subscription is confirmed, again after every reconnection and every `retryInterval`
 *   while unanswered (the server runs it once per id), and settles with the reply, the server's
 *   error (AckError with its code), or AckError "TIMEOUT" after `timeout`; "UNSUPPORTED" when the
 *   server does not speak the extensions, "CLOSED" when the subscription goes.
 * - Presence: `info` replaces the members, `update` applies joins and leaves.
 * Nothing here touches a socket: the consumer sends what `pendingAcks`/`historyFor` return.
 */
import type { HistoryRequest, WirePosition } from "../../cable/extensions.js";
import type { Clock } from "../types.js";

/** How long an acknowledged perform waits for its answer (ms); below the server's `acks.window`. */
export const DEFAULT_ACK_TIMEOUT = 10_000;
/** How often an unanswered acknowledged perform is sent again (ms). */
export const DEFAULT_ACK_RETRY_INTERVAL = 2000;

/** Why an acknowledged perform failed: the server's error code, or TIMEOUT, UNSUPPORTED, CLOSED. */
export class AckError extends Error {
  override readonly name = "AckError";
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

export interface AckOptions {
  /** Wait for the server's acknowledgement (the perform then returns a promise of the reply). */
  ack: true;
  /** Give up after this long (ms). Default: the consumer's `ackTimeout` (10 000). */
  timeout?: number;
}

/** A stream that could not be resumed: where it is now and why (`epoch`, `too_old`). */
export interface ResyncInfo {
  readonly streams: Readonly<Record<string, WirePosition & { reason: string }>>;
}

/** A presence change as a subscription's `presence` callback gets it. */
export interface PresenceChange {
  /** "info": the whole set (first, and after each resubscription); "update": joins and leaves. */
  readonly type: "info" | "update";
  readonly total: number;
  readonly joins: ReadonlyArray<{ id: string; info: unknown }>;
  readonly leaves: ReadonlyArray<{ id: string; info: unknown }>;
  /** Everyone now, by id. */
  readonly members: ReadonlyMap<string, unknown>;
}

interface PendingAck {
  readonly identifier: string;
  readonly id: string;
  readonly data: string;
  readonly owner: object;
  resolve(reply: unknown): void;
  reject(error: AckError): void;
  timer: unknown;
  sentAt: number;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function randomId(): string {
  const bytes = new Uint8Array(9);
  crypto.getRandomValues(bytes);
  let out = "";
  for (const b of bytes) out += (b % 36).toString(36);
  return out;
}

export class DeliveryState {
  readonly #clock: Clock;
  readonly #positions = new Map<string, Map<string, WirePosition>>();
  readonly #presence = new Map<string, Map<string, unknown>>();
  readonly #acks = new Map<string, PendingAck>();
  readonly #prefix = randomId();
  #counter = 0;
  readonly #retryInterval: number;
  readonly #timeout: number;

  constructor(clock: Clock, options: { ackTimeout: number; ackRetryInterval: number }) {
    this.#clock = clock;
    this.#timeout = options.ackTimeout;
    this.#retryInterval = options.ackRetryInterval;
  }

  // --- positions -------------------------------------------------------------------------

  /** The history request of a resubscription (undefined when nothing is known). */
  historyFor(identifier: string): HistoryRequest | undefined {
    const known = this.#positions.get(identifier);
    if (known === undefined || known.size === 0) return undefined;
    return { streams: Object.fromEntries(known) };
  }

  /** Positions named by the server (confirmation, reject_history). */
  learn(identifier: string, streams: unknown): void {
    if (!isRecord(streams)) return;
    for (const [stream, value] of Object.entries(streams)) {
      if (!isRecord(value) || typeof value.epoch !== "string" || typeof value.offset !== "number") continue;
      this.#map(identifier).set(stream, { epoch: value.epoch, offset: value.offset });
    }
  }

  /** A stamped message: false when it is a duplicate (at or before the known position). */
  accept(identifier: string, stream: unknown, epoch: unknown, offset: unknown): boolean {
    if (typeof stream !== "string" || typeof epoch !== "string" || typeof offset !== "number") return true;
    const known = this.#map(identifier);
    const last = known.get(stream);
    if (last !== undefined && last.epoch === epoch && offset <= last.offset) return false;
    known.set(stream, { epoch, offset });
    return true;
  }

  /** The position of `stream` for `identifier` (for tests and diagnostics). */
  position(identifier: string, stream: string): WirePosition | undefined {
    return this.#positions.get(identifier)?.get(stream);
  }

  #map(identifier: string): Map<string, WirePosition> {
    let map = this.#positions.get(identifier);
    if (map === undefined) this.#positions.set(identifier, (map = new Map()));
    return map;
  }

  /** The last subscription with this identifier went: forget everything about it. */
  forget(identifier: string): void {
    this.#positions.delete(identifier);
    this.#presence.delete(identifier);
    for (const ack of [...this.#acks.values()]) {
      if (ack.identifier === identifier) this.#settle(ack, new AckError("CLOSED", "the subscription was removed"));
    }
  }

  // --- acks ------------------------------------------------------------------------------

  /** A new acknowledged perform; the caller sends it when it can (`pendingAcks`). */
  track(identifier: string, data: string, owner: object, timeout?: number): { id: string; promise: Promise<unknown> } {
    const id = `${this.#prefix}-${++this.#counter}`;
    let resolve!: (reply: unknown) => void;
    let reject!: (error: AckError) => void;
    const promise = new Promise<unknown>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const ack: PendingAck = { identifier, id, data, owner, resolve, reject, timer: null, sentAt: -Infinity };
    ack.timer = this.#clock.setTimeout(
      () => this.#settle(ack, new AckError("TIMEOUT", `no acknowledgement within ${timeout ?? this.#timeout} ms`)),
      timeout ?? this.#timeout,
    );
    this.#acks.set(id, ack);
    return { id, promise };
  }

  /**
   * The acks of `identifier` to send now: all of them after a (re)confirmation (`all`), else
   * those unanswered for `retryInterval`.
   */
  pendingAcks(identifier: string | undefined, all: boolean): Array<{ identifier: string; id: string; data: string }> {
    const now = this.#clock.now();
    const out: Array<{ identifier: string; id: string; data: string }> = [];
    for (const ack of this.#acks.values()) {
      if (identifier !== undefined && ack.identifier !== identifier) continue;
      if (!all && now - ack.sentAt < this.#retryInterval) continue;
      ack.sentAt = now;
      out.push({ identifier: ack.identifier, id: ack.id, data: ack.data });
    }
    return out;
  }

  get waitingAcks(): number {
    return this.#acks.size;
  }

  get retryInterval(): number {
    return this.#retryInterval;
  }

  /** An `ack` message. */
  acknowledge(id: unknown, reply: unknown, error: unknown): void {
    if (typeof id !== "string") return;
    const ack = this.#acks.get(id);
    if (ack === undefined) return; // a duplicate answer, or too late
    if (isRecord(error)) {
      this.#settle(ack, new AckError(String(error.code ?? "ERROR"), String(error.message ?? "")));
    } else this.#settle(ack, undefined, reply);
  }

  /** Every ack of `owner` (a subscription) or of everyone fails with `code`. */
  failAll(code: string, message: string, owner?: object): void {
    for (const ack of [...this.#acks.values()]) {
      if (owner === undefined || ack.owner === owner) this.#settle(ack, new AckError(code, message));
    }
  }

  #settle(ack: PendingAck, error: AckError | undefined, reply?: unknown): void {
    if (!this.#acks.delete(ack.id)) return;
    this.#clock.clearTimeout(ack.timer);
    if (error !== undefined) ack.reject(error);
    else ack.resolve(reply);
  }

  // --- presence --------------------------------------------------------------------------

  /** A presence message; returns the change to report (undefined when malformed). */
  presence(identifier: string, message: unknown): PresenceChange | undefined {
    if (!isRecord(message) || (message.type !== "info" && message.type !== "update")) return undefined;
    let members = this.#presence.get(identifier);
    const records = (list: unknown) =>
      Array.isArray(list)
        ? list.filter((r): r is { id: string; info: unknown } => isRecord(r) && typeof r.id === "string")
        : [];
    let joins: Array<{ id: string; info: unknown }>;
    let leaves: Array<{ id: string; info: unknown }> = [];
    if (message.type === "info" || members === undefined) {
      const previous = members ?? new Map<string, unknown>();
      members = new Map();
      this.#presence.set(identifier, members);
      joins = records(message.type === "info" ? message.records : message.joins);
      for (const r of joins) members.set(r.id, r.info);
      if (message.type === "info") {
        leaves = [...previous].filter(([id]) => !members!.has(id)).map(([id, info]) => ({ id, info }));
      }
    } else {
      joins = records(message.joins);
      leaves = records(message.leaves);
      for (const r of joins) members.set(r.id, r.info);
      for (const r of leaves) members.delete(r.id);
    }
    const total = typeof message.total === "number" ? message.total : members.size;
    return { type: message.type, total, joins, leaves, members };
  }

  members(identifier: string): ReadonlyMap<string, unknown> {
    return this.#presence.get(identifier) ?? new Map();
  }
}
