/**
 * Order around extension transforms (RFC 6455 section 9), for an engine with negotiated
 * extensions: a transform may finish later (permessage-deflate's zlib runs off the thread), and
 * nothing may overtake a message being transformed, in either direction.
 *
 * Contract:
 * - {@link ExtensionFlow#receive} transforms a received message (whole, from the assembler) and
 *   commits its event in order: events pushed with {@link ExtensionFlow#event} meanwhile (a
 *   ping, a close) wait behind it. {@link ExtensionFlow#send} transforms a message to send and
 *   frames it in order: frames pushed with {@link ExtensionFlow#frame} meanwhile wait behind it.
 *   A transform that throws or rejects fails the connection, in its turn.
 * - {@link ExtensionFlow#afterFramed} runs a callback once everything sent before it has been
 *   framed; at once when nothing waits. {@link ExtensionFlow#abandon} (the connection ended)
 *   drops what waits to be framed and runs every waiting callback now.
 * - The engine owns the flow and tells it when the connection is over ({@link ExtensionFlow#close}:
 *   the sessions are released once).
 */
import type { ExtensionSession } from "./extensions/extension.js";
import { ExtensionPipeline, type OutgoingMessage } from "./extensions/extension-pipeline.js";
import { OrderedQueue } from "./ordered-queue.js";
import type { Utf8Decoder } from "./text-message.js";
import type { EngineEvent } from "./types.js";

const EMPTY_BYTES = new Uint8Array(0);

/** Where the flow delivers, in order (the engine). */
export interface FlowTarget {
  /** Dispatch an event whose turn came. */
  commit(event: EngineEvent): void;
  /** Frame an outgoing message or frame whose turn came. */
  frame(message: OutgoingMessage): void;
  /** A transform failed: fail the connection. */
  fail(error: unknown): void;
  /** An asynchronous completion drained what it could: flush the events. */
  settled(): void;
}

export interface FlowOptions {
  readonly maxPayload: number;
  readonly isUtf8: (bytes: Uint8Array) => boolean;
  readonly decode: Utf8Decoder;
  readonly validateUtf8: boolean;
}

export class ExtensionFlow {
  readonly #pipeline: ExtensionPipeline;
  /** Events in order behind received messages being transformed. */
  readonly inbound: OrderedQueue<EngineEvent>;
  /** Frames in order behind messages to send being transformed. */
  readonly outbound: OrderedQueue<OutgoingMessage>;
  /** Callbacks of afterFramed() waiting behind pending transforms. */
  #markers: Set<() => void> | null = null;

  constructor(sessions: readonly ExtensionSession[], options: FlowOptions, target: FlowTarget) {
    this.#pipeline = new ExtensionPipeline(
      sessions,
      options.maxPayload,
      options.isUtf8,
      options.decode,
      options.validateUtf8,
    );
    const settled = () => target.settled();
    const fail = (error: unknown) => target.fail(error);
    this.inbound = new OrderedQueue<EngineEvent>((event) => target.commit(event), fail, settled);
    this.outbound = new OrderedQueue<OutgoingMessage>(
      (o) => (o.done !== undefined ? this.#markerReached(o.done) : target.frame(o)),
      fail,
      settled,
    );
  }

  /** A received message, whole: transformed, then its event committed in order. */
  receive(opcode: 1 | 2, rsv: number, data: Uint8Array): void {
    try {
      this.inbound.push(this.#pipeline.incoming(opcode, rsv, data));
    } catch (error) {
      this.inbound.pushError(error);
    }
  }

  /** An event: committed now, or behind the received messages being transformed. */
  event(event: EngineEvent): void {
    this.inbound.push(event);
  }

  /** A message to send: transformed, then framed in order. */
  send(opcode: 1 | 2, data: Uint8Array, compress: boolean | undefined): void {
    try {
      this.outbound.push(this.#pipeline.outgoing(opcode, data, compress));
    } catch (error) {
      this.outbound.pushError(error);
    }
  }

  /** A frame: framed now, or behind the messages being transformed. */
  frame(message: OutgoingMessage): void {
    this.outbound.push(message);
  }

  /** Run `callback` once everything sent so far has been framed (at once when nothing waits). */
  afterFramed(callback: () => void): void {
    if (this.outbound.idle) {
      callback();
      return;
    }
    (this.#markers ??= new Set()).add(callback);
    this.outbound.push({ message: false, opcode: 0, fin: true, rsv: 0, data: EMPTY_BYTES, done: callback });
  }

  #markerReached(callback: () => void): void {
    if (this.#markers?.delete(callback)) callback();
  }

  /** Nothing more will be framed: drop what waits, and run every waiting callback now. */
  abandon(): void {
    this.outbound.clear();
    const markers = this.#markers;
    if (markers === null) return;
    this.#markers = null;
    for (const callback of markers) callback();
  }

  /** The connection is over: release every session (once). */
  close(): void {
    this.#pipeline.close();
  }
}
