/**
 * Keeps results in submission order when some of them are Promises: the extension pipeline
 * (RFC 6455 section 9) may transform a message asynchronously (e.g. zlib), and a later message
 * whose transform finished synchronously must not overtake it.
 *
 * Contract: `push(value | promise)` hands values to `consume` in push order; when nothing is
 * pending, a plain value is consumed at once (the fast path costs one length check). A
 * rejected promise reaches `onError` in its turn. `onSettled` runs after an asynchronous
 * completion has drained what it could. `clear()` abandons everything pending.
 */

interface Slot<T> {
  done: boolean;
  failed: boolean;
  value: T | undefined;
  error: unknown;
}

export function isPromiseLike<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as PromiseLike<T> | null)?.then === "function";
}

export class OrderedQueue<T> {
  #slots: Array<Slot<T>> = [];
  readonly #consume: (value: T) => void;
  readonly #onError: (error: unknown) => void;
  readonly #onSettled: () => void;

  constructor(consume: (value: T) => void, onError: (error: unknown) => void, onSettled: () => void) {
    this.#consume = consume;
    this.#onError = onError;
    this.#onSettled = onSettled;
  }

  /** True when nothing waits: a plain value pushed now is consumed at once. */
  get idle(): boolean {
    return this.#slots.length === 0;
  }

  /** Number of entries waiting (pending or queued behind a pending one). */
  get length(): number {
    return this.#slots.length;
  }

  push(value: T | PromiseLike<T>): void {
    if (!isPromiseLike(value)) {
      if (this.#slots.length === 0) this.#consume(value);
      else this.#slots.push({ done: true, failed: false, value, error: undefined });
      return;
    }
    const slot: Slot<T> = { done: false, failed: false, value: undefined, error: undefined };
    const slots = this.#slots;
    slots.push(slot);
    value.then(
      (v) => this.#settle(slots, slot, false, v, undefined),
      (e) => this.#settle(slots, slot, true, undefined, e),
    );
  }

  /** Queue an error in order (consumed by `onError` in its turn). */
  pushError(error: unknown): void {
    if (this.#slots.length === 0) this.#onError(error);
    else this.#slots.push({ done: true, failed: true, value: undefined, error });
  }

  /** Abandon every entry; pending promises are ignored when they settle. */
  clear(): void {
    this.#slots = [];
  }

  /** Consume the leading entries that are done. */
  drain(): void {
    const slots = this.#slots;
    while (slots.length > 0 && slots[0].done && slots === this.#slots) {
      const slot = slots.shift()!;
      if (slot.failed) this.#onError(slot.error);
      else this.#consume(slot.value as T);
    }
  }

  #settle(slots: Array<Slot<T>>, slot: Slot<T>, failed: boolean, value: T | undefined, error: unknown): void {
    if (slots !== this.#slots) return; // cleared meanwhile
    slot.done = true;
    slot.failed = failed;
    slot.value = value;
    slot.error = error;
    this.drain();
    this.#onSettled();
  }
}
