// The channels consumer over real TCP against a tiny ActionCable server (on `ws`): subscribe,
// perform, broadcasts, server restart with resubscription, retry of an unconfirmed subscribe,
// rejection, `disconnect` with and without reconnect.
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import WS from "ws";
import { type Consumer, type ConsumerOptions, createConsumer } from "../../src/client/index.js";
import { sleep, UNIT, until } from "../helpers/time.js";
import { FakeCableServer } from "./helpers/fake-cable-server.js";
import { nextEvent } from "./helpers/servers.js";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function cable(): Promise<FakeCableServer> {
  const s = new FakeCableServer();
  s.pingInterval = 50;
  await s.start(0);
  cleanups.push(() => s.kill());
  return s;
}

function consumer(port: number, options: ConsumerOptions = {}): Consumer {
  const c = createConsumer(`http://127.0.0.1:${port}/cable`, {
    WebSocket: WS,
    environment: null,
    initialDelay: 20,
    maxDelay: 100,
    minUptime: 0,
    staleTimeout: 1000,
    subscribeRetryInterval: 100,
    ...options,
  });
  cleanups.push(() => c.disconnect());
  return c;
}

const ROOM = { channel: "ChatChannel", room: "lobby" };
const ROOM_ID = JSON.stringify(ROOM);

describe("consumer against a fake ActionCable server", () => {
  it("subscribes, performs, receives echoes and broadcasts", async () => {
    const srv = await cable();
    const c = consumer(srv.port);
    const received: unknown[] = [];
    let connected = 0;
    const sub = c.subscriptions.create(ROOM, {
      connected() {
        connected++;
      },
      received(data) {
        received.push(data);
      },
    });
    await until(() => connected === 1, "confirmation");
    assert.equal(c.url, `ws://127.0.0.1:${srv.port}/cable`);
    assert.equal(sub.perform("speak", { text: "hi" }), "sent");
    await until(() => received.length === 1, "echo");
    assert.equal(srv.broadcast(ROOM_ID, { text: "from server" }), 1);
    await until(() => received.length === 2, "echo and broadcast");
    assert.deepEqual(received, [{ echo: { text: "hi", action: "speak" } }, { text: "from server" }]);
  });

  it("server restart: disconnected, resubscribed, connected(reconnected); actions performed meanwhile arrive once, in order", async () => {
    const srv = await cable();
    const c = consumer(srv.port);
    const log: string[] = [];
    const sub = c.subscriptions.create(ROOM, {
      connected(d) {
        log.push(`connected ${d.reconnected}`);
      },
      disconnected(d) {
        log.push(`disconnected ${d.willAttemptReconnect}`);
      },
    });
    await until(() => sub.confirmed, "first confirmation");
    const down = nextEvent(c.client, "reconnecting");
    await srv.kill();
    await down;
    for (let i = 0; i < 5; i++) assert.equal(sub.perform("note", { i }), "queued");
    await sleep(UNIT);
    await srv.start();
    await until(() => log.length === 3, "reconnection");
    assert.deepEqual(log, ["connected false", "disconnected true", "connected true"]);
    await until(() => srv.commands.filter((x) => x.command === "message").length === 5, "the actions");
    const second = srv.commands.filter((x) => x.connection > 1);
    assert.equal(second[0]!.command, "subscribe", "resubscribed before any action");
    assert.deepEqual(
      second.filter((x) => x.command === "message").map((x) => (x.data as { i: number }).i),
      [0, 1, 2, 3, 4],
    );
    await sleep(0.5 * UNIT);
    assert.equal(srv.commands.filter((x) => x.command === "message").length, 5, "exactly once");
  });

  it("retries a subscribe the server did not confirm", async () => {
    const srv = await cable();
    srv.ignoreSubscribes = 2;
    const c = consumer(srv.port);
    const sub = c.subscriptions.create(ROOM);
    await until(() => sub.confirmed, "confirmation after retries", 30 * UNIT);
    assert.equal(srv.commands.filter((x) => x.command === "subscribe").length, 3);
  });

  it("rejection calls rejected() and does not resubscribe", async () => {
    const srv = await cable();
    srv.reject.add("SecretChannel");
    const c = consumer(srv.port);
    let rejected = false;
    c.subscriptions.create(
      { channel: "SecretChannel" },
      {
        rejected() {
          rejected = true;
        },
      },
    );
    await until(() => rejected, "rejection");
    await sleep(2.5 * UNIT);
    assert.equal(srv.commands.filter((x) => x.command === "subscribe").length, 1);
  });

  it("disconnect reconnect:false stops for good; reconnect:true comes back", async () => {
    const srv = await cable();
    const c = consumer(srv.port);
    const sub = c.subscriptions.create(ROOM);
    await until(() => sub.confirmed, "confirmation");
    srv.disconnectAll("server_restart", true);
    await until(() => srv.subscribedCount(ROOM_ID) === 1 && srv.connections === 2, "reconnection");
    srv.disconnectAll("unauthorized", false);
    await nextEvent(c.client, "closed");
    await sleep(2 * UNIT);
    assert.equal(srv.connections, 2);
    assert.equal(c.client.state, "closed");
  });

  it("unsubscribe reaches the server", async () => {
    const srv = await cable();
    const c = consumer(srv.port);
    const sub = c.subscriptions.create(ROOM);
    await until(() => sub.confirmed, "confirmation");
    sub.unsubscribe();
    await until(() => srv.subscribedCount(ROOM_ID) === 0, "unsubscribe");
  });
});

describe("the fake ActionCable server itself", () => {
  it("is faithful enough for the official @rails/actioncable client", async () => {
    const srv = await cable();
    const g = globalThis as unknown as Record<string, unknown>;
    // Its ConnectionMonitor listens to visibilitychange on the global object.
    g.addEventListener ??= () => {};
    g.removeEventListener ??= () => {};
    const spec = "@rails/actioncable/app/assets/javascripts/actioncable.esm.js";
    // biome-ignore lint/suspicious/noExplicitAny: the official client ships no types
    const ActionCable: any = await import(spec);
    ActionCable.adapters.WebSocket = WS;
    const official = ActionCable.createConsumer(`ws://127.0.0.1:${srv.port}/cable`);
    cleanups.push(() => official.disconnect());
    const received: unknown[] = [];
    let connected = false;
    const sub = official.subscriptions.create(ROOM, {
      connected() {
        connected = true;
      },
      received(data: unknown) {
        received.push(data);
      },
    });
    await until(() => connected, "official client confirmed");
    sub.perform("speak", { text: "official" });
    await until(() => received.length === 1, "echo");
    assert.deepEqual(received, [{ echo: { text: "official", action: "speak" } }]);
  });
});
