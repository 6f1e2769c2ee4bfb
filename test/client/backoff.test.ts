// Backoff: exponential with full jitter, its bounds and cap, reset after a stable open,
// maxRetries, shouldReconnect defaults. Deterministic: fake clock, scripted sockets.
import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import {
  backoffCeiling,
  backoffDelay,
  type ClientEventMap,
  DEFAULT_BACKOFF,
  defaultShouldReconnect,
  ReconnectingWebSocket,
} from "../../src/client/index.js";
import { FakeClock } from "./helpers/fake-clock.js";
import { FakeWebSocket } from "./helpers/fake-websocket.js";

function make(clock: FakeClock, options: ConstructorParameters<typeof ReconnectingWebSocket>[1] = {}) {
  const client = new ReconnectingWebSocket("ws://example.test/", {
    WebSocket: FakeWebSocket,
    transports: ["websocket"],
    clock,
    environment: null,
    connectionTimeout: 0,
    ...options,
  });
  const reconnecting: ClientEventMap["reconnecting"][] = [];
  const closed: ClientEventMap["closed"][] = [];
  client.on("reconnecting", (e) => reconnecting.push(e));
  client.on("closed", (e) => closed.push(e));
  return { client, reconnecting, closed };
}

/** Fail the current attempt and fire the retry timer. */
function failAndRetry(clock: FakeClock, delay: number): void {
  FakeWebSocket.last.serverClose(1006);
  clock.advance(delay);
}

describe("backoff computation", () => {
  it("ceiling grows by factor from the initial delay and stops at the cap", () => {
    const ceilings = Array.from({ length: 8 }, (_, i) => backoffCeiling(i, DEFAULT_BACKOFF));
    assert.deepEqual(ceilings, [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
    assert.equal(backoffCeiling(10_000, DEFAULT_BACKOFF), 30_000, "no overflow to Infinity or NaN");
  });

  it("full jitter stays in [0, ceiling)", () => {
    for (let attempt = 0; attempt < 12; attempt++) {
      const ceiling = backoffCeiling(attempt, DEFAULT_BACKOFF);
      assert.equal(backoffDelay(attempt, DEFAULT_BACKOFF, 0), 0);
      const top = backoffDelay(attempt, DEFAULT_BACKOFF, 0.999999);
      assert.ok(top < ceiling && top >= ceiling - 1, `attempt ${attempt}: ${top} vs ${ceiling}`);
    }
    assert.equal(backoffDelay(3, { ...DEFAULT_BACKOFF, jitter: "none" }, 0.1), 8000);
  });
});

describe("reconnect schedule", () => {
  beforeEach(() => FakeWebSocket.reset());

  it("waits random * min(30 s, 1 s * 2^n) between attempts, jitter from the clock", () => {
    const clock = new FakeClock();
    clock.defaultRandom = 0.5;
    const { reconnecting } = make(clock);
    for (let i = 0; i < 8; i++) failAndRetry(clock, 60_000);
    assert.deepEqual(
      reconnecting.map((e) => e.delay),
      [500, 1000, 2000, 4000, 8000, 15000, 15000, 15000],
    );
    assert.deepEqual(
      reconnecting.map((e) => e.attempt),
      [1, 2, 3, 4, 5, 6, 7, 8],
    );
    assert.equal(FakeWebSocket.instances.length, 9);
  });

  it("does not connect before the jittered delay has elapsed", () => {
    const clock = new FakeClock();
    clock.randoms = [0.25];
    const { client } = make(clock);
    FakeWebSocket.last.serverClose(1006);
    assert.equal(client.state, "reconnecting");
    clock.advance(249);
    assert.equal(FakeWebSocket.instances.length, 1);
    clock.advance(1);
    assert.equal(FakeWebSocket.instances.length, 2);
    assert.equal(client.state, "connecting");
  });

  it("honours custom initialDelay, factor and maxDelay", () => {
    const clock = new FakeClock();
    clock.defaultRandom = 0.999;
    const { reconnecting } = make(clock, { initialDelay: 100, factor: 3, maxDelay: 1000 });
    for (let i = 0; i < 5; i++) failAndRetry(clock, 10_000);
    assert.deepEqual(
      reconnecting.map((e) => e.delay),
      [99, 299, 899, 999, 999],
    );
  });

  it("resets the backoff once a connection stayed open minUptime", () => {
    const clock = new FakeClock();
    clock.defaultRandom = 0.999;
    const { client, reconnecting } = make(clock, { minUptime: 5000 });
    for (let i = 0; i < 4; i++) failAndRetry(clock, 60_000);
    assert.equal(client.failures, 4);
    FakeWebSocket.last.serverOpen();
    clock.advance(4999);
    assert.equal(client.failures, 4, "not yet stable");
    clock.advance(1);
    assert.equal(client.failures, 0);
    FakeWebSocket.last.serverClose(1001);
    assert.equal(reconnecting.at(-1)!.delay, 999, "back to the initial ceiling");
    assert.equal(reconnecting.at(-1)!.attempt, 1);
  });

  it("does not reset after an open that drops before minUptime (flapping server)", () => {
    const clock = new FakeClock();
    clock.defaultRandom = 0.999;
    const { reconnecting } = make(clock, { minUptime: 5000 });
    for (let i = 0; i < 3; i++) {
      FakeWebSocket.last.serverOpen();
      clock.advance(100);
      failAndRetry(clock, 60_000);
    }
    assert.deepEqual(
      reconnecting.map((e) => e.delay),
      [999, 1998, 3996],
    );
  });

  it("minUptime 0 resets on every successful open", () => {
    const clock = new FakeClock();
    clock.defaultRandom = 0.999;
    const { reconnecting } = make(clock, { minUptime: 0 });
    failAndRetry(clock, 60_000);
    failAndRetry(clock, 60_000);
    FakeWebSocket.last.serverOpen();
    FakeWebSocket.last.serverClose(1006);
    assert.deepEqual(
      reconnecting.map((e) => e.delay),
      [999, 1998, 999],
    );
  });

  it("stops after maxRetries consecutive failures, with cause retries-exhausted", () => {
    const clock = new FakeClock();
    const { client, closed } = make(clock, { maxRetries: 3 });
    for (let i = 0; i < 3; i++) failAndRetry(clock, 60_000);
    assert.equal(FakeWebSocket.instances.length, 4, "first attempt + 3 retries");
    assert.equal(client.state, "connecting");
    FakeWebSocket.last.serverClose(1006, "gone");
    assert.equal(client.state, "closed");
    assert.equal(closed.length, 1);
    assert.equal(closed[0]!.cause, "retries-exhausted");
    assert.equal(closed[0]!.code, 1006);
    clock.advance(120_000);
    assert.equal(FakeWebSocket.instances.length, 4, "no further attempt");
    assert.equal(clock.pending, 0, "no timer left behind");
  });

  it("maxRetries 0 never retries", () => {
    const clock = new FakeClock();
    const { client } = make(clock, { maxRetries: 0 });
    FakeWebSocket.last.serverClose(1006);
    assert.equal(client.state, "closed");
  });
});

describe("shouldReconnect", () => {
  beforeEach(() => FakeWebSocket.reset());

  it("default: no reconnect after 1008 or 4000-4999, reconnect otherwise", () => {
    const info = (code: number) => ({ code, reason: "", wasClean: true });
    for (const code of [1008, 4000, 4001, 4403, 4999])
      assert.equal(defaultShouldReconnect(info(code)), false, `${code}`);
    for (const code of [1000, 1001, 1005, 1006, 1011, 1012, 1013, 3000, 3999, 5000]) {
      assert.equal(defaultShouldReconnect(info(code)), true, `${code}`);
    }
  });

  for (const code of [1008, 4001]) {
    it(`a server close ${code} ends the client with cause should-not-reconnect`, () => {
      const clock = new FakeClock();
      const { client, closed, reconnecting } = make(clock);
      FakeWebSocket.last.serverOpen();
      FakeWebSocket.last.serverClose(code, "go away");
      assert.equal(client.state, "closed");
      assert.deepEqual(closed, [{ code, reason: "go away", wasClean: true, cause: "should-not-reconnect" }]);
      assert.equal(reconnecting.length, 0);
      clock.advance(60_000);
      assert.equal(FakeWebSocket.instances.length, 1);
    });
  }

  it("a custom predicate decides", () => {
    const clock = new FakeClock();
    const seen: number[] = [];
    const { client } = make(clock, {
      shouldReconnect: (c) => {
        seen.push(c.code);
        return c.code !== 1000;
      },
    });
    FakeWebSocket.last.serverOpen();
    FakeWebSocket.last.serverClose(4001);
    assert.equal(client.state, "reconnecting", "4001 allowed by the custom predicate");
    clock.advance(60_000);
    FakeWebSocket.last.serverOpen();
    FakeWebSocket.last.serverClose(1000);
    assert.equal(client.state, "closed");
    assert.deepEqual(seen, [4001, 1000]);
  });
});
