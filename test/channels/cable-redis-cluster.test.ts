/**
 * Several server processes over one real Redis: a broadcast from any process, and from a
 * process with no sockets, reaches the subscribers of all; Redis restarted mid-test, delivery
 * resumes without restarting the app processes.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type RedisProcess, startRedis } from "../helpers/redis.js";
import { type CableTestClient, cableClient } from "./cable-client.js";
import { type Child, spawnNode, stopChild, textOf } from "./cluster-helpers.js";

describe("cable cluster over Redis (child processes)", () => {
  let redis: RedisProcess;
  const children: Child[] = [];
  const clients: CableTestClient[] = [];
  const id = JSON.stringify({ channel: "ChatChannel", room: "1" });

  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    for (const c of clients) c.close();
    await Promise.all(children.map(stopChild));
    await redis?.stop();
  });

  it("a broadcast from any process, or from one with no sockets, reaches every subscriber", async () => {
    const [a, b, worker] = await Promise.all([
      spawnNode("redis", redis.url, "server"),
      spawnNode("redis", redis.url, "server"),
      spawnNode("redis", redis.url, "broadcaster"),
    ]);
    children.push(a, b, worker);
    for (const server of [a, a, b, b]) {
      const client = await cableClient(`ws://127.0.0.1:${server.port}/cable`);
      clients.push(client);
      await client.subscribe(id);
    }
    const expectAll = async (text: string) => {
      for (const c of clients) await c.waitFor((m) => textOf(m) === text);
    };
    assert.equal(await a.broadcast("chat:1", { text: "from A" }), true);
    await expectAll("from A");
    assert.equal(await b.broadcast("chat:1", { text: "from B" }), true);
    await expectAll("from B");
    assert.equal(await worker.broadcast("chat:1", { text: "from a worker" }), true);
    await expectAll("from a worker");
    clients[3].perform(id, { action: "speak", text: "a client on B speaks" });
    await expectAll("a client on B speaks");
    // each client got each message exactly once (local delivery + dropped echo)
    for (const c of clients) assert.equal(c.messages.filter((m) => m.message !== undefined).length, 4);
  });

  it("Redis restarted mid-test: delivery resumes without restarting the app", async () => {
    const [a, b, worker] = children;
    await redis.pause();
    assert.equal(await worker.broadcast("chat:1", { text: "while down" }), false, "reported as lost");
    await worker.waitFor("lost");
    await redis.start();
    await Promise.all([a.waitFor("reconnected"), b.waitFor("reconnected")]);
    // the publisher connection may still be reconnecting: retry (bounded)
    const deadline = Date.now() + 10_000;
    while (!(await worker.broadcast("chat:1", { text: "after restart" }))) {
      if (Date.now() > deadline) throw new Error("worker never published again");
      await new Promise((r) => setTimeout(r, 100));
    }
    for (const c of clients) await c.waitFor((m) => textOf(m) === "after restart");
    assert.equal(await a.broadcast("chat:1", { text: "A after restart" }), true);
    for (const c of clients) {
      await c.waitFor((m) => textOf(m) === "A after restart");
      assert.ok(!c.messages.some((m) => textOf(m) === "while down"));
    }
  });
});
