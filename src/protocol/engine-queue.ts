/**
 * A FIFO with a head index (no `Array#shift`): events raised while others are being dispatched
 * wait here, so that dispatch is never re-entrant and the output a call causes is handed over
 * before its events. Also the output an engine holds before `open()` (HeldOutput).
 */
import type { FrameOutput } from "./types.js";

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

  clear(): void {
    this.#items = null;
    this.#head = 0;
    this.#tail = 0;
  }
}

/** Who receives the events (an engine's host). */
export interface EventSink<E> {
  dispatch(event: E): void;
  /** Optional: a text message as its string (EngineHost `dispatchText`). */
  dispatchText?(data: string): void;
}

/**
 * Hands events to the host and runs deferred callbacks (`ping` answers), never re-entrantly: an
 * event raised while dispatching waits for the running loop. A throwing handler or callback goes
 * to `onThrow(owner, error)`, then dispatch goes on.
 */
export class EventDispatcher<E, O> {
  readonly #events = new Fifo<E>();
  /** Deferred callbacks (`ping` answers); created on first use. */
  #callbacks: Fifo<() => void> | null = null;
  readonly #target: EventSink<E>;
  /** A function shared by every dispatcher (not a closure per connection), given the owner. */
  readonly #onThrow: (owner: O, error: unknown) => void;
  readonly #owner: O;
  #flushing = false;

  constructor(target: EventSink<E>, onThrow: (owner: O, error: unknown) => void, owner: O) {
    this.#target = target;
    this.#onThrow = onThrow;
    this.#owner = owner;
  }

  /** Nothing waits to be dispatched and nothing is being dispatched. */
  get idle(): boolean {
    return !this.#flushing && !this.pending;
  }

  /** True when something waits to be dispatched. */
  get pending(): boolean {
    return (this.#callbacks !== null && this.#callbacks.length !== 0) || this.#events.length !== 0;
  }

  /** Dispatch an event now, or queue it behind the one being dispatched. */
  push(event: E): void {
    if (!this.#flushing && this.#events.length === 0) {
      // The usual case (a message event, nothing else waiting): dispatch without queueing it.
      this.#flushing = true;
      try {
        this.#target.dispatch(event);
      } catch (error) {
        this.#onThrow(this.#owner, error);
      } finally {
        this.#flushing = false;
      }
      if (this.pending) this.flush();
      return;
    }
    this.#events.push(event);
    this.flush();
  }

  /**
   * A text message as its string to the target's `dispatchText`, with `push`'s guarantees; only
   * when the dispatcher is `idle` and the target has `dispatchText` (the caller checks both).
   */
  pushText(data: string): void {
    this.#flushing = true;
    try {
      this.#target.dispatchText!(data);
    } catch (error) {
      this.#onThrow(this.#owner, error);
    } finally {
      this.#flushing = false;
    }
    if (this.pending) this.flush();
  }

  /** Run a callback at the next flush. */
  defer(callback: () => void): void {
    (this.#callbacks ??= new Fifo<() => void>()).push(callback);
  }

  flush(): void {
    if (this.#flushing) return;
    this.#flushing = true;
    try {
      const target = this.#target;
      for (let event = this.#events.shift(); event !== undefined; event = this.#events.shift()) {
        try {
          target.dispatch(event);
        } catch (error) {
          this.#onThrow(this.#owner, error);
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

/** An engine's output produced before `open()`: kept (arena ranges copied out: they are only lent) until then. */
export class HeldOutput implements FrameOutput {
  readonly chunks: Uint8Array[] = [];
  output(chunk: Uint8Array): void {
    this.chunks.push(chunk);
  }
  outputRange(bytes: Uint8Array, start: number, end: number): void {
    this.chunks.push(bytes.slice(start, end));
  }
}
