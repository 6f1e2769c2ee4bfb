/**
 * A connection's clock: when it last heard from the peer, when the heartbeat ping left, when the
 * closing handshake and the transport close started, and what the timer wheel must do next.
 * The ping's time is kept in `lastReceived` until the peer is heard from again (nothing reads the
 * earlier value meanwhile: a failed connection's linger starts after its close frame is out, later
 * than any ping), so the clock holds two timestamps, not three.
 *
 * Contract: the state ({@link ClockState}) lives in the connection object itself (no object of
 * its own per connection; its yes/no parts are bits of the connection's `flags`), the closing
 * times ({@link ClockEnd}) in an object made when the connection starts closing (null before).
 * The connection stores timestamps there (`wheel.now`, read per message only when a timer uses it:
 * TRACK_RECEIVED, TRACK_MESSAGE); `clockNext` gives the earliest deadline (or -1) and `clockDue`
 * what is due at `now`, in this order: the transport close timeout (for a failed connection:
 * FAILED_LINGER after its close frame and FIN are out and the peer went quiet), the closing
 * handshake timeout, then (open connections) the idle timeout, the pong timeout, the heartbeat
 * ping (`clockDue` records the ping as sent). `clockFire` does what is due through the connection
 * ({@link ClockHost}).
 */
import type { EventEmitter } from "node:events";
import type { ResolvedConnectionOptions } from "./options.js";
import { emitSafe } from "./shaped-emitter.js";
import { type TimerEntry, wheel } from "./timer-wheel.js";

/** Used when closeTimeout is 0 ("no limit" would leak half-closed sockets forever): 30 s. */
const CLOSE_FALLBACK = 30_000;

/**
 * A failed connection (RFC 6455 7.1.7) is destroyed once its close frame and FIN are written and
 * the peer has sent nothing for this long (ms), instead of waiting the whole close timeout for a
 * peer that may never close. The pause lets the peer read the close frame first: destroying a
 * socket with unread input sends a RST, which can discard it.
 */
export const FAILED_LINGER = 250;

/** What `clockDue` asks the connection to do. */
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

/** `flags` bits of the clock (the connection's own bits start at CLOCK_BITS). A ping is out, its pong not back. */
export const AWAITING_PONG = 1;
/** The connection failed (not a closing handshake): see FAILED_LINGER. */
export const FAILED = 2;
/** A timer reads lastReceived (heartbeat, a failed connection's linger). */
export const TRACK_RECEIVED = 4;
/** A timer reads lastMessage (idle timeout). */
export const TRACK_MESSAGE = 8;
/** Reading is paused (Connection#pause): the heartbeat and the idle timeout wait. */
export const PAUSED = 16;
/** The hixie drafts have no ping frames: no heartbeat for them (idle and close timers still apply). */
const CAN_PING = 32;
/** The first bit free for the connection's own flags. */
export const CLOCK_BITS = 64;

/** The clock's fields, kept in the connection object (Connection implements it). */
export interface ClockState {
  flags: number;
  /** When the peer was last heard from; while a ping awaits its pong (AWAITING_PONG), when it left. */
  lastReceived: number;
  lastMessage: number;
}

/** The clock's closing times, kept with the connection's rarely used state (connection-rare.ts). */
export interface ClockEnd {
  /** When the engine asked for a close timeout (awaitClose: our close frame left), or -1. */
  closeStartedAt: number;
  /** When the transport close began, or -1. */
  transportClosing: number;
  /** When a failed connection's close frame and FIN were written out, or -1. */
  flushedAt: number;
}

/** The clock's starting flags. */
export function clockFlags(options: ResolvedConnectionOptions, canPing: boolean): number {
  return (
    (canPing ? CAN_PING : 0) |
    (options.pingInterval > 0 ? TRACK_RECEIVED : 0) |
    (options.idleTimeout > 0 ? TRACK_MESSAGE : 0)
  );
}

/** The peer was heard from: the heartbeat starts afresh, a pong is no longer awaited. */
export function clockHeard(c: ClockState): void {
  const f = c.flags;
  if ((f & TRACK_RECEIVED) !== 0) c.lastReceived = wheel.now;
  if ((f & AWAITING_PONG) !== 0) c.flags = f & ~AWAITING_PONG;
}

/** Reading resumed: the heartbeat, the pong timeout and the idle timeout start afresh at `now`. */
export function clockResume(c: ClockState, now: number): void {
  c.flags &= ~PAUSED;
  c.lastReceived = now;
  c.lastMessage = now;
}

/** The earliest moment something must be checked, or -1. */
export function clockNext(c: ClockState, end: ClockEnd | null, o: ResolvedConnectionOptions, open: boolean): number {
  let next = Infinity;
  if (end !== null && end.transportClosing !== -1) {
    next = transportDeadline(c, end, o);
  } else if (end !== null && end.closeStartedAt !== -1) {
    next = end.closeStartedAt + (o.closeTimeout || CLOSE_FALLBACK);
  } else if (open && (c.flags & PAUSED) === 0) {
    if (o.pingInterval > 0 && (c.flags & CAN_PING) !== 0) {
      // Awaiting a pong: its timeout (from the ping's time); without one (pongTimeout 0), the next ping.
      const wait = (c.flags & AWAITING_PONG) !== 0 && o.pongTimeout > 0 ? o.pongTimeout : o.pingInterval;
      next = c.lastReceived + wait;
    }
    if (o.idleTimeout > 0) next = Math.min(next, c.lastMessage + o.idleTimeout);
  }
  return next === Infinity ? -1 : next;
}

/**
 * The transport close began at `now`. A failed connection (`failed`, RFC 6455 7.1.7) that ends
 * its transport itself (`ending`) lingers: FAILED_LINGER after its close frame and FIN are out
 * (`flushedAt`) and the peer went quiet (`lastReceived`, tracked from now on).
 */
export function clockTransportClosing(
  c: ClockState,
  end: ClockEnd,
  now: number,
  failed: boolean,
  ending: boolean,
): void {
  end.transportClosing = now;
  if (!failed) return;
  c.flags |= FAILED;
  if (!ending) return;
  c.flags |= TRACK_RECEIVED;
  c.lastReceived = now;
}

/** Put the connection on the timer wheel at its next deadline, or take it off. */
export function clockArm(
  c: ClockState & TimerEntry,
  end: ClockEnd | null,
  o: ResolvedConnectionOptions,
  open: boolean,
): void {
  const next = clockNext(c, end, o, open);
  if (next === -1) wheel.cancel(c);
  else if (next !== c.deadline) wheel.schedule(c, next);
}

/** When the socket of a closing transport is destroyed: the close timeout, or a failed connection's linger. */
function transportDeadline(c: ClockState, end: ClockEnd, o: ResolvedConnectionOptions): number {
  const timeout = end.transportClosing + (o.closeTimeout || CLOSE_FALLBACK);
  if ((c.flags & FAILED) === 0 || end.flushedAt === -1) return timeout;
  return Math.min(timeout, Math.max(end.flushedAt, c.lastReceived) + FAILED_LINGER);
}

/** What is due at `now` (see the module comment). */
export function clockDue(
  c: ClockState,
  end: ClockEnd | null,
  o: ResolvedConnectionOptions,
  now: number,
  open: boolean,
): Due {
  if (end !== null && end.transportClosing !== -1) {
    return now >= transportDeadline(c, end, o) ? Due.DESTROY : Due.NOTHING;
  }
  if (end !== null && end.closeStartedAt !== -1) {
    return now >= end.closeStartedAt + (o.closeTimeout || CLOSE_FALLBACK) ? Due.TERMINATE : Due.NOTHING;
  }
  if (!open || (c.flags & PAUSED) !== 0) return Due.NOTHING;
  if (o.idleTimeout > 0 && now >= c.lastMessage + o.idleTimeout) return Due.IDLE_CLOSE;
  if (o.pingInterval > 0 && (c.flags & CAN_PING) !== 0) {
    if ((c.flags & AWAITING_PONG) !== 0 && o.pongTimeout > 0) {
      if (now >= c.lastReceived + o.pongTimeout) return Due.PONG_TIMEOUT;
    } else if (now >= c.lastReceived + o.pingInterval) {
      // (With no pong timeout, a peer that does not answer is pinged again every pingInterval.)
      c.lastReceived = now; // the ping's time, until the peer is heard from
      c.flags |= AWAITING_PONG;
      return Due.PING;
    }
  }
  return Due.NOTHING;
}

/** The two ClockHost methods whose names an application would most likely give its own fields: keyed by symbols. */
export const FINISH: unique symbol = Symbol("wirecable.finish");
export const HEARTBEAT: unique symbol = Symbol("wirecable.heartbeat");

/** What a connection does for its timers (Connection implements it). */
export interface ClockHost extends ClockState, Pick<EventEmitter, "emit"> {
  destroyTransport(): void;
  /** The transport is gone: stop timers, report the close. */
  [FINISH](): void;
  terminate(): void;
  close(code: number, reason: string): void;
  /** Send the heartbeat ping. */
  [HEARTBEAT](): void;
}

/** Do what is due at `now` (clockDue); false when the connection is ending at once (its timer is not re-armed). */
export function clockFire(
  c: ClockHost,
  end: ClockEnd | null,
  o: ResolvedConnectionOptions,
  now: number,
  open: boolean,
): boolean {
  switch (clockDue(c, end, o, now, open)) {
    case Due.DESTROY:
      c.destroyTransport();
      c[FINISH]();
      return false;
    case Due.TERMINATE:
      c.terminate();
      return false;
    case Due.PONG_TIMEOUT:
      emitSafe(c, "error", new Error("pong timeout: terminating"));
      c.terminate();
      return false;
    case Due.IDLE_CLOSE:
      c.close(1001, "idle timeout");
      break;
    case Due.PING:
      c[HEARTBEAT]();
      break;
  }
  return true;
}
