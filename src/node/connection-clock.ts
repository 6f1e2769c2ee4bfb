/**
 * A connection's clock: when it last heard from the peer, when the heartbeat ping left, when the
 * closing handshake and the transport close started, and what the timer wheel must do next.
 *
 * Contract: the connection stores timestamps here (`wheel.now`, read per message only when a
 * timer uses it: `trackReceived`, `trackMessage`); `next` gives the earliest deadline (or -1)
 * and `due` what is due at `now`, in this order: the transport close timeout (for a failed
 * connection: FAILED_LINGER after its close frame and FIN are out and the peer went quiet), the closing
 * handshake timeout, then (open connections) the idle timeout, the pong timeout, the heartbeat
 * ping (`due` records the ping as sent).
 */
import type { ResolvedConnectionOptions } from "./options.js";

/** Used when closeTimeout is 0 ("no limit" would leak half-closed sockets forever): 30 s. */
const CLOSE_FALLBACK = 30_000;

/**
 * A failed connection (RFC 6455 7.1.7) is destroyed once its close frame and FIN are written and
 * the peer has sent nothing for this long (ms), instead of waiting the whole close timeout for a
 * peer that may never close. The pause lets the peer read the close frame first: destroying a
 * socket with unread input sends a RST, which can discard it.
 */
export const FAILED_LINGER = 250;

/** What `due` asks the connection to do. */
export const Due = {
  NOTHING: 0,
  /** The transport did not close within closeTimeout: destroy the socket. */
  DESTROY: 1,
  /** RFC 6455 7.1.1: the peer did not answer our close frame in time: drop the TCP connection. */
  TERMINATE: 2,
  IDLE_CLOSE: 3,
  PONG_TIMEOUT: 4,
  PING: 5,
} as const;
export type Due = (typeof Due)[keyof typeof Due];

export class ConnectionClock {
  lastReceived: number;
  lastMessage: number;
  pingSentAt = -1;
  awaitingPong = false;
  /** When the engine asked for a close timeout (awaitClose: our close frame left), or -1. */
  closeStartedAt = -1;
  /** When the transport close began, or -1. */
  transportClosing = -1;
  /** The connection failed (not a closing handshake): see FAILED_LINGER. */
  failed = false;
  /** When a failed connection's close frame and FIN were written out, or -1. */
  flushedAt = -1;
  /** Whether a timer reads lastReceived (heartbeat, a failed connection's linger) / lastMessage (idle timeout). */
  trackReceived: boolean;
  /** Reading is paused (Connection#pause): the heartbeat and the idle timeout wait. */
  paused = false;
  readonly trackMessage: boolean;
  readonly #options: ResolvedConnectionOptions;
  /** The hixie drafts have no ping frames: no heartbeat for them (idle and close timers still apply). */
  readonly #canPing: boolean;

  constructor(options: ResolvedConnectionOptions, canPing: boolean, now: number) {
    this.#options = options;
    this.#canPing = canPing;
    this.lastReceived = now;
    this.lastMessage = now;
    this.trackReceived = options.pingInterval > 0;
    this.trackMessage = options.idleTimeout > 0;
  }

  /** Reading resumed: the heartbeat, the pong timeout and the idle timeout start afresh at `now`. */
  resume(now: number): void {
    this.paused = false;
    this.lastReceived = now;
    this.lastMessage = now;
    if (this.awaitingPong) this.pingSentAt = now;
  }

  /** The earliest moment something must be checked, or -1. */
  next(open: boolean): number {
    const o = this.#options;
    let next = Infinity;
    if (this.transportClosing !== -1) {
      next = this.#transportDeadline();
    } else if (this.closeStartedAt !== -1) {
      next = this.closeStartedAt + (o.closeTimeout || CLOSE_FALLBACK);
    } else if (open && !this.paused) {
      if (o.pingInterval > 0 && this.#canPing) {
        if (this.awaitingPong) {
          if (o.pongTimeout > 0) next = this.pingSentAt + o.pongTimeout;
        } else {
          next = this.lastReceived + o.pingInterval;
        }
      }
      if (o.idleTimeout > 0) next = Math.min(next, this.lastMessage + o.idleTimeout);
    }
    return next === Infinity ? -1 : next;
  }

  /** When the socket of a closing transport is destroyed: the close timeout, or a failed connection's linger. */
  #transportDeadline(): number {
    const timeout = this.transportClosing + (this.#options.closeTimeout || CLOSE_FALLBACK);
    if (!this.failed || this.flushedAt === -1) return timeout;
    return Math.min(timeout, Math.max(this.flushedAt, this.lastReceived) + FAILED_LINGER);
  }

  /** What is due at `now` (see the module comment). */
  due(now: number, open: boolean): Due {
    const o = this.#options;
    if (this.transportClosing !== -1) return now >= this.#transportDeadline() ? Due.DESTROY : Due.NOTHING;
    if (this.closeStartedAt !== -1) {
      return now >= this.closeStartedAt + (o.closeTimeout || CLOSE_FALLBACK) ? Due.TERMINATE : Due.NOTHING;
    }
    if (!open || this.paused) return Due.NOTHING;
    if (o.idleTimeout > 0 && now >= this.lastMessage + o.idleTimeout) return Due.IDLE_CLOSE;
    if (o.pingInterval > 0 && this.#canPing) {
      if (this.awaitingPong) {
        if (o.pongTimeout > 0 && now >= this.pingSentAt + o.pongTimeout) return Due.PONG_TIMEOUT;
      } else if (now >= this.lastReceived + o.pingInterval) {
        this.pingSentAt = now;
        this.awaitingPong = true;
        return Due.PING;
      }
    }
    return Due.NOTHING;
  }
}
