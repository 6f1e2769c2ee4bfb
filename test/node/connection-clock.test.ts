/** The connection clock: deadlines and what is due, in the documented order. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  AWAITING_PONG,
  type ClockEnd,
  type ClockState,
  clockDue,
  clockFlags,
  clockHeard,
  clockNext,
  clockResume,
  clockTransportClosing,
  Due,
  FAILED,
  FAILED_LINGER,
  PAUSED,
  TRACK_MESSAGE,
  TRACK_RECEIVED,
} from "../../src/node/connection-clock.js";
import { type ResolvedConnectionOptions, resolveConnectionOptions } from "../../src/node/options.js";

const options = (o: Record<string, number>) =>
  resolveConnectionOptions({ pingInterval: 0, pongTimeout: 0, idleTimeout: 0, closeTimeout: 1000, ...o });

/** A clock as a connection starts it, with its options bound (its closing times in the same object). */
function clock(o: ResolvedConnectionOptions, canPing: boolean, now: number) {
  const c: ClockState & ClockEnd = {
    flags: clockFlags(o, canPing),
    lastReceived: now,
    lastMessage: now,
    closeStartedAt: -1,
    transportClosing: -1,
    flushedAt: -1,
  };
  return Object.assign(c, {
    next: (open: boolean) => clockNext(c, c, o, open),
    due: (at: number, open: boolean) => clockDue(c, c, o, at, open),
    has: (bit: number) => (c.flags & bit) !== 0,
  });
}

describe("connection clock", () => {
  it("has no deadline without heartbeat or idle timeout, and reads the clock only for the timers in use", () => {
    const c = clock(options({}), true, 0);
    assert.equal(c.next(true), -1);
    assert.equal(c.has(TRACK_RECEIVED), false);
    assert.equal(c.has(TRACK_MESSAGE), false);
    assert.equal(c.due(1e9, true), Due.NOTHING);
  });

  it("pings after pingInterval of silence, then times out without a pong", () => {
    const c = clock(options({ pingInterval: 100, pongTimeout: 50 }), true, 0);
    assert.equal(c.has(TRACK_RECEIVED), true);
    assert.equal(c.next(true), 100);
    assert.equal(c.due(99, true), Due.NOTHING);
    assert.equal(c.due(100, true), Due.PING);
    assert.equal(c.has(AWAITING_PONG), true);
    assert.equal(c.next(true), 150);
    assert.equal(c.due(149, true), Due.NOTHING);
    assert.equal(c.due(150, true), Due.PONG_TIMEOUT);
  });

  it("times the pong from when the ping left (a late tick); hearing from the peer starts the heartbeat afresh", () => {
    const c = clock(options({ pingInterval: 100, pongTimeout: 50 }), true, 0);
    assert.equal(c.due(130, true), Due.PING);
    assert.equal(c.next(true), 180, "the pong timeout counts from the ping");
    assert.equal(c.due(179, true), Due.NOTHING);
    clockHeard(c);
    assert.equal(c.has(AWAITING_PONG), false);
    assert.equal(c.next(true), c.lastReceived + 100);
  });

  it("without a pong timeout, pings a silent peer again every pingInterval (and afresh once it is heard)", () => {
    const c = clock(options({ pingInterval: 100, pongTimeout: 0 }), true, 0);
    assert.equal(c.due(100, true), Due.PING);
    assert.equal(c.next(true), 200, "the next ping, not no deadline");
    assert.equal(c.due(199, true), Due.NOTHING);
    assert.equal(c.due(200, true), Due.PING);
    clockHeard(c);
    assert.equal(c.has(AWAITING_PONG), false);
    assert.equal(c.next(true), c.lastReceived + 100);
  });

  it("waits while paused, and starts the heartbeat and the pong timeout afresh on resume", () => {
    const c = clock(options({ pingInterval: 100, pongTimeout: 50, idleTimeout: 500 }), true, 0);
    assert.equal(c.due(100, true), Due.PING);
    c.flags |= PAUSED;
    assert.equal(c.next(true), -1);
    assert.equal(c.due(1000, true), Due.NOTHING);
    clockResume(c, 1000);
    assert.equal(c.has(PAUSED), false);
    assert.equal(c.has(AWAITING_PONG), true);
    assert.equal(c.next(true), 1050);
    assert.equal(c.lastMessage, 1000);
  });

  it("sends no heartbeat for drafts without ping frames", () => {
    const c = clock(options({ pingInterval: 100 }), false, 0);
    assert.equal(c.next(true), -1);
    assert.equal(c.due(1000, true), Due.NOTHING);
  });

  it("reads no closing times before the connection starts closing (none made: null)", () => {
    const o = options({ pingInterval: 100, idleTimeout: 80 });
    const c = clock(o, true, 0);
    assert.equal(clockNext(c, null, o, true), 80);
    assert.equal(clockDue(c, null, o, 80, true), Due.IDLE_CLOSE);
    assert.equal(clockNext(c, null, o, false), -1);
  });

  it("idle timeout comes before the heartbeat, and nothing but close timers once not open", () => {
    const c = clock(options({ pingInterval: 100, idleTimeout: 80 }), true, 0);
    assert.equal(c.next(true), 80);
    assert.equal(c.due(200, true), Due.IDLE_CLOSE);
    assert.equal(c.next(false), -1);
    assert.equal(c.due(200, false), Due.NOTHING);
  });

  it("close timers win: the closing handshake, then the transport close (30 s when closeTimeout is 0)", () => {
    const c = clock(options({ idleTimeout: 10 }), true, 0);
    c.closeStartedAt = 5;
    assert.equal(c.next(true), 1005);
    assert.equal(c.due(1004, true), Due.NOTHING);
    assert.equal(c.due(1005, true), Due.TERMINATE);
    c.transportClosing = 20;
    assert.equal(c.due(1020, true), Due.DESTROY);
    const noLimit = clock(options({ closeTimeout: 0 }), true, 0);
    noLimit.transportClosing = 0;
    assert.equal(noLimit.next(false), 30_000);
  });

  it("a failed connection is destroyed FAILED_LINGER after its FIN is out and the peer went quiet, at most at the close timeout", () => {
    const c = clock(options({ closeTimeout: 10_000 }), true, 0);
    c.transportClosing = 100;
    c.flags |= FAILED;
    assert.equal(c.next(false), 10_100, "close frame and FIN not written yet: the close timeout");
    c.flushedAt = 150;
    c.lastReceived = 120;
    assert.equal(c.next(false), 150 + FAILED_LINGER);
    c.lastReceived = 400; // the peer still sends: wait until it is quiet
    assert.equal(c.next(false), 400 + FAILED_LINGER);
    assert.equal(c.due(400 + FAILED_LINGER - 1, false), Due.NOTHING);
    assert.equal(c.due(400 + FAILED_LINGER, false), Due.DESTROY);
    c.lastReceived = 20_000; // a peer that never stops: the close timeout still holds
    assert.equal(c.next(false), 10_100);
  });

  it("marks a failed connection that ends its transport itself for the linger, and tracks the peer from then on", () => {
    const quiet = clock(options({ closeTimeout: 10_000 }), true, 0);
    clockTransportClosing(quiet, quiet, 100, false, true);
    assert.equal(quiet.transportClosing, 100);
    assert.equal(quiet.has(FAILED) || quiet.has(TRACK_RECEIVED), false, "a closing handshake: no linger");
    const waiting = clock(options({ closeTimeout: 10_000 }), true, 0);
    clockTransportClosing(waiting, waiting, 100, true, false);
    assert.equal(waiting.has(FAILED), true);
    assert.equal(waiting.has(TRACK_RECEIVED), false, "the peer ends the transport: nothing to linger on");
    const failed = clock(options({ closeTimeout: 10_000 }), true, 0);
    clockTransportClosing(failed, failed, 100, true, true);
    assert.equal(failed.has(TRACK_RECEIVED), true);
    assert.equal(failed.lastReceived, 100);
    failed.flushedAt = 120;
    assert.equal(failed.next(false), 120 + FAILED_LINGER);
  });
});
