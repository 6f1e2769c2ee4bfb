/**
 * Local fan-out: which subscriptions of this process listen to which stream, one broker
 * subscription per stream however many listeners, and delivery of each broadcast.
 *
 * A broadcast's payload (JSON text, encoded once by whoever broadcast it) is checked once, then
 * wrapped as `{"identifier":…,"message":<payload>}` and framed once per distinct identifier: every
 * socket subscribed with the same identifier (the usual case: all clients of a room) gets the very
 * same prepared frame. The listeners of a stream with the same identifier share one FrameSlot
 * holding that frame, for one broadcast only (so the fan-out reads no identifier and looks nothing
 * up per listener). A listener listens to one stream. Listeners with a callback
 * (Rails' `stream_from name, -> (message) { ... }`) get the decoded message instead.
 *
 * Streams that keep history (`broker.history.keeps(stream)`) are delivered exactly once and in
 * offset order to every listener:
 * - The hub keeps the stream's position (read when its broker subscription became live) and
 *   accepts the next offset only; a gap (messages the broker subscription missed, e.g. while
 *   Redis was unreachable) is filled from `history.since` before anything later is delivered,
 *   and so is everything after a broker reconnection. What history no longer has is reported
 *   to each extension listener as a resync (`reject_history` with the position it restarts
 *   from), followed by everything history still has after that position: a new epoch's
 *   messages from its first retained one.
 * - A listener is `held` from `add` until the connection `prepare`s it (its start: the hub's
 *   position now, optionally after a backlog of `recent` messages, or the missed messages after
 *   a client's position) and `catching` until `go`, which sends what was prepared, then what
 *   arrived meanwhile, and makes it `live`. So a confirmation always precedes the messages.
 * - Listeners of connections with the extensions get frames carrying `stream_id`, `epoch` and
 *   `offset` (a second frame per identifier and broadcast); the others get Rails' frame.
 */

import { CableError } from "../cable/errors.js";
import { encodeRejectHistory, encodeStampedMessage } from "../cable/extensions.js";
import { encodeMessage } from "../cable/protocol.js";
import type { PreparedMessage } from "../node/index.js";
import type { Broker, Unsubscribe } from "./brokers/broker.js";
import type { StreamEntry as HistoryEntry, HistoryFailure, StreamPosition } from "./brokers/stream-history.js";
import type { CableTransport, PrepareText } from "./transport.js";

/** A listener's phase on a stream that keeps history. */
export const Phase = { held: 0, catching: 1, live: 2 } as const;
export type Phase = (typeof Phase)[keyof typeof Phase];

export interface StreamListener {
  readonly identifier: string;
  readonly transport: CableTransport;
  readonly callback?: (message: unknown, position?: StreamPosition) => void;
  /** The connection negotiated the extensions: frames carry positions, resyncs are told. */
  readonly ext?: boolean;
  /** @internal Managed by the hub: the slot shared with the stream's other listeners of this identifier. */
  slot?: FrameSlot;
  /** Managed by the hub (streams that keep history): phase, last position sent, what waits. */
  phase?: Phase;
  position?: StreamPosition;
  buffer?: Array<readonly [string, StreamPosition]>;
  /** Set when the catch-up buffer overflowed or the stream was reset while catching. */
  lost?: { reason: HistoryFailure; position: StreamPosition };
}

/** What `prepare` found for a listener; `go` sends it. */
export type Prepared =
  | { readonly kind: "plain" }
  | { readonly kind: "start"; readonly position: StreamPosition; readonly backlog: readonly HistoryEntry[] }
  | { readonly kind: "resumed"; readonly entries: readonly HistoryEntry[] }
  | {
      readonly kind: "resync";
      readonly reason: HistoryFailure;
      /** Where the listener restarts (told to the client), and what history has after it. */
      readonly position: StreamPosition;
      readonly entries: readonly HistoryEntry[];
    };

/**
 * The frames of one broadcast for the listeners of one stream and identifier (Rails' frame, and the
 * stamped one for connections with the extensions), valid while `at` is that broadcast's number.
 */
interface FrameSlot {
  count: number;
  at: number;
  frame: PreparedMessage | string | undefined;
  stamped: PreparedMessage | string | undefined;
}

interface StreamState {
  readonly listeners: Set<StreamListener>;
  /** Frame slots by identifier, with how many listeners share each. */
  readonly slots: Map<string, FrameSlot>;
  unsubscribe?: Unsubscribe;
  readonly ready: Promise<void>;
  readonly history: boolean;
  /** Last position delivered to the listeners (history streams, once ready). */
  position?: StreamPosition;
  /** Live messages waiting while the hub is not ready or fills a gap, in arrival order. */
  readonly pending: Array<readonly [string, StreamPosition]>;
  filling: boolean;
}

/** Live messages a catching listener keeps at most; beyond, it is resynchronised instead. */
export const MAX_CATCHUP_BUFFER = 10_000;
/** How often a failed gap fill is retried, and how many times before the gap is declared lost. */
const FILL_RETRY_MS = 500;
const FILL_ATTEMPTS = 20;

export class StreamHub {
  readonly #broker: Broker;
  readonly #prepare: PrepareText;
  readonly #report: (err: CableError) => void;
  readonly #streams = new Map<string, StreamState>();
  /** Frames prepared (one per broadcast and identifier) and socket sends, for tests and stats. */
  framesPrepared = 0;
  deliveries = 0;
  /** Messages recovered from history after a gap, and streams reset under live listeners. */
  recovered = 0;
  resyncs = 0;
  /** Broadcasts fanned out so far: a FrameSlot's frames are this one's while `at` equals it. */
  #fanouts = 0;

  constructor(broker: Broker, prepare: PrepareText, report: (err: CableError) => void) {
    this.#broker = broker;
    this.#prepare = prepare;
    this.#report = report;
    broker.on("reconnected", () => {
      // Whatever was published while the broker subscription was down is in history: catch up.
      for (const [stream, state] of this.#streams) if (state.history) this.#fill(stream, state);
    });
  }

  /** Resolves once the broker delivers this stream (Rails defers confirmation until then). */
  add(stream: string, listener: StreamListener): Promise<void> {
    let state = this.#streams.get(stream);
    if (state === undefined) state = this.#create(stream);
    if (state.history) listener.phase = Phase.held;
    if (!state.listeners.has(listener)) {
      let slot = state.slots.get(listener.identifier);
      if (slot === undefined) {
        slot = { count: 0, at: 0, frame: undefined, stamped: undefined };
        state.slots.set(listener.identifier, slot);
      }
      slot.count++;
      listener.slot = slot;
      state.listeners.add(listener);
    }
    return state.ready;
  }

  remove(stream: string, listener: StreamListener): void {
    const state = this.#streams.get(stream);
    if (state === undefined || !state.listeners.delete(listener)) return;
    if (--listener.slot!.count === 0) state.slots.delete(listener.identifier);
    if (state.listeners.size > 0) return;
    this.#streams.delete(stream);
    if (state.unsubscribe !== undefined) {
      state.unsubscribe().catch((err) => {
        this.#report(new CableError("BROKER_ERROR", `unsubscribe from ${stream} failed`, { cause: err }));
      });
    }
  }

  /** Whether `stream` keeps history (its listeners go through prepare and go). */
  keepsHistory(stream: string): boolean {
    return this.#streams.get(stream)?.history ?? this.#broker.history?.keeps(stream) ?? false;
  }

  get streamCount(): number {
    return this.#streams.size;
  }

  listenerCount(stream: string): number {
    return this.#streams.get(stream)?.listeners.size ?? 0;
  }

  /** The hub's position on a stream keeping history (undefined before it is known). */
  position(stream: string): StreamPosition | undefined {
    return this.#streams.get(stream)?.position;
  }

  /**
   * Where a held listener starts: after `resume` (the client's last position: the missed
   * messages, or why they cannot be had), or now, optionally after the last `recent` messages.
   * From here until `go`, live messages wait in the listener.
   */
  async prepare(
    stream: string,
    listener: StreamListener,
    options: { resume?: StreamPosition; recent?: number } = {},
  ): Promise<Prepared> {
    const state = this.#streams.get(stream);
    const history = this.#broker.history;
    if (state === undefined || !state.history || history === undefined || !state.listeners.has(listener)) {
      return { kind: "plain" };
    }
    const sent = listener.phase === Phase.live ? listener.position : undefined;
    listener.phase = Phase.catching;
    listener.buffer = [];
    listener.lost = undefined;
    try {
      if (options.resume !== undefined) {
        // What this connection already sent is not sent again (the history command on a live listener).
        const from =
          sent !== undefined && sent.epoch === options.resume.epoch && sent.offset > options.resume.offset
            ? sent
            : options.resume;
        const read = await history.since(stream, from);
        if (read.ok) {
          listener.position = from;
          return { kind: "resumed", entries: read.entries };
        }
        const { start, entries } = await this.#retained(stream);
        listener.position = start;
        return { kind: "resync", reason: read.reason, position: start, entries };
      }
      const recent = options.recent ?? 0;
      if (recent > 0) {
        const read = await history.recent(stream, recent);
        const first = read.entries[0];
        const start = first === undefined ? read.position : { epoch: first.epoch, offset: first.offset - 1 };
        listener.position = start;
        return { kind: "start", position: start, backlog: read.entries };
      }
      const start = state.position ?? (await history.position(stream));
      listener.position = start;
      return { kind: "start", position: start, backlog: [] };
    } catch (err) {
      this.#report(new CableError("BROKER_ERROR", `history of ${stream} unavailable`, { cause: err }));
      const position = state.position ?? { epoch: "", offset: 0 };
      listener.position = position;
      return { kind: "resync", reason: "too_old", position, entries: [] };
    }
  }

  /**
   * Sends what `prepare` found, then the live messages that waited, and makes the listener live.
   * Returns the resync to report when live messages were lost while it caught up (a "resync"
   * prepared is reported by the caller before `go`, so the client learns its restart position
   * before the messages after it).
   */
  go(
    stream: string,
    listener: StreamListener,
    prepared: Prepared,
  ): { reason: HistoryFailure; position: StreamPosition } | undefined {
    if (prepared.kind === "plain" || !this.#streams.get(stream)?.listeners.has(listener)) return undefined;
    const entries = prepared.kind === "start" ? prepared.backlog : prepared.entries;
    for (const entry of entries) this.#sendOne(stream, listener, entry.payload, entry);
    const buffer = listener.buffer ?? [];
    listener.buffer = undefined;
    listener.phase = Phase.live;
    const lost = listener.lost;
    listener.lost = undefined;
    if (lost !== undefined) {
      listener.position = lost.position;
      return lost;
    }
    for (const [payload, position] of buffer) this.#sendOne(stream, listener, payload, position);
    return undefined;
  }

  /** Everything history still has of the current epoch: where it starts, and the messages. */
  async #retained(stream: string): Promise<{ start: StreamPosition; entries: readonly HistoryEntry[] }> {
    const history = this.#broker.history!;
    const { entries, position } = await history.recent(stream, history.limit);
    const first = entries[0];
    return { start: first === undefined ? position : { epoch: first.epoch, offset: first.offset - 1 }, entries };
  }

  #create(stream: string): StreamState {
    const history = this.#broker.history?.keeps(stream) ?? false;
    const created: StreamState = {
      listeners: new Set(),
      slots: new Map(),
      history,
      pending: [],
      filling: false,
      ready: this.#broker
        .subscribe(stream, (payload, position) => this.#receive(stream, payload, position))
        .then(async (unsubscribe) => {
          if (this.#streams.get(stream) !== created) {
            void unsubscribe(); // everyone left before the broker confirmed
            return;
          }
          created.unsubscribe = unsubscribe;
          if (!history) return;
          try {
            created.position = await this.#broker.history!.position(stream);
          } catch (err) {
            this.#report(new CableError("BROKER_ERROR", `position of ${stream} unavailable`, { cause: err }));
            // Start from the first message that arrives instead.
            created.position = created.pending[0]
              ? { epoch: created.pending[0][1].epoch, offset: created.pending[0][1].offset - 1 }
              : undefined;
          }
          this.#drain(stream, created);
        })
        .catch((err) => {
          this.#report(new CableError("BROKER_ERROR", `subscribe to ${stream} failed`, { cause: err }));
        }),
    };
    this.#streams.set(stream, created);
    return created;
  }

  #receive(stream: string, payload: string, position: StreamPosition | undefined): void {
    const state = this.#streams.get(stream);
    if (state === undefined) return;
    if (!state.history || position === undefined) {
      this.#fanout(stream, state, payload, undefined);
      return;
    }
    if (state.position === undefined || state.filling) {
      state.pending.push([payload, position]);
      return;
    }
    this.#next(stream, state, payload, position);
  }

  /** The in-order gate: the next offset goes out, an old one is dropped, a gap is filled first. */
  #next(stream: string, state: StreamState, payload: string, position: StreamPosition): void {
    const current = state.position!;
    if (position.epoch === current.epoch) {
      if (position.offset <= current.offset) return;
      if (position.offset === current.offset + 1) {
        state.position = position;
        this.#fanout(stream, state, payload, position);
        return;
      }
    }
    state.pending.push([payload, position]);
    this.#fill(stream, state);
  }

  #drain(stream: string, state: StreamState): void {
    if (state.position === undefined) return;
    while (state.pending.length > 0 && !state.filling) {
      const [payload, position] = state.pending.shift()!;
      this.#next(stream, state, payload, position);
    }
  }

  /** Reads what the hub missed since its position and delivers it, then what waited. */
  #fill(stream: string, state: StreamState, attempt = 0): void {
    if (state.filling && attempt === 0) return;
    if (state.position === undefined) return;
    state.filling = true;
    this.#broker.history!.since(stream, state.position).then(
      (read) => {
        if (this.#streams.get(stream) !== state) return;
        if (read.ok) {
          this.#deliverAll(stream, state, read.entries);
          state.filling = false;
          this.#drain(stream, state);
          return;
        }
        // Lost for good: everyone restarts from what history still has, after being told.
        this.#retained(stream).then(
          ({ start, entries }) => {
            if (this.#streams.get(stream) !== state) return;
            this.#reset(stream, state, read.reason, start);
            this.#deliverAll(stream, state, entries);
            state.filling = false;
            this.#drain(stream, state);
          },
          () => {
            this.#reset(stream, state, read.reason, read.position);
            state.filling = false;
            this.#drain(stream, state);
          },
        );
      },
      (err: unknown) => {
        if (this.#streams.get(stream) !== state) return;
        if (attempt + 1 < FILL_ATTEMPTS) {
          setTimeout(() => this.#fill(stream, state, attempt + 1), FILL_RETRY_MS).unref();
          return;
        }
        this.#report(new CableError("BROKER_ERROR", `history of ${stream} unavailable`, { cause: err }));
        const last = state.pending.at(-1)?.[1];
        this.#reset(stream, state, "too_old", last ? { epoch: last.epoch, offset: last.offset - 1 } : state.position!);
        state.filling = false;
        this.#drain(stream, state);
      },
    );
  }

  #deliverAll(stream: string, state: StreamState, entries: readonly HistoryEntry[]): void {
    for (const entry of entries) {
      if (entry.epoch === state.position!.epoch && entry.offset <= state.position!.offset) continue;
      state.position = entry;
      this.recovered++;
      this.#fanout(stream, state, entry.payload, entry);
    }
  }

  /** Messages were lost for good (or the epoch changed): every listener restarts at `position`. */
  #reset(stream: string, state: StreamState, reason: HistoryFailure, position: StreamPosition): void {
    state.position = position;
    this.resyncs++;
    for (const listener of state.listeners) {
      if (listener.phase === Phase.held) continue; // its prepare reads the store afresh
      if (listener.phase === Phase.catching) {
        listener.lost = { reason, position };
        listener.buffer = [];
        continue;
      }
      listener.position = position;
      if (listener.ext && listener.callback === undefined) {
        listener.transport.send(encodeRejectHistory(listener.identifier, { [stream]: { ...position, reason } }));
      }
    }
  }

  #fanout(stream: string, state: StreamState, payload: string, position: StreamPosition | undefined): void {
    let decoded: unknown;
    try {
      decoded = JSON.parse(payload); // once per broadcast: never splice invalid JSON into frames
    } catch {
      this.#report(new CableError("BROKER_ERROR", `broadcast on ${stream} is not JSON; dropped`));
      return;
    }
    const at = ++this.#fanouts;
    const used: FrameSlot[] = [];
    for (const listener of state.listeners) {
      try {
        if (position !== undefined && listener.phase !== Phase.live) {
          if (listener.phase === Phase.catching) this.#hold(listener, payload, position);
          continue;
        }
        if (position !== undefined) {
          const last = listener.position;
          if (last !== undefined && last.epoch === position.epoch && position.offset <= last.offset) continue;
          listener.position = position;
        }
        if (listener.callback !== undefined) {
          listener.callback(decoded, position);
          continue;
        }
        const slot = listener.slot!;
        if (slot.at !== at) {
          slot.at = at;
          slot.frame = undefined;
          slot.stamped = undefined;
          used.push(slot);
        }
        const stamp = listener.ext === true && position !== undefined;
        let frame = stamp ? slot.stamped : slot.frame;
        if (frame === undefined) {
          frame = this.#prepare(
            stamp
              ? encodeStampedMessage(listener.identifier, payload, stream, position!)
              : encodeMessage(listener.identifier, payload),
          );
          if (stamp) slot.stamped = frame;
          else slot.frame = frame;
          this.framesPrepared++;
        }
        listener.transport.send(frame);
        this.deliveries++;
      } catch (err) {
        this.#report(new CableError("HANDLER_ERROR", `stream ${stream} listener failed`, { cause: err }));
      }
    }
    // The frames are this broadcast's only: not kept until the next one.
    for (const slot of used) {
      if (slot.at !== at) continue; // a broadcast from within this one took the slot over
      slot.frame = undefined;
      slot.stamped = undefined;
    }
  }

  #hold(listener: StreamListener, payload: string, position: StreamPosition): void {
    if (listener.lost !== undefined) return;
    const buffer = (listener.buffer ??= []);
    if (buffer.length >= MAX_CATCHUP_BUFFER) {
      listener.lost = { reason: "too_old", position };
      listener.buffer = [];
      return;
    }
    buffer.push([payload, position]);
  }

  /** One message to one listener (history, backlog, or what waited), skipping what it has. */
  #sendOne(stream: string, listener: StreamListener, payload: string, position: StreamPosition): void {
    const last = listener.position;
    if (last !== undefined && last.epoch === position.epoch && position.offset <= last.offset) return;
    listener.position = position;
    try {
      if (listener.callback !== undefined) {
        listener.callback(JSON.parse(payload), position);
        return;
      }
      listener.transport.send(
        listener.ext
          ? encodeStampedMessage(listener.identifier, payload, stream, position)
          : encodeMessage(listener.identifier, payload),
      );
      this.deliveries++;
    } catch (err) {
      this.#report(new CableError("HANDLER_ERROR", `stream ${stream} listener failed`, { cause: err }));
    }
  }
}
