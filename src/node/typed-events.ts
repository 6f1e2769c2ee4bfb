/**
 * Typed events for the Node layer's EventEmitters (types only, nothing at run time).
 *
 * A class lists its events as a map from name to argument tuple, extends its emitter base class
 * seen without the event methods ({@link EmitterBase}), and merges an interface that adds them
 * typed by the map. `server.on("connection", (conn, req) => ...)` then gets typed arguments
 * without annotations, and an unknown event name is a compile error:
 *
 *     export interface WebSocketServerEvents<P> { connection: [conn: Connection<P>, req: IncomingMessage]; ... }
 *     export interface WebSocketServer<P> extends TypedEvents<WebSocketServerEvents<P>> {}
 *     export class WebSocketServer<P> extends (EventEmitter as EmitterBase) { ... }
 *
 * (A class's type parameters cannot appear in its `extends` expression, hence the merged
 * interface.) Written against no particular @types/node version: no generic `EventEmitter<T>`.
 */
import type { EventEmitter } from "node:events";

/** An event map: event name -> the listener's argument tuple. */
export type EventMap<Events> = { [E in keyof Events]: unknown[] };

/** The listener of event `E`. */
export type EventHandler<Events extends EventMap<Events>, E extends keyof Events> = (...args: Events[E]) => void;

/** EventEmitter's methods, typed by an event map. */
export interface TypedEvents<Events extends EventMap<Events>> {
  on<E extends keyof Events>(event: E, listener: EventHandler<Events, E>): this;
  once<E extends keyof Events>(event: E, listener: EventHandler<Events, E>): this;
  off<E extends keyof Events>(event: E, listener: EventHandler<Events, E>): this;
  addListener<E extends keyof Events>(event: E, listener: EventHandler<Events, E>): this;
  removeListener<E extends keyof Events>(event: E, listener: EventHandler<Events, E>): this;
  prependListener<E extends keyof Events>(event: E, listener: EventHandler<Events, E>): this;
  prependOnceListener<E extends keyof Events>(event: E, listener: EventHandler<Events, E>): this;
  emit<E extends keyof Events>(event: E, ...args: Events[E]): boolean;
  listenerCount<E extends keyof Events>(event: E, listener?: EventHandler<Events, E>): number;
  listeners<E extends keyof Events>(event: E): Array<EventHandler<Events, E>>;
  rawListeners<E extends keyof Events>(event: E): Array<EventHandler<Events, E>>;
  removeAllListeners<E extends keyof Events>(event?: E): this;
}

/** EventEmitter's event methods, the ones {@link TypedEvents} types. */
export type EventMethod = keyof TypedEvents<Record<never, unknown[]>>;

/** An EventEmitter class (or subclass, such as ShapedEmitter) seen without its event methods. */
export type EmitterBase = new () => Omit<EventEmitter, EventMethod>;
