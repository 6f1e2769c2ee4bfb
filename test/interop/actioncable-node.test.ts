/**
 * The official @rails/actioncable client, in Node over our WebSocket, against CableServer:
 * connect, subscribe/confirm, perform, broadcasts, rejection, unauthorized, server restart.
 */
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import WsWebSocket from "ws";
import { UnauthorizedError } from "../../src/cable/errors.js";
import { CableServer } from "../../src/channels/cable-server.js";
import { Channel } from "../../src/channels/channel.js";
import { WebSocket } from "../../src/node/index.js";
import { type ActionCableModule, loadActionCable, recorder } from "./actioncable-helpers.js";

class ChatChannel extends Channel<{ user: string }> {
  override subscribed(): void {
    if (this.params.room === "locked") {
      this.reject();
      return;
    }
    this.streamFrom(`chat:${this.params.room}`);
  }
  speak(data: { text: string }): void {
    void this.broadcast(`chat:${this.params.room}`, { text: data.text, from: this.identity.user });
  }
}

const channels = { ChatChannel };
const authenticate = (req: { url?: string }) => {
  const user = new URL(req.url ?? "/", "http://x").searchParams.get("user");
  if (!user) throw new UnauthorizedError();
  return { user };
};

const cleanup: Array<() => unknown> = [];
after(async () => {
  for (const fn of cleanup.reverse()) await fn();
});

async function start(): Promise<{ cable: CableServer; url: string; remount(): Promise<CableServer> }> {
  const http = createServer((_req, res) => res.end("ok"));
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  let cable = new CableServer({ server: http, channels, authenticate, pingInterval: 100 });
  await cable.ready;
  const { port } = http.address() as AddressInfo;
  cleanup.push(async () => {
    await cable.close();
    http.closeAllConnections();
    await new Promise((r) => http.close(r));
  });
  return {
    cable,
    url: `ws://127.0.0.1:${port}/cable`,
    // a new cable on the same HTTP server and port: the restarted app, as clients see it
    async remount() {
      cable = new CableServer({ server: http, channels, authenticate, pingInterval: 100 });
      await cable.ready;
      return cable;
    },
  };
}

const adapters = [
  ["wirecable's WebSocket", WebSocket],
  ["the ws package's WebSocket", WsWebSocket],
] as const;

for (const [label, adapter] of adapters)
  describe(`@rails/actioncable client (Node, ${label}) against CableServer`, () => {
    let AC: ActionCableModule;
    before(async () => {
      AC = await loadActionCable();
      AC.adapters.WebSocket = adapter;
    });

    it("connects, subscribes, performs and receives broadcasts", async () => {
      const { url, cable } = await start();
      const consumer = AC.createConsumer(`${url}?user=ann`);
      cleanup.push(() => consumer.disconnect());
      const r = recorder();
      const sub = consumer.subscriptions.create({ channel: "ChatChannel", room: "1" }, r.mixin);
      await r.wait((e) => e.event === "connected");
      assert.deepEqual(r.events[0], { event: "connected", data: { reconnected: false } });
      assert.equal(consumer.connection.getProtocol(), "actioncable-v1-json");
      sub.perform("speak", { text: "hello" });
      await r.wait((e) => e.event === "received");
      assert.deepEqual(r.events.at(-1), { event: "received", data: { text: "hello", from: "ann" } });
      await cable.broadcast("chat:1", { text: "from server" });
      await r.wait((e) => e.event === "received" && (e.data as { text: string }).text === "from server");
      sub.unsubscribe();
      consumer.disconnect();
    });

    it("gets rejected by a channel that rejects, and by an unknown channel", async () => {
      const { url } = await start();
      const consumer = AC.createConsumer(`${url}?user=ann`);
      cleanup.push(() => consumer.disconnect());
      const locked = recorder();
      const unknown = recorder();
      consumer.subscriptions.create({ channel: "ChatChannel", room: "locked" }, locked.mixin);
      consumer.subscriptions.create({ channel: "NoSuchChannel" }, unknown.mixin);
      await locked.wait((e) => e.event === "rejected");
      await unknown.wait((e) => e.event === "rejected");
      assert.equal(consumer.subscriptions.subscriptions.length, 0);
      consumer.disconnect();
    });

    it("an unauthorized connection is told so and does not reconnect", async () => {
      const { url } = await start();
      const consumer = AC.createConsumer(url); // no ?user=
      cleanup.push(() => consumer.disconnect());
      const r = recorder();
      consumer.subscriptions.create({ channel: "ChatChannel", room: "1" }, r.mixin);
      await r.wait((e) => e.event === "disconnected");
      assert.deepEqual(r.events.at(-1), { event: "disconnected", data: { willAttemptReconnect: false } });
      assert.equal(consumer.connection.monitor.isRunning(), false);
    });

    it("reconnects and resubscribes after a server restart (server_restart, reconnect: true)", async () => {
      AC.ConnectionMonitor.staleThreshold = 0.5; // the server pings every 100 ms; set before the consumer starts
      cleanup.push(() => {
        AC.ConnectionMonitor.staleThreshold = 6;
      });
      const first = await start();
      const consumer = AC.createConsumer(`${first.url}?user=bob`);
      cleanup.push(() => consumer.disconnect());
      const r = recorder();
      consumer.subscriptions.create({ channel: "ChatChannel", room: "r" }, r.mixin);
      await r.wait((e) => e.event === "connected");
      await first.cable.close();
      await r.wait((e) => e.event === "disconnected");
      assert.deepEqual(r.events.at(-1), { event: "disconnected", data: { willAttemptReconnect: true } });
      const second = await first.remount();
      await r.wait((e) => e.event === "connected" && (e.data as { reconnected: boolean }).reconnected, 8000);
      await second.broadcast("chat:r", { text: "after restart" });
      await r.wait((e) => e.event === "received");
      consumer.disconnect();
    });
  });
