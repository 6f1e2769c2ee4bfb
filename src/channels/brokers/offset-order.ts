/**
 * OffsetOrder: hands a stream's stored messages on in offset order when they arrive out of it.
 *
 * NATS JetStream republishes what the LOG stored (nats-history.ts), but two publishers on two
 * connections race in the server: the republish of offset n+1 can leave before that of n. A
 * subscriber must still see the history's order (historyContract), so each history stream's
 * deliveries pass through one OffsetOrder.
 *
 * Contract:
 * - `accept(position, payload)`: the first message (or the first of a new epoch) sets the
 *   expected offset. The expected one is delivered at once, followed by any held ones that now
 *   follow without a gap. One ahead of the expected offset is held until the gap fills.
 * - A gap not filled within `wait` ms is given up: the held messages are delivered in offset
 *   order and the next expected offset is the one after the last. A message behind the expected
 *   offset (late after such a give-up, or a repeat) is delivered as it comes: nothing is dropped.
 * - `clear()` drops what is held and stops the timer (unsubscribe, close). The timer is unref'd.
 */
import type { StreamPosition } from "./stream-history.js";

type Deliver = (payload: string, position: StreamPosition) => void;

/** How long a gap in the offsets may stay open before the held messages go on (ms). */
export const ORDER_WAIT = 250;

export class OffsetOrder {
  readonly #deliver: Deliver;
  readonly #wait: number;
  #epoch = "";
  #next = 0;
  readonly #held = new Map<number, string>();
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(deliver: Deliver, wait = ORDER_WAIT) {
    this.#deliver = deliver;
    this.#wait = wait;
  }

  accept(position: StreamPosition, payload: string): void {
    const { epoch, offset } = position;
    if (epoch !== this.#epoch) {
      this.#flush();
      this.#epoch = epoch;
      this.#next = offset;
    }
    if (offset === this.#next) {
      this.#deliver(payload, position);
      this.#next = offset + 1;
      this.#drain();
    } else if (offset > this.#next) {
      this.#held.set(offset, payload);
      if (this.#timer === undefined) {
        this.#timer = setTimeout(() => this.#giveUp(), this.#wait);
        this.#timer.unref?.();
      }
    } else {
      this.#deliver(payload, position);
    }
  }

  clear(): void {
    this.#held.clear();
    this.#stop();
  }

  /** Delivers the held messages that follow the expected offset without a gap. */
  #drain(): void {
    let payload = this.#held.get(this.#next);
    while (payload !== undefined) {
      this.#held.delete(this.#next);
      this.#deliver(payload, { epoch: this.#epoch, offset: this.#next });
      this.#next += 1;
      payload = this.#held.get(this.#next);
    }
    if (this.#held.size === 0) this.#stop();
  }

  #giveUp(): void {
    this.#timer = undefined;
    this.#flush();
  }

  /** Delivers everything held, in offset order, and expects the offset after the last. */
  #flush(): void {
    if (this.#held.size === 0) return;
    const offsets = [...this.#held.keys()].sort((a, b) => a - b);
    const epoch = this.#epoch;
    for (const offset of offsets) {
      const payload = this.#held.get(offset) as string;
      this.#held.delete(offset);
      this.#deliver(payload, { epoch, offset });
    }
    this.#next = offsets[offsets.length - 1] + 1;
    this.#stop();
  }

  #stop(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
