/** ConnectionClock: deadlines and what is due, in the documented order. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConnectionClock, Due, FAILED_LINGER } from "../../src/node/connection-clock.js";
import { resolveConnectionOptions } from "../../src/node/options.js";

const options = (o: Record<string, number>) =>
  resolveConnectionOptions({ pingInterval: 0, pongTimeout: 0, idleTimeout: 0, closeTimeout: 1000, ...o });

describe("ConnectionClock", () => {
  it("has no deadline without heartbeat or idle timeout, and reads the clock only for the timers in use", () => {
    const clock = new ConnectionClock(options({}), true, 0);
    assert.equal(clock.next(true), -1);
    assert.equal(clock.trackReceived, false);
    assert.equal(clock.trackMessage, false);
    assert.equal(clock.due(1e9, true), Due.NOTHING);
  });

  it("pings after pingInterval of silence, then times out without a pong", () => {
    const clock = new ConnectionClock(options({ pingInterval: 100, pongTimeout: 50 }), true, 0);
    assert.equal(clock.trackReceived, true);
    assert.equal(clock.next(true), 100);
    assert.equal(clock.due(99, true), Due.NOTHING);
    assert.equal(clock.due(100, true), Due.PING);
    assert.equal(clock.awaitingPong, true);
    assert.equal(clock.next(true), 150);
    assert.equal(clock.due(149, true), Due.NOTHING);
    assert.equal(clock.due(150, true), Due.PONG_TIMEOUT);
  });

  it("sends no heartbeat for drafts without ping frames", () => {
    const clock = new ConnectionClock(options({ pingInterval: 100 }), false, 0);
    assert.equal(clock.next(true), -1);
    assert.equal(clock.due(1000, true), Due.NOTHING);
  });

  it("idle timeout comes before the heartbeat, and nothing but close timers once not open", () => {
    const clock = new ConnectionClock(options({ pingInterval: 100, idleTimeout: 80 }), true, 0);
    assert.equal(clock.next(true), 80);
    assert.equal(clock.due(200, true), Due.IDLE_CLOSE);
    assert.equal(clock.next(false), -1);
    assert.equal(clock.due(200, false), Due.NOTHING);
  });

  it("close timers win: the closing handshake, then the transport close (30 s when closeTimeout is 0)", () => {
    const clock = new ConnectionClock(options({ idleTimeout: 10 }), true, 0);
    clock.closeStartedAt = 5;
    assert.equal(clock.next(true), 1005);
    assert.equal(clock.due(1004, true), Due.NOTHING);
    assert.equal(clock.due(1005, true), Due.TERMINATE);
    clock.transportClosing = 20;
    assert.equal(clock.due(1020, true), Due.DESTROY);
    const noLimit = new ConnectionClock(options({ closeTimeout: 0 }), true, 0);
    noLimit.transportClosing = 0;
    assert.equal(noLimit.next(false), 30_000);
  });

  it("a failed connection is destroyed FAILED_LINGER after its FIN is out and the peer went quiet, at most at the close timeout", () => {
    const clock = new ConnectionClock(options({ closeTimeout: 10_000 }), true, 0);
    clock.transportClosing = 100;
    clock.failed = true;
    assert.equal(clock.next(false), 10_100, "close frame and FIN not written yet: the close timeout");
    clock.flushedAt = 150;
    clock.lastReceived = 120;
    assert.equal(clock.next(false), 150 + FAILED_LINGER);
    clock.lastReceived = 400; // the peer still sends: wait until it is quiet
    assert.equal(clock.next(false), 400 + FAILED_LINGER);
    assert.equal(clock.due(400 + FAILED_LINGER - 1, false), Due.NOTHING);
    assert.equal(clock.due(400 + FAILED_LINGER, false), Due.DESTROY);
    clock.lastReceived = 20_000; // a peer that never stops: the close timeout still holds
    assert.equal(clock.next(false), 10_100);
  });
});
