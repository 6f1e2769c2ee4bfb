// examples/acks: every message is acknowledged despite lost messages (retried), processed
// exactly once; a message never acknowledged fails after its retries.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { sendAll } from "../../examples/acks/client.js";
import { ReliableReceiver, ReliableSender } from "../../examples/acks/reliable.js";
import { start } from "../../examples/acks/server.js";
import type { WebSocketServer } from "../../src/node/index.js";

const servers: WebSocketServer[] = [];
after(async () => {
  for (const s of servers) await s.close();
});

describe("acks over a connection", () => {
  it("retries lost messages; each is processed once", async () => {
    const processed: unknown[] = [];
    // Every third of the first 20 arrivals is lost: only first attempts, so that a busy machine
    // (acks late, every message sent again in the same order) cannot lose one message each time.
    const lose = (n: number) => n <= 20 && n % 3 === 0;
    const wss = await start({ port: 0, lose, onMessage: (p) => processed.push(p) });
    servers.push(wss);
    const payloads = Array.from({ length: 20 }, (_, i) => i);
    const results = await sendAll(wss.url!, payloads, { timeout: 200, retries: 3 });
    assert.ok(results.every((r) => r.status === "fulfilled"));
    assert.deepEqual(
      [...processed].sort((a, b) => Number(a) - Number(b)),
      payloads,
    );
  });

  it("gives up after the retries when nothing is acknowledged", async () => {
    const wss = await start({ port: 0, lose: () => true });
    servers.push(wss);
    const results = await sendAll(wss.url!, ["lost"], { timeout: 30, retries: 2 });
    assert.equal(results[0]!.status, "rejected");
    assert.match(String((results[0] as PromiseRejectedResult).reason), /not acknowledged after 2 retries/);
  });
});

describe("ReliableSender / ReliableReceiver", () => {
  it("acknowledges duplicates without processing them twice", () => {
    const seen: unknown[] = [];
    const r = new ReliableReceiver((p) => seen.push(p));
    const msg = JSON.stringify({ type: "data", id: 7, payload: "x" });
    assert.equal(r.handle(msg), '{"type":"ack","id":7}');
    assert.equal(r.handle(msg), '{"type":"ack","id":7}');
    assert.equal(r.handle("garbage"), null);
    assert.deepEqual(seen, ["x"]);
  });

  it("resendAll re-sends what is unacknowledged", async () => {
    const sent: string[] = [];
    const s = new ReliableSender((t) => sent.push(t), { timeout: 10_000 });
    const done = s.sendWithAck("a");
    s.resendAll();
    assert.equal(sent.length, 2);
    s.handle('{"type":"ack","id":0}');
    await done;
    assert.equal(s.pending, 0);
    s.close();
  });
});
