/**
 * A FIFO with a head index (no `Array#shift`), used by the engine for queue mode: without
 * `onOutput` / `onEvent` callbacks, output chunks and events wait here for `takeOutput()` /
 * `takeEvents()`; with callbacks, events wait here only until the end of the current call, so
 * that the output a call causes is handed over before its events.
 */
export class Fifo<T> {
  #items: T[] = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(item: T): void {
    this.#items.push(item);
  }

  /** The next item, or undefined. */
  shift(): T | undefined {
    if (this.#head === this.#items.length) return undefined;
    const item = this.#items[this.#head];
    (this.#items as Array<T | undefined>)[this.#head] = undefined;
    this.#head++;
    if (this.#head === this.#items.length) {
      this.#items.length = 0;
      this.#head = 0;
    }
    return item;
  }

  /** Remove and return every item, in order. */
  drain(): T[] {
    const out = this.#head === 0 ? this.#items : this.#items.slice(this.#head);
    this.#items = [];
    this.#head = 0;
    return out;
  }

  clear(): void {
    this.#items = [];
    this.#head = 0;
  }
}
