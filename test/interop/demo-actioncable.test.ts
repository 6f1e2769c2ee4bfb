// The demo's ChatChannel with Rails' own client (@rails/actioncable, in Node over wirecable's
// WebSocket): subscribe, the room's recent messages, presence, speak, typing, and a refusal, as
// docs/demo.md shows. Rails' client never offers the extensions: it gets Rails' protocol, the
// room's backlog and presence as ordinary messages, and nothing it would not understand.
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { type DemoServer, startDemoServer } from "../../src/cli/demo/server.js";
import { FallbackTransport } from "../../src/node/fallback/transport.js";
import { type ActionCableModule, loadActionCable, recorder } from "./actioncable-helpers.js";

let server: DemoServer;
let ActionCable: ActionCableModule;
const consumers: Array<{ disconnect(): void }> = [];

before(async () => {
  server = await startDemoServer({ port: 0, processMetrics: false });
  ActionCable = await loadActionCable();
});
after(async () => {
  for (const c of consumers) c.disconnect();
  await server.close();
});

function received(r: ReturnType<typeof recorder>, type: string): Array<Record<string, unknown>> {
  return r.events
    .filter((e) => e.event === "received" && (e.data as { type?: string }).type === type)
    .map((e) => e.data as Record<string, unknown>);
}

it("@rails/actioncable chats through the demo's ChatChannel", async () => {
  const url = `ws://127.0.0.1:${server.port}/cable`;
  const a = ActionCable.createConsumer(url);
  const b = ActionCable.createConsumer(url);
  consumers.push(a, b);
  const ra = recorder();
  const rb = recorder();
  const subA = a.subscriptions.create({ channel: "ChatChannel", room: "rails", name: "rails-a" }, ra.mixin);
  await ra.wait((e) => e.event === "connected");
  const total = (e: { event: string; data?: unknown }) =>
    e.event === "received" ? (e.data as { presence?: { total?: number } }).presence?.total : undefined;
  await ra.wait((e) => total(e) === 1);
  b.subscriptions.create({ channel: "ChatChannel", room: "rails", name: "rails-b" }, rb.mixin);
  await rb.wait((e) => e.event === "connected");
  await ra.wait((e) => total(e) === 2);
  // The demo also serves the HTTP fallback (docs/fallback.md); Rails' client speaks WebSocket only.
  const sessions = [...server.wss.clients];
  assert.equal(sessions.length, 2);
  assert.ok(
    sessions.every((c) => !(c.socket instanceof FallbackTransport)),
    "both over WebSocket",
  );
  const joined = ra.events.find((e) => total(e) === 2)!.data as {
    presence: { type: string; joins: Array<{ info: { name: string } }> };
  };
  assert.equal(joined.presence.type, "update");
  assert.deepEqual(
    joined.presence.joins.map((j) => j.info.name),
    ["rails-b"],
  );

  subA.perform("speak", { id: "rails-1", text: "hello from @rails/actioncable" });
  await rb.wait((e) => e.event === "received" && (e.data as { id?: string }).id === "rails-1");
  assert.deepEqual(
    received(rb, "message").map((m) => [m.name, m.text]),
    [["rails-a", "hello from @rails/actioncable"]],
  );
  subA.perform("typing", { typing: true });
  await rb.wait((e) => e.event === "received" && (e.data as { type: string }).type === "typing");
  subA.perform("speak", { id: "rails-2", text: "" });
  await ra.wait((e) => e.event === "received" && (e.data as { type: string }).type === "refused");

  // A newcomer gets the room's recent messages first (as ordinary messages, without positions).
  const rc2 = recorder();
  b.subscriptions.create({ channel: "ChatChannel", room: "rails", name: "rails-c" }, rc2.mixin);
  await rc2.wait((e) => e.event === "received" && (e.data as { id?: string }).id === "rails-1");
  // Only what Rails' client knows: connected, then data (no unknown types, no stream positions).
  assert.equal(rc2.events[0]!.event, "connected");
  for (const e of rc2.events.slice(1)) {
    assert.equal(e.event, "received");
    assert.notEqual(e.data, undefined, "no message without `message` (an unknown type) reached received");
  }

  const rc = recorder();
  a.subscriptions.create({ channel: "ChatChannel", room: "bad room!", name: "x" }, rc.mixin);
  await rc.wait((e) => e.event === "rejected");
});
