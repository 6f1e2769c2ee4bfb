/**
 * ws's EventTarget side: the `Event`, `CloseEvent`, `ErrorEvent` and `MessageEvent` classes and
 * the `addEventListener` / `removeEventListener` / `on<event>` attributes that ws layers over
 * its EventEmitter. Same rules as ws: a listener added twice (not through an attribute) is kept
 * once, `{ once: true }` is honoured, listeners may be objects with `handleEvent`, and only the
 * open, message, close and error events exist in this style.
 */
import type { EventEmitter } from "node:events";

const kTarget = Symbol("kTarget");
const kType = Symbol("kType");
const kCode = Symbol("kCode");
const kReason = Symbol("kReason");
const kWasClean = Symbol("kWasClean");
const kError = Symbol("kError");
const kMessage = Symbol("kMessage");
const kData = Symbol("kData");
/** Marks a wrapper installed by an `on<event>` attribute. */
export const kForOnEventAttribute = Symbol("kIsForOnEventAttribute");
/** The user's listener behind a wrapper. */
export const kListener = Symbol("kListener");
/** Whether the closing handshake completed (read by the close wrapper). */
export const kWasCleanClose = Symbol("kWasCleanClose");

export class Event {
  [kTarget]: unknown = null;
  [kType]: string;
  constructor(type: string) {
    this[kType] = type;
  }
  get target(): unknown {
    return this[kTarget];
  }
  get type(): string {
    return this[kType];
  }
}
Object.defineProperty(Event.prototype, "target", { enumerable: true });
Object.defineProperty(Event.prototype, "type", { enumerable: true });

export class CloseEvent extends Event {
  [kCode]: number;
  [kReason]: string;
  [kWasClean]: boolean;
  constructor(type: string, options: { code?: number; reason?: string; wasClean?: boolean } = {}) {
    super(type);
    this[kCode] = options.code === undefined ? 0 : options.code;
    this[kReason] = options.reason === undefined ? "" : options.reason;
    this[kWasClean] = options.wasClean === undefined ? false : options.wasClean;
  }
  get code(): number {
    return this[kCode];
  }
  get reason(): string {
    return this[kReason];
  }
  get wasClean(): boolean {
    return this[kWasClean];
  }
}
Object.defineProperty(CloseEvent.prototype, "code", { enumerable: true });
Object.defineProperty(CloseEvent.prototype, "reason", { enumerable: true });
Object.defineProperty(CloseEvent.prototype, "wasClean", { enumerable: true });

export class ErrorEvent extends Event {
  [kError]: unknown;
  [kMessage]: string;
  constructor(type: string, options: { error?: unknown; message?: string } = {}) {
    super(type);
    this[kError] = options.error === undefined ? null : options.error;
    this[kMessage] = options.message === undefined ? "" : options.message;
  }
  get error(): unknown {
    return this[kError];
  }
  get message(): string {
    return this[kMessage];
  }
}
Object.defineProperty(ErrorEvent.prototype, "error", { enumerable: true });
Object.defineProperty(ErrorEvent.prototype, "message", { enumerable: true });

export class MessageEvent extends Event {
  [kData]: unknown;
  constructor(type: string, options: { data?: unknown } = {}) {
    super(type);
    this[kData] = options.data === undefined ? null : options.data;
  }
  get data(): unknown {
    return this[kData];
  }
}
Object.defineProperty(MessageEvent.prototype, "data", { enumerable: true });

export type EventListenerLike = ((event: never) => void) | { handleEvent(event: never): void };
type Wrapper = ((...args: never[]) => void) & { [kForOnEventAttribute]?: boolean; [kListener]?: unknown };
type Target = EventEmitter & { [kWasCleanClose]?: boolean };

function callListener(listener: EventListenerLike, thisArg: unknown, event: Event): void {
  if (typeof listener === "object" && typeof listener.handleEvent === "function") {
    (listener.handleEvent as (e: Event) => void).call(listener, event);
  } else {
    (listener as (e: Event) => void).call(thisArg, event);
  }
}

/** `addEventListener` as ws defines it (installed on the WebSocket prototype). */
export function addEventListener(
  this: Target,
  type: string,
  handler: EventListenerLike,
  options: { once?: boolean; [kForOnEventAttribute]?: boolean } = {},
): void {
  for (const listener of this.listeners(type) as Wrapper[]) {
    if (!options[kForOnEventAttribute] && listener[kListener] === handler && !listener[kForOnEventAttribute]) return;
  }
  let wrapper: Wrapper;
  if (type === "message") {
    wrapper = function onMessage(this: Target, data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void {
      const event = new MessageEvent("message", { data: isBinary ? data : String(data) });
      event[kTarget] = this;
      callListener(handler, this, event);
    };
  } else if (type === "close") {
    wrapper = function onClose(this: Target, code: number, message: Buffer): void {
      const event = new CloseEvent("close", {
        code,
        reason: message.toString(),
        wasClean: this[kWasCleanClose] === true,
      });
      event[kTarget] = this;
      callListener(handler, this, event);
    };
  } else if (type === "error") {
    wrapper = function onError(this: Target, error: Error): void {
      const event = new ErrorEvent("error", { error, message: error.message });
      event[kTarget] = this;
      callListener(handler, this, event);
    };
  } else if (type === "open") {
    wrapper = function onOpen(this: Target): void {
      const event = new Event("open");
      event[kTarget] = this;
      callListener(handler, this, event);
    };
  } else {
    return;
  }
  wrapper[kForOnEventAttribute] = !!options[kForOnEventAttribute];
  wrapper[kListener] = handler;
  if (options.once) this.once(type, wrapper as (...args: unknown[]) => void);
  else this.on(type, wrapper as (...args: unknown[]) => void);
}

/** `removeEventListener` as ws defines it. */
export function removeEventListener(this: Target, type: string, handler: EventListenerLike): void {
  for (const listener of this.listeners(type) as Wrapper[]) {
    if (listener[kListener] === handler && !listener[kForOnEventAttribute]) {
      this.removeListener(type, listener as (...args: unknown[]) => void);
      break;
    }
  }
}

/** Define `onopen`, `onerror`, `onclose` and `onmessage` on a prototype (WHATWG attributes). */
export function defineEventAttributes(proto: object): void {
  for (const method of ["open", "error", "close", "message"]) {
    Object.defineProperty(proto, `on${method}`, {
      enumerable: true,
      configurable: true,
      get(this: Target) {
        for (const listener of this.listeners(method) as Wrapper[]) {
          if (listener[kForOnEventAttribute]) return listener[kListener];
        }
        return null;
      },
      set(this: Target, handler: unknown) {
        for (const listener of this.listeners(method) as Wrapper[]) {
          if (listener[kForOnEventAttribute]) {
            this.removeListener(method, listener as (...args: unknown[]) => void);
            break;
          }
        }
        if (typeof handler !== "function") return;
        addEventListener.call(this, method, handler as EventListenerLike, { [kForOnEventAttribute]: true });
      },
    });
  }
}
