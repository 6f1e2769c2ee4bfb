/**
 * A FIFO with a head index (no `Array#shift`), used by the engine for queue mode: without
 * `onOutput` / `onEvent` callbacks, output chunks and events wait here for `takeOutput()` /
 * `takeEvents()`; with callbacks, events wait here only until the end of the current call, so
 * that the output a call causes is handed over before its events.
 */
export class Fifo<T> {
  // Slots [head, tail) hold the items. Emptying resets both indices without touching the
  // array's length (assigning `length` is a slow runtime call in V8): the hot path is one
  // store per push and one load + store per shift.
  // Created on first push: most connections' queues stay empty while idle.
  #items: Array<T | undefined> | null = null;
  #head = 0;
  #tail = 0;

  get length(): number {
    return this.#tail - this.#head;
  }

  push(item: T): void {
    (this.#items ??= [])[this.#tail++] = item;
  }

  /** The next item, or undefined. */
  shift(): T | undefined {
    const head = this.#head;
    if (head === this.#tail) return undefined;
    const items = this.#items as Array<T | undefined>;
    const item = items[head];
    items[head] = undefined;
    if (head + 1 === this.#tail) this.#head = this.#tail = 0;
    else this.#head = head + 1;
    return item;
  }

  /** Remove and return every item, in order. */
  drain(): T[] {
    const out = this.#items === null ? [] : (this.#items.slice(this.#head, this.#tail) as T[]);
    this.clear();
    return out;
  }

  clear(): void {
    this.#items = null;
    this.#head = 0;
    this.#tail = 0;
  }
}

/**
 * Hands events to `onEvent` (or keeps them for `take()` in queue mode) and runs deferred
 * callbacks (`ping` answers), never re-entrantly: an event raised while dispatching waits for
 * the running loop. A throwing handler or callback goes to `onThrow`, then dispatch goes on.
 */
export class EventDispatcher<E, O = unknown> {
  readonly #events = new Fifo<E>();
  /** Deferred callbacks (`ping` answers); created on first use. */
  #callbacks: Fifo<() => void> | null = null;
  readonly #onEvent: ((event: E) => void) | undefined;
  readonly #thisArg: unknown;
  readonly #onThrow: (owner: O, error: unknown) => void;
  readonly #owner: O;
  #flushing = false;

  /**
   * `onEvent` is called with `thisArg` as `this`; `onThrow(owner, error)` receives a throwing
   * handler's exception (shared functions rather than closures: one dispatcher per connection).
   */
  constructor(
    onEvent: ((event: E) => void) | undefined,
    thisArg: unknown,
    onThrow: (owner: O, error: unknown) => void,
    owner: O,
  ) {
    this.#onEvent = onEvent;
    this.#thisArg = thisArg;
    this.#onThrow = onThrow;
    this.#owner = owner;
  }

  /** True when something waits to be dispatched. */
  get pending(): boolean {
    return (
      (this.#callbacks !== null && this.#callbacks.length !== 0) ||
      (this.#onEvent !== undefined && this.#events.length !== 0)
    );
  }

  /** Queue an event and, in callback mode, dispatch at once (unless already dispatching). */
  push(event: E): void {
    const onEvent = this.#onEvent;
    if (onEvent !== undefined && !this.#flushing && this.#events.length === 0) {
      // The usual case (a message event, nothing else waiting): dispatch without queueing it.
      this.#flushing = true;
      try {
        onEvent.call(this.#thisArg, event);
      } catch (error) {
        this.#onThrow(this.#owner, error);
      } finally {
        this.#flushing = false;
      }
      if (this.pending) this.flush();
      return;
    }
    this.#events.push(event);
    if (onEvent !== undefined) this.flush();
  }

  /** Run a callback at the next flush. */
  defer(callback: () => void): void {
    (this.#callbacks ??= new Fifo<() => void>()).push(callback);
  }

  /** Queue mode: every event waiting, in order. */
  take(): E[] {
    return this.#events.drain();
  }

  flush(): void {
    if (this.#flushing) return;
    this.#flushing = true;
    try {
      const onEvent = this.#onEvent;
      if (onEvent !== undefined) {
        const thisArg = this.#thisArg;
        for (let event = this.#events.shift(); event !== undefined; event = this.#events.shift()) {
          try {
            onEvent.call(thisArg, event);
          } catch (error) {
            this.#onThrow(this.#owner, error);
          }
        }
      }
      const callbacks = this.#callbacks;
      if (callbacks !== null) {
        for (let cb = callbacks.shift(); cb !== undefined; cb = callbacks.shift()) {
          try {
            cb();
          } catch (error) {
            this.#onThrow(this.#owner, error);
          }
        }
      }
    } finally {
      this.#flushing = false;
    }
    if (this.pending) this.flush(); // raised by a callback after the event loop above looked
  }
}
