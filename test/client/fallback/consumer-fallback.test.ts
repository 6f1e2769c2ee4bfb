/**
 * The ActionCable consumer over the HTTP fallback, against CableServer with `fallback`, behind a
 * proxy that strips Upgrade: welcome, pings (the stale check stays quiet), subscribe, perform,
 * broadcasts, the delivery extensions (acknowledged performs, presence, history on resume) and
 * a server restart with resubscription. The official @rails/actioncable client keeps its
 * WebSocket (nothing of this touches it).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { MemoryBroker } from "../../../src/channels/brokers/memory.js";
import { CableServer, Channel } from "../../../src/channels/index.js";
import { type Consumer, createConsumer, type PresenceChange } from "../../../src/client/index.js";
import { WebSocket } from "../../../src/node/websocket.js";
import { BlockingProxy } from "../../helpers/blocking-proxy.js";
import { UNIT, until } from "../../helpers/time.js";

class Room extends Channel<unknown, { channel: string; room: string; member?: string }> {
  override async subscribed(): Promise<void> {
    const stream = `room:${this.params.room}`;
    await this.streamFrom(stream, { presence: true });
    if (this.params.member)
      await this.joinPresence(stream, { id: this.params.member, info: { n: this.params.member } });
  }
  speak(data: { text: string }): void {
    void this.broadcast(`room:${this.params.room}`, { text: data.text });
  }
  add(data: { a: number; b: number }): number {
    return data.a + data.b;
  }
}

let cable: CableServer;
let proxy: BlockingProxy;
const consumers: Consumer[] = [];

before(async () => {
  cable = new CableServer({
    port: 0,
    host: "127.0.0.1",
    channels: { Room },
    broker: new MemoryBroker({ history: { limit: 50 } }),
    pingInterval: 200,
    fallback: true,
  });
  await cable.ready;
  proxy = new BlockingProxy("strip");
  await proxy.listen(`http://127.0.0.1:${(cable.address() as { port: number }).port}`);
});

after(async () => {
  for (const c of consumers) c.disconnect();
  await proxy.close();
  await cable.close();
});

function consumer(): Consumer {
  const c = createConsumer(`${proxy.origin}/cable`, {
    WebSocket,
    environment: null,
    initialDelay: 20,
    maxDelay: 200,
    staleTimeout: 20 * UNIT,
  });
  consumers.push(c);
  return c;
}

describe("the ActionCable consumer over the HTTP fallback", () => {
  it("subscribes, performs, receives broadcasts, acknowledged performs and presence", async () => {
    const alice = consumer();
    const bob = consumer();
    const got: unknown[] = [];
    const presence: PresenceChange[] = [];
    let connected = 0;
    const a = alice.subscriptions.create(
      { channel: "Room", room: "lobby", member: "alice" },
      {
        received: (d: unknown) => got.push(d),
        connected: () => connected++,
        presence: (p: PresenceChange) => presence.push(p),
      },
    );
    const b = bob.subscriptions.create({ channel: "Room", room: "lobby", member: "bob" }, {});
    await until(() => connected === 1, "alice subscribed");
    assert.equal(alice.client.transport, "sse");
    assert.equal(alice.extended, true, "the extensions run over the fallback too");
    await until(() => presence.some((p) => p.joins.some((j) => j.id === "bob")), "bob's presence reaches alice");
    b.perform("speak", { text: "hello over http" });
    await until(() => got.length === 1, "the broadcast");
    assert.deepEqual(got, [{ text: "hello over http" }]);
    assert.equal(await a.perform("add", { a: 2, b: 40 }, { ack: true }), 42);
  });

  it("pings keep it fresh; a server restart: both reconnect over the fallback and resubscribe", async () => {
    const c = consumer();
    let connected = 0;
    let disconnected = 0;
    c.subscriptions.create(
      { channel: "Room", room: "restart" },
      { connected: () => connected++, disconnected: () => disconnected++ },
    );
    await until(() => connected === 1, "subscribed");
    // Five heartbeats (every 200 ms) arrive over the stream, without an error or a reconnection.
    const errors: string[] = [];
    let pings = 0;
    c.client.on("error", (e) => errors.push(e.kind));
    c.client.on("message", ({ data }) => {
      if (String(data).includes('"type":"ping"')) pings++;
    });
    await until(() => pings >= 5, "five pings");
    assert.deepEqual(errors, []);
    assert.equal(connected, 1);
    await cable.restart();
    await until(() => connected === 2, "resubscribed after the restart", 50 * UNIT);
    assert.equal(disconnected, 1);
    assert.equal(c.client.transport, "sse");
  });
});
