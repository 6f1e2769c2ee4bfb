/**
 * Pings waiting for their pong (RFC 6455 5.5.2/5.5.3): `ping(payload, onPong)` registers a
 * callback; a pong with the same payload answers it and every earlier ping ("a Pong frame sent
 * in response to a Ping ... may elect to send a Pong frame for only the most recently processed
 * Ping frame"). Pongs matching nothing are unsolicited and only reported as events.
 */

interface PendingPing {
  readonly payload: Uint8Array;
  readonly callback: () => void;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class PingTracker {
  // Created on the first ping: most connections never wait for a pong.
  #pending: PendingPing[] | null = null;

  get size(): number {
    return this.#pending === null ? 0 : this.#pending.length;
  }

  /** Remember a ping (its payload is copied: the caller may reuse the bytes). */
  add(payload: Uint8Array, callback: () => void): void {
    (this.#pending ??= []).push({ payload: payload.slice(), callback });
  }

  /** The callbacks a received pong answers, oldest first (empty if unsolicited). */
  answer(payload: Uint8Array): Array<() => void> {
    const pending = this.#pending;
    if (pending === null) return [];
    for (let i = 0; i < pending.length; i++) {
      if (sameBytes(pending[i].payload, payload)) return pending.splice(0, i + 1).map((p) => p.callback);
    }
    return [];
  }

  clear(): void {
    this.#pending = null;
  }
}
