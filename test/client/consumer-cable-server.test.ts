// The consumer against wirecable's own ActionCable server (src/channels, on src/node's
// WebSocketServer): channel actions, broadcasts, rejection, the server's pings keeping the
// connection fresh, a server restart on the same port with resubscription, and `close()`'s
// server_restart disconnect. Every scenario runs over wirecable's own WebSocket (frames that
// arrive in the same TCP read as the 101, like CableServer's welcome, included) and over `ws`.
import assert from "node:assert/strict";
import { afterEach, before, describe, it } from "node:test";
import WS from "ws";
import { CableServer, Channel } from "../../src/channels/index.js";
import {
  type Consumer,
  type ConsumerOptions,
  createConsumer,
  type WebSocketConstructorLike,
} from "../../src/client/index.js";
import { WebSocket as WirecableWebSocket } from "../../src/node/index.js";
import { sleep, UNIT, until } from "../helpers/time.js";
import { nextEvent } from "./helpers/servers.js";

class ChatChannel extends Channel {
  override subscribed(params: Record<string, unknown>): void {
    if (params.room === "forbidden") {
      this.reject();
      return;
    }
    void this.streamFrom(`chat:${String(params.room)}`);
  }
  speak(data: Record<string, unknown>): void {
    void this.broadcast(`chat:${String(this.params.room)}`, { text: data.text });
  }
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function cableServer(port = 0): Promise<CableServer> {
  const server = new CableServer({ port, host: "127.0.0.1", channels: { ChatChannel }, pingInterval: 100 });
  await server.ready;
  cleanups.push(() => server.close());
  return server;
}

function portOf(server: CableServer): number {
  return (server.address() as { port: number }).port;
}

const IMPLEMENTATIONS: Array<[string, WebSocketConstructorLike]> = [
  ["wirecable", WirecableWebSocket],
  ["ws", WS],
];
let impl: WebSocketConstructorLike = WirecableWebSocket;

function consumer(port: number, options: ConsumerOptions = {}): Consumer {
  const c = createConsumer(`ws://127.0.0.1:${port}/cable`, {
    WebSocket: impl,
    environment: null,
    initialDelay: 20,
    maxDelay: 100,
    minUptime: 0,
    staleTimeout: 1000,
    subscribeRetryInterval: 200,
    ...options,
  });
  cleanups.push(() => c.disconnect());
  return c;
}

for (const [name, ctor] of IMPLEMENTATIONS) {
  describe(`consumer against wirecable's CableServer, over ${name}'s WebSocket`, () => {
    before(() => {
      impl = ctor;
    });

    it("subscribes, performs an action and receives the broadcast", async () => {
      const server = await cableServer();
      const c = consumer(portOf(server));
      const received: unknown[] = [];
      const sub = c.subscriptions.create(
        { channel: "ChatChannel", room: "lobby" },
        {
          received(data) {
            received.push(data);
          },
        },
      );
      await until(() => sub.confirmed, "confirmation");
      assert.equal(c.client.protocol, "actioncable-v1-ext-json"); // our server takes the extensions
      assert.equal(sub.perform("speak", { text: "hello" }), "sent");
      await until(() => received.length === 1, "broadcast");
      assert.deepEqual(received, [{ text: "hello" }]);
      await sleep(3.5 * UNIT);
      assert.equal(c.client.state, "open", "the server's pings keep it fresh");
    });

    it("a rejected subscription calls rejected()", async () => {
      const server = await cableServer();
      const c = consumer(portOf(server));
      let rejected = false;
      c.subscriptions.create(
        { channel: "ChatChannel", room: "forbidden" },
        {
          rejected() {
            rejected = true;
          },
        },
      );
      await until(() => rejected, "rejection");
      assert.equal(c.subscriptions.all.length, 0);
    });

    it("server close (server_restart) then a new server on the same port: resubscribed, actions delivered", async () => {
      const first = await cableServer();
      const port = portOf(first);
      const c = consumer(port);
      const log: string[] = [];
      const received: unknown[] = [];
      const sub = c.subscriptions.create(
        { channel: "ChatChannel", room: "r1" },
        {
          connected(d) {
            log.push(`connected ${d.reconnected}`);
          },
          disconnected(d) {
            log.push(`disconnected ${d.willAttemptReconnect}`);
          },
          received(data) {
            received.push(data);
          },
        },
      );
      await until(() => sub.confirmed, "confirmation");
      const down = nextEvent(c.client, "reconnecting");
      await first.close();
      await down;
      assert.equal(sub.perform("speak", { text: "while down" }), "queued");
      await sleep(UNIT);
      await cableServer(port);
      await until(() => log.includes("connected true"), "resubscription");
      await until(() => received.length === 1, "the queued action, broadcast back");
      assert.deepEqual(received, [{ text: "while down" }]);
      assert.deepEqual(log, ["connected false", "disconnected true", "connected true"]);
    });
  });
}
