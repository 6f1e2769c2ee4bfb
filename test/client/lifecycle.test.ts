// Lifecycle: synchronous, ordered events; close() is final and synchronous; connection
// timeout; async URL/protocol providers; the WebSocket constructor resolution; online and
// visibility signals through an injected environment.
import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import {
  type ClientOptions,
  type EnvironmentSource,
  ReconnectingWebSocket,
  type WebSocketConstructorLike,
} from "../../src/client/index.js";
import { FakeClock } from "./helpers/fake-clock.js";
import { FakeWebSocket } from "./helpers/fake-websocket.js";

function record(client: ReconnectingWebSocket): string[] {
  const log: string[] = [];
  client.on("connecting", (e) => log.push(`connecting ${e.attempt}`));
  client.on("open", (e) => log.push(`open ${e.attempt} ${e.protocol}`));
  client.on("message", (e) => log.push(`message ${String(e.data)}`));
  client.on("reconnecting", (e) => log.push(`reconnecting ${e.attempt} ${e.delay} ${e.close.code}`));
  client.on("closed", (e) => log.push(`closed ${e.code} ${e.cause}`));
  client.on("error", (e) => log.push(`error ${e.kind}`));
  return log;
}

function make(clock: FakeClock, options: ClientOptions = {}) {
  return new ReconnectingWebSocket("ws://example.test/", {
    WebSocket: FakeWebSocket,
    transports: ["websocket"],
    clock,
    environment: null,
    startClosed: true,
    ...options,
  });
}

class FakeEnvironment implements EnvironmentSource {
  online: Array<() => void> = [];
  visible: Array<() => void> = [];
  onOnline(listener: () => void) {
    this.online.push(listener);
    return () => {
      this.online = this.online.filter((l) => l !== listener);
    };
  }
  onVisible(listener: () => void) {
    this.visible.push(listener);
    return () => {
      this.visible = this.visible.filter((l) => l !== listener);
    };
  }
  fireOnline() {
    for (const l of [...this.online]) l();
  }
  fireVisible() {
    for (const l of [...this.visible]) l();
  }
}

describe("events", () => {
  beforeEach(() => FakeWebSocket.reset());

  it("reports every state change synchronously and in order", () => {
    const clock = new FakeClock();
    clock.defaultRandom = 0.5;
    const client = make(clock);
    const log = record(client);
    client.connect();
    assert.equal(client.state, "connecting");
    FakeWebSocket.last.serverOpen("chat");
    assert.equal(client.state, "open");
    assert.equal(client.protocol, "chat");
    FakeWebSocket.last.serverMessage("hello");
    FakeWebSocket.last.serverError();
    FakeWebSocket.last.serverClose(1006);
    assert.equal(client.state, "reconnecting");
    clock.advance(500);
    FakeWebSocket.last.serverOpen("chat");
    client.close();
    assert.deepEqual(log, [
      "connecting 0",
      "open 0 chat",
      "message hello",
      "error socket",
      "reconnecting 1 500 1006",
      "connecting 1",
      "open 1 chat",
      "closed 1000 client",
    ]);
  });

  it("close() is synchronous: state and event before it returns, no late close event", () => {
    const clock = new FakeClock();
    const client = make(clock);
    const log = record(client);
    client.connect();
    const ws = FakeWebSocket.last;
    ws.serverOpen();
    client.close(4000, "bye");
    assert.equal(client.state, "closed");
    assert.equal(client.readyState, 3);
    assert.deepEqual(log.at(-1), "closed 4000 client");
    assert.deepEqual(ws.closeCalls, [{ code: 4000, reason: "bye" }]);
    // The socket's own close event arrives later: it must not reach the client.
    ws.serverClose(4000, "bye", true);
    assert.equal(log.filter((l) => l.startsWith("closed")).length, 1);
    assert.equal(ws.listenerCount("close"), 0, "listeners removed");
    assert.ok(ws.listenerCount("error") >= 1, "a silent error listener stays (ws throws without one)");
    client.close();
    assert.equal(log.filter((l) => l.startsWith("closed")).length, 1, "idempotent");
  });

  it("no reconnect after close(), even while a retry was pending", () => {
    const clock = new FakeClock();
    const client = make(clock);
    client.connect();
    FakeWebSocket.last.serverClose(1006);
    assert.equal(client.state, "reconnecting");
    client.close();
    clock.advance(600_000);
    assert.equal(FakeWebSocket.instances.length, 1);
    assert.equal(clock.pending, 0);
  });

  it("close() during connecting closes the socket and stays closed", () => {
    const clock = new FakeClock();
    const client = make(clock);
    client.connect();
    client.close();
    assert.equal(FakeWebSocket.last.closeCalls.length, 1);
    FakeWebSocket.last.serverOpen();
    assert.equal(client.state, "closed");
  });

  it("rejects close codes a browser would refuse", () => {
    const client = make(new FakeClock());
    assert.throws(() => client.close(1001), RangeError);
    assert.throws(() => client.close(2999), RangeError);
  });

  it("connect() after close() starts again with a fresh backoff", () => {
    const clock = new FakeClock();
    const client = make(clock, { maxRetries: 1 });
    client.connect();
    FakeWebSocket.last.serverClose(1006);
    clock.advance(1000);
    FakeWebSocket.last.serverClose(1006);
    assert.equal(client.state, "closed");
    client.connect();
    assert.equal(client.state, "connecting");
    assert.equal(client.failures, 0);
    FakeWebSocket.last.serverOpen();
    assert.equal(client.state, "open");
  });

  it("a throwing listener is reported as an error and does not break the client", () => {
    const clock = new FakeClock();
    const client = make(clock);
    const errors: string[] = [];
    client.on("error", (e) => errors.push(`${e.kind}: ${e.error.message}`));
    client.on("open", () => {
      throw new Error("listener bug");
    });
    let second = false;
    client.on("open", () => {
      second = true;
    });
    client.connect();
    FakeWebSocket.last.serverOpen();
    assert.equal(client.state, "open");
    assert.ok(second, "later listeners still run");
    assert.deepEqual(errors, ["listener: listener bug"]);
  });

  it("reconnect() drops the connection and comes back after a jittered delay", () => {
    const clock = new FakeClock();
    clock.randoms = [0.3];
    const client = make(clock);
    const log = record(client);
    client.connect();
    const first = FakeWebSocket.last;
    first.serverOpen();
    client.reconnect();
    assert.equal(first.closeCalls.length, 1);
    assert.equal(client.state, "reconnecting");
    clock.advance(300);
    assert.equal(FakeWebSocket.instances.length, 2);
    assert.ok(log.includes("reconnecting 1 300 1000"));
  });
});

describe("connection timeout", () => {
  beforeEach(() => FakeWebSocket.reset());

  it("abandons an attempt that does not open in time and retries", () => {
    const clock = new FakeClock();
    clock.defaultRandom = 0;
    const client = make(clock, { connectionTimeout: 3000 });
    const log = record(client);
    client.connect();
    const first = FakeWebSocket.last;
    clock.advance(2999);
    assert.equal(client.state, "connecting");
    clock.advance(1);
    assert.equal(first.closeCalls.length, 1, "the hung socket is closed");
    assert.ok(log.includes("error timeout"));
    assert.ok(log.includes("reconnecting 1 0 1006"));
    clock.advance(0);
    assert.equal(FakeWebSocket.instances.length, 2);
    first.serverOpen(); // too late: ignored
    assert.equal(client.state, "connecting");
    FakeWebSocket.last.serverOpen();
    assert.equal(client.state, "open");
    clock.advance(60_000);
    assert.equal(client.state, "open", "the timeout is disarmed once open");
  });
});

describe("providers", () => {
  beforeEach(() => FakeWebSocket.reset());

  it("evaluates an async URL and protocols provider before every attempt (token refresh)", async () => {
    const clock = new FakeClock();
    let n = 0;
    const client = new ReconnectingWebSocket(async () => `ws://example.test/?token=t${++n}`, {
      WebSocket: FakeWebSocket,
      transports: ["websocket"],
      clock,
      environment: null,
      protocols: async () => ["v1", `token.${n}`],
    });
    assert.equal(client.state, "connecting");
    await new Promise((r) => setImmediate(r));
    assert.equal(FakeWebSocket.last.url, "ws://example.test/?token=t1");
    assert.deepEqual(FakeWebSocket.last.protocols, ["v1", "token.1"]);
    FakeWebSocket.last.serverClose(1006);
    clock.advance(1000);
    await new Promise((r) => setImmediate(r));
    assert.equal(FakeWebSocket.last.url, "ws://example.test/?token=t2");
    assert.equal(client.url, "ws://example.test/?token=t2");
    client.close();
  });

  it("a failing provider counts as a failed attempt and is retried", async () => {
    const clock = new FakeClock();
    let calls = 0;
    const kinds: string[] = [];
    const c2 = new ReconnectingWebSocket(
      async () => {
        calls++;
        if (calls === 1) throw new Error("token service down");
        return "ws://example.test/";
      },
      { WebSocket: FakeWebSocket, transports: ["websocket"], clock, environment: null },
    );
    c2.on("error", (e) => kinds.push(`${e.kind} ${e.error.message}`));
    await new Promise((r) => setImmediate(r));
    assert.equal(c2.state, "reconnecting");
    assert.deepEqual(kinds, ["provider token service down"]);
    clock.advance(1000);
    await new Promise((r) => setImmediate(r));
    assert.equal(FakeWebSocket.instances.length, 1);
    FakeWebSocket.last.serverOpen();
    assert.equal(c2.state, "open");
    c2.close();
  });

  it("close() while the provider is pending: the late result is ignored", async () => {
    const clock = new FakeClock();
    let release: (url: string) => void = () => {};
    const client = new ReconnectingWebSocket(() => new Promise<string>((r) => (release = r)), {
      WebSocket: FakeWebSocket,
      transports: ["websocket"],
      clock,
      environment: null,
    });
    client.close();
    release("ws://example.test/");
    await new Promise((r) => setImmediate(r));
    assert.equal(FakeWebSocket.instances.length, 0);
  });
});

describe("WebSocket constructor resolution", () => {
  it("throws a clear error naming the option when there is no WebSocket", () => {
    const g = globalThis as { WebSocket?: unknown };
    const saved = g.WebSocket;
    delete g.WebSocket;
    try {
      assert.throws(
        () => new ReconnectingWebSocket("ws://example.test/", { startClosed: true }),
        (e: Error) => e instanceof TypeError && /`WebSocket` option/.test(e.message),
      );
    } finally {
      if (saved !== undefined) g.WebSocket = saved;
    }
  });

  it("uses globalThis.WebSocket when present", () => {
    const g = globalThis as { WebSocket?: unknown };
    const saved = g.WebSocket;
    g.WebSocket = FakeWebSocket as unknown as WebSocketConstructorLike;
    FakeWebSocket.reset();
    try {
      const client = new ReconnectingWebSocket("ws://example.test/", { environment: null, clock: new FakeClock() });
      assert.equal(FakeWebSocket.instances.length, 1);
      client.close();
    } finally {
      if (saved === undefined) delete g.WebSocket;
      else g.WebSocket = saved;
    }
  });
});

describe("browser signals (injected environment)", () => {
  beforeEach(() => FakeWebSocket.reset());

  it("online: retries at once instead of waiting out the backoff", () => {
    const clock = new FakeClock();
    clock.defaultRandom = 0.99;
    const env = new FakeEnvironment();
    const client = make(clock, { environment: env });
    client.connect();
    for (let i = 0; i < 5; i++) {
      FakeWebSocket.last.serverClose(1006);
      clock.advance(60_000);
    }
    FakeWebSocket.last.serverClose(1006);
    assert.equal(client.state, "reconnecting");
    const before = FakeWebSocket.instances.length;
    env.fireOnline();
    assert.equal(FakeWebSocket.instances.length, before + 1);
    assert.equal(client.state, "connecting");
    env.fireOnline(); // while connecting: no duplicate attempt
    assert.equal(FakeWebSocket.instances.length, before + 1);
    client.close();
    assert.equal(env.online.length, 0, "unsubscribed on close");
    assert.equal(env.visible.length, 0);
  });

  it("visible: a pending retry runs now; an open connection with a silent peer is dropped", () => {
    const clock = new FakeClock();
    const env = new FakeEnvironment();
    const client = make(clock, { environment: env, staleTimeout: 10_000 });
    const log = record(client);
    client.connect();
    FakeWebSocket.last.serverClose(1006);
    env.fireVisible();
    assert.equal(client.state, "connecting");
    FakeWebSocket.last.serverOpen();
    // Timers were throttled in the background: simulate time passing without them firing.
    (clock as unknown as { now: () => number }).now = () => 20_000;
    env.fireVisible();
    assert.equal(client.state, "reconnecting");
    assert.ok(log.includes("error stale"));
    client.close();
  });

  it("visible: with a heartbeat, an open connection gets probed now", () => {
    const clock = new FakeClock();
    const env = new FakeEnvironment();
    const client = make(clock, { environment: env, heartbeat: { interval: 30_000, timeout: 2000, message: "ping" } });
    client.connect();
    FakeWebSocket.last.serverOpen();
    env.fireVisible();
    assert.deepEqual(FakeWebSocket.last.sent, ["ping"]);
    clock.advance(2000);
    assert.equal(client.state, "reconnecting");
    client.close();
  });
});
