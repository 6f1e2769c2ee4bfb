/**
 * The bounded queue of messages sent while the client is not open. Contract: FIFO; `push`
 * never grows it past `size`; under "drop-oldest" a full queue evicts its oldest message (and
 * returns it so the client can report it), under "reject" it refuses the new one. `size` 0
 * disables queueing. A head index instead of `Array#shift` keeps pushes and drains O(1).
 */
import type { QueuePolicy, Sendable } from "./types.js";

export type PushResult = { readonly ok: true; readonly evicted?: Sendable } | { readonly ok: false };

export class SendQueue {
  readonly size: number;
  readonly policy: QueuePolicy;
  #items: Sendable[] = [];
  #head = 0;

  constructor(size: number, policy: QueuePolicy) {
    if (!(size >= 0)) throw new RangeError(`queue.size must be >= 0, got ${size}`);
    if (policy !== "drop-oldest" && policy !== "reject") {
      throw new TypeError(`queue.policy must be "drop-oldest" or "reject", got ${String(policy)}`);
    }
    this.size = size;
    this.policy = policy;
  }

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(message: Sendable): PushResult {
    if (this.size === 0) return { ok: false };
    if (this.length < this.size) {
      this.#items.push(message);
      return { ok: true };
    }
    if (this.policy === "reject") return { ok: false };
    const evicted = this.shift();
    this.#items.push(message);
    return evicted === undefined ? { ok: true } : { ok: true, evicted };
  }

  /** The oldest message, removed; undefined when empty. */
  shift(): Sendable | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head] = "";
    this.#head++;
    if (this.#head >= this.#items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }

  /** Put a message back at the front (a send that failed while flushing). */
  unshift(message: Sendable): void {
    if (this.#head > 0) this.#items[--this.#head] = message;
    else this.#items.unshift(message);
  }

  clear(): Sendable[] {
    const rest = this.#items.slice(this.#head);
    this.#items = [];
    this.#head = 0;
    return rest;
  }
}
