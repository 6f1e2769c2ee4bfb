// The demo's ChatChannel with Rails' own client (@rails/actioncable, in Node over wirecable's
// WebSocket): subscribe, history, presence, speak, typing, and a refusal, as docs/demo.md shows.
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { type DemoServer, startDemoServer } from "../../src/cli/demo/server.js";
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
  await ra.wait((e) => e.event === "received" && (e.data as { type: string }).type === "history");
  b.subscriptions.create({ channel: "ChatChannel", room: "rails", name: "rails-b" }, rb.mixin);
  await rb.wait((e) => e.event === "connected");
  await ra.wait((e) => e.event === "received" && (e.data as { count?: number }).count === 2);

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

  const rc = recorder();
  a.subscriptions.create({ channel: "ChatChannel", room: "bad room!", name: "x" }, rc.mixin);
  await rc.wait((e) => e.event === "rejected");
});
