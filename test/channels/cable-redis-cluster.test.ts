/**
 * Several server processes over one real Redis: a broadcast from any process, and from a
 * process with no sockets, reaches the subscribers of all; Redis restarted mid-test, delivery
 * resumes without restarting the app processes.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { startRedis } from "../helpers/redis.js";
import {
  broadcastUntilAccepted,
  chatRoomId as id,
  spawnCluster,
  subscribeClients,
  textOf,
  useClusterFixture,
} from "./cluster-helpers.js";

describe("cable cluster over Redis (child processes)", () => {
  const fixture = useClusterFixture(startRedis);
  const { children, clients } = fixture;

  it("a broadcast from any process, or from one with no sockets, reaches every subscriber", async () => {
    const [a, b, worker] = await spawnCluster("redis", fixture.service.url);
    children.push(a, b, worker);
    await subscribeClients([a, a, b, b], id, clients);
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
    for (const c of clients)
      assert.equal(c.messages.filter((m) => m.type === undefined && m.message !== undefined).length, 4);
  });

  it("Redis restarted mid-test: delivery resumes without restarting the app", async () => {
    const [a, b, worker] = children;
    const redis = fixture.service;
    await redis.pause();
    assert.equal(await worker.broadcast("chat:1", { text: "while down" }), false, "reported as lost");
    await worker.waitFor("lost");
    await redis.start();
    await Promise.all([a.waitFor("reconnected"), b.waitFor("reconnected")]);
    // the publisher connection may still be reconnecting: retry (bounded)
    await broadcastUntilAccepted(worker, "chat:1", { text: "after restart" });
    for (const c of clients) await c.waitFor((m) => textOf(m) === "after restart");
    assert.equal(await a.broadcast("chat:1", { text: "A after restart" }), true);
    for (const c of clients) {
      await c.waitFor((m) => textOf(m) === "A after restart");
      assert.ok(!c.messages.some((m) => textOf(m) === "while down"));
    }
  });
});
