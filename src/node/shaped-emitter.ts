/**
 * An `EventEmitter` base class whose listener table is a fast object: Node's "shape mode", the
 * way its own streams avoid a dictionary per instance.
 *
 * A plain EventEmitter starts with `_events = { __proto__: null }`, which V8 keeps in
 * dictionary mode: ~180 bytes per emitter once listeners are added, and a hash lookup per
 * `emit`. When `_events` already exists as the constructor runs, Node's `EventEmitter.init`
 * keeps it and switches to shape mode (a removed listener leaves `undefined` in its slot instead
 * of a `delete`). Here `_events` is made with one slot per usual event on a frozen
 * null-prototype object (nothing inherited, yet a fast object: 48 bytes).
 *
 * Contract: behaves as EventEmitter, including `eventNames()`, which lists only events that have
 * listeners (in shape mode Node would also list the empty slots), and the `removeListener` event
 * (which Node's shape mode skips when an event's only listener is removed). Two differences:
 * `eventNames()` lists the preset slots first, and `captureRejections` is read through the
 * prototype, so `EventEmitter.captureRejections` set later applies to emitters made before.
 *
 * The constructor sets what Node's `EventEmitter.init` would, except three flags: the two that
 * only copy the prototype's values (`_maxListeners`, undefined, and `captureRejections`' flag)
 * and the shape-mode flag (true) are read through the prototype instead (8 bytes each per
 * emitter, a connection being one).
 * When Node's init is not the one seen at load (the domain module wraps it) or its shape-mode
 * symbol is not found, the constructor calls `EventEmitter` as before.
 */
import { EventEmitter } from "node:events";

/** The listener table's prototype: no properties, nothing to inherit, never changes. */
const NO_EVENTS: object = Object.freeze(Object.create(null));

interface EmitterState {
  _events: Record<string | symbol, unknown>;
  _eventsCount: number;
}

/** Node's init, and its shape-mode symbol (the own symbol of a new emitter described "shapeMode"). */
/** `EventEmitter.init`: in Node's own code, not in its published types. */
const emitterInit = (): unknown => (EventEmitter as unknown as { init: unknown }).init;
const nodeInit = emitterInit();
/** Set by `node:domain` when it loads: emitters made then must go through its init. */
const usingDomains = (): boolean => (EventEmitter as unknown as { usingDomains?: boolean }).usingDomains === true;
const kShapeMode = Object.getOwnPropertySymbols(new EventEmitter()).find((s) => s.description === "shapeMode");

/**
 * A listener table with the usual events' slots: made by a constructor (prototype NO_EVENTS) so
 * that V8 sizes it to these three fields (48 bytes; `Object.create` gives four in-object slots).
 * Named "Object" (through a property key), as the objects `Object.create` makes show in
 * `util.inspect` and heap snapshots.
 */
const Listeners = {
  Object: function (this: Record<string, unknown>): void {
    this.error = undefined;
    this.message = undefined;
    this.close = undefined;
  },
}.Object as unknown as new () => Record<string, unknown>;
Listeners.prototype = NO_EVENTS;

/**
 * A base class for emitters that usually carry `error`, `message` and `close` listeners
 * (connections): those slots exist from the start.
 */
export const ShapedEmitter = function ShapedEmitter(this: EmitterState & Record<symbol, unknown>): void {
  this._events = new Listeners();
  this._eventsCount = 0;
  // Node's own init only (its shape-mode flag is read through the prototype, below): not when
  // something wrapped it, nor under `node:domain` (which may have been loaded before this module,
  // so that `nodeInit` is its wrapper already).
  if (kShapeMode === undefined || emitterInit() !== nodeInit || usingDomains()) {
    EventEmitter.call(this as unknown as EventEmitter); // sees `_events`: shape mode (an own flag)
  }
} as unknown as typeof EventEmitter;

Object.setPrototypeOf(ShapedEmitter.prototype, EventEmitter.prototype);
Object.setPrototypeOf(ShapedEmitter, EventEmitter);
// Shape mode for every instance without a slot each (`removeAllListeners` sets an own `false`).
if (kShapeMode !== undefined) (ShapedEmitter.prototype as unknown as Record<symbol, boolean>)[kShapeMode] = true;

const nodeRemoveListener = EventEmitter.prototype.removeListener;

/**
 * As EventEmitter's, plus the `removeListener` event when an event's only listener goes: Node's
 * shape mode leaves its slot `undefined` and emits nothing then (a plain emitter deletes the slot
 * and emits). Not in shape mode (after `removeAllListeners()`), Node's own code emits it.
 */
ShapedEmitter.prototype.removeListener = function removeListener(
  this: EventEmitter,
  type: string | symbol,
  listener: (...args: unknown[]) => void,
): EventEmitter {
  const events = (this as unknown as EmitterState)._events as EmitterState["_events"] | undefined;
  if (events === undefined) return nodeRemoveListener.call(this, type, listener);
  const only = events[type] as ((...args: unknown[]) => void) & { listener?: unknown };
  nodeRemoveListener.call(this, type, listener);
  if (
    typeof only === "function" &&
    (only === listener || only.listener === listener) &&
    events[type] === undefined &&
    events.removeListener !== undefined &&
    kShapeMode !== undefined &&
    (this as unknown as Record<symbol, unknown>)[kShapeMode] === true
  ) {
    this.emit("removeListener", type, only.listener || listener); // as Node: `||`
  }
  return this;
};
ShapedEmitter.prototype.off = ShapedEmitter.prototype.removeListener;

ShapedEmitter.prototype.eventNames = function eventNames(this: EventEmitter): Array<string | symbol> {
  return Reflect.ownKeys((this as unknown as EmitterState)._events).filter((name) => this.listenerCount(name) > 0);
};

/**
 * `emitter.emit(type, a, b)` without emit's rest-argument array when the event has exactly one
 * listener, a plain function (the usual `message` handler): the same call, `this` and arguments.
 * Anything else (no listener, several, captureRejections on) goes through `emit` itself.
 */
export function emitTwo(emitter: EventEmitter, type: string, a: unknown, b: unknown): boolean {
  const handler = (emitter as unknown as EmitterState)._events[type];
  if (typeof handler !== "function" || EventEmitter.captureRejections) return emitter.emit(type, a, b);
  handler.call(emitter, a, b);
  return true;
}

/** `emit` without letting a throwing listener escape: its exception goes to `error` (used where failing is pointless). */
export function emitSafe(emitter: Pick<EventEmitter, "emit">, name: string, ...args: unknown[]): void {
  try {
    emitter.emit(name, ...args);
  } catch (error) {
    if (name !== "error") emitSafe(emitter, "error", error);
  }
}
