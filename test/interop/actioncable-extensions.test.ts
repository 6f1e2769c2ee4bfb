/**
 * The official @rails/actioncable client (in Node over our WebSocket) against a CableServer with
 * every delivery extension on: stream history with a backlog, presence, acknowledgements. The
 * official client never offers actioncable-v1-ext-json, so it must see exactly Rails' protocol:
 * the v1-json subprotocol, a plain welcome and confirmation, broadcasts with nothing but
 * `identifier` and `message`, no message type it does not know (it would hand `undefined` to
 * `received`), and its performs run as before, even when their data has an `id`.
 */
import assert from "node:assert/strict";
import { after, it } from "node:test";
import { MemoryBroker } from "../../src/channels/brokers/memory.js";
import { CableServer } from "../../src/channels/cable-server.js";
import { Channel } from "../../src/channels/channel.js";
import { WebSocket } from "../../src/node/index.js";
import { loadActionCable, recorder } from "./actioncable-helpers.js";

const performed: unknown[] = [];

class Room extends Channel {
  override async subscribed(): Promise<void> {
    await this.streamFrom(`room:${this.params.room}`, { recent: 2 }); // no presence asked: none sent
    await this.joinPresence(`room:${this.params.room}`, { id: String(this.params.who), info: null });
  }
  say(data: { text: string; id?: string }): string {
    performed.push(data);
    void this.broadcast(`room:${this.params.room}`, { text: data.text });
    return "the reply nobody asked for";
  }
}

const cleanup: Array<() => unknown> = [];
after(async () => {
  for (const fn of cleanup.reverse()) await fn();
});

it("@rails/actioncable against a server with history, presence and acks: Rails' protocol only", async () => {
  const broker = new MemoryBroker({ history: { limit: 10 } });
  const cable = new CableServer({ port: 0, host: "127.0.0.1", channels: { Room }, broker, pingInterval: 100 });
  await cable.ready;
  cleanup.push(() => cable.close());
  const url = `ws://127.0.0.1:${(cable.address() as { port: number }).port}/cable`;
  await cable.broadcast("room:r", { text: "old 1" });
  await cable.broadcast("room:r", { text: "old 2" });
  await cable.broadcast("room:r", { text: "old 3" });

  // Record every frame the official client receives, and what it offered.
  const frames: string[] = [];
  const offered: unknown[] = [];
  const Recording = class extends WebSocket {
    constructor(u: string, protocols?: string | string[]) {
      super(u, protocols);
      offered.push(protocols);
      this.addEventListener("message", (e) => frames.push(String((e as MessageEvent).data)));
    }
  };
  const ActionCable = await loadActionCable();
  ActionCable.adapters.WebSocket = Recording;
  const consumer = ActionCable.createConsumer(url);
  cleanup.push(() => consumer.disconnect());
  const r = recorder();
  const sub = consumer.subscriptions.create({ channel: "Room", room: "r", who: "rails" }, r.mixin);
  await r.wait((e) => e.event === "connected");
  sub.perform("say", { text: "hello", id: "looks-like-an-ack-id" });
  await r.wait((e) => e.event === "received" && (e.data as { text?: string }).text === "hello");
  await cable.broadcast("room:r", { text: "live" });
  await r.wait((e) => e.event === "received" && (e.data as { text?: string }).text === "live");

  assert.deepEqual(offered[0], ["actioncable-v1-json", "actioncable-unsupported"]);
  assert.equal(consumer.connection.getProtocol(), "actioncable-v1-json");
  // The backlog (the last 2), then the perform's broadcast and the live one: data only.
  assert.deepEqual(
    r.events.map((e) => (e.event === "received" ? (e.data as { text: string }).text : e.event)),
    ["connected", "old 2", "old 3", "hello", "live"],
  );
  assert.deepEqual(performed, [{ text: "hello", id: "looks-like-an-ack-id", action: "say" }]);
  // Every frame is one Rails sends: welcome, ping, confirm_subscription, or identifier + message.
  for (const text of frames) {
    const m = JSON.parse(text) as Record<string, unknown>;
    const keys = Object.keys(m).sort().join(",");
    if (m.type === "welcome") assert.equal(keys, "type");
    else if (m.type === "ping") assert.equal(keys, "message,type");
    else if (m.type === "confirm_subscription") assert.equal(keys, "identifier,type");
    else assert.equal(keys, "identifier,message", `not a Rails message: ${text}`);
  }
  assert.equal(r.events.filter((e) => e.event === "connected").length, 1);
});
