/**
 * Local fan-out: which subscriptions of this process listen to which stream, one broker
 * subscription per stream however many listeners, and delivery of each broadcast.
 *
 * A broadcast's payload (JSON text, encoded once by whoever broadcast it) is checked once, then
 * wrapped as `{"identifier":…,"message":<payload>}` and framed once per distinct identifier: every
 * socket subscribed with the same identifier (the usual case: all clients of a room) gets the very
 * same prepared frame. The cache lives for one broadcast only. Listeners with a callback
 * (Rails' `stream_from name, -> (message) { ... }`) get the decoded message instead.
 */

import { CableError } from "../cable/errors.js";
import { encodeMessage } from "../cable/protocol.js";
import type { Broker, Unsubscribe } from "./brokers/broker.js";
import type { CableTransport, PreparedFrame, PrepareText } from "./transport.js";

export interface StreamListener {
  readonly identifier: string;
  readonly transport: CableTransport;
  readonly callback?: (message: unknown) => void;
}

interface StreamEntry {
  readonly listeners: Set<StreamListener>;
  unsubscribe?: Unsubscribe;
  readonly ready: Promise<void>;
}

export class StreamHub {
  readonly #broker: Broker;
  readonly #prepare: PrepareText;
  readonly #report: (err: CableError) => void;
  readonly #streams = new Map<string, StreamEntry>();
  /** Frames prepared (one per broadcast and identifier) and socket sends, for tests and stats. */
  framesPrepared = 0;
  deliveries = 0;

  constructor(broker: Broker, prepare: PrepareText, report: (err: CableError) => void) {
    this.#broker = broker;
    this.#prepare = prepare;
    this.#report = report;
  }

  /** Resolves once the broker delivers this stream (Rails defers confirmation until then). */
  add(stream: string, listener: StreamListener): Promise<void> {
    let entry = this.#streams.get(stream);
    if (entry === undefined) {
      const listeners = new Set<StreamListener>();
      const created: StreamEntry = {
        listeners,
        ready: this.#broker
          .subscribe(stream, (payload) => this.#deliver(stream, payload))
          .then(
            (unsubscribe) => {
              if (this.#streams.get(stream) === created) created.unsubscribe = unsubscribe;
              else void unsubscribe(); // everyone left before the broker confirmed
            },
            (err) => {
              this.#report(new CableError("BROKER_ERROR", `subscribe to ${stream} failed`, { cause: err }));
            },
          ),
      };
      entry = created;
      this.#streams.set(stream, entry);
    }
    entry.listeners.add(listener);
    return entry.ready;
  }

  remove(stream: string, listener: StreamListener): void {
    const entry = this.#streams.get(stream);
    if (entry === undefined || !entry.listeners.delete(listener) || entry.listeners.size > 0) return;
    this.#streams.delete(stream);
    if (entry.unsubscribe !== undefined) {
      entry.unsubscribe().catch((err) => {
        this.#report(new CableError("BROKER_ERROR", `unsubscribe from ${stream} failed`, { cause: err }));
      });
    }
  }

  get streamCount(): number {
    return this.#streams.size;
  }

  listenerCount(stream: string): number {
    return this.#streams.get(stream)?.listeners.size ?? 0;
  }

  #deliver(stream: string, payload: string): void {
    const entry = this.#streams.get(stream);
    if (entry === undefined) return;
    let decoded: unknown;
    try {
      decoded = JSON.parse(payload); // once per broadcast: never splice invalid JSON into frames
    } catch {
      this.#report(new CableError("BROKER_ERROR", `broadcast on ${stream} is not JSON; dropped`));
      return;
    }
    const frames = new Map<string, PreparedFrame | string>();
    for (const listener of entry.listeners) {
      try {
        if (listener.callback !== undefined) {
          listener.callback(decoded);
          continue;
        }
        let frame = frames.get(listener.identifier);
        if (frame === undefined) {
          frame = this.#prepare(encodeMessage(listener.identifier, payload));
          frames.set(listener.identifier, frame);
          this.framesPrepared++;
        }
        listener.transport.send(frame);
        this.deliveries++;
      } catch (err) {
        this.#report(new CableError("HANDLER_ERROR", `stream ${stream} listener failed`, { cause: err }));
      }
    }
  }
}
