/**
 * The cluster test over PostgreSQL LISTEN/NOTIFY: two server processes and a socketless
 * broadcaster; PostgreSQL restarted mid-test, delivery resumes without restarting the app.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { startPostgres } from "../helpers/postgres.js";
import {
  broadcastUntilAccepted,
  chatRoomId as id,
  spawnCluster,
  subscribeClients,
  textOf,
  useClusterFixture,
} from "./cluster-helpers.js";

describe("cable cluster over PostgreSQL (child processes)", () => {
  const fixture = useClusterFixture(startPostgres);
  const { children, clients } = fixture;

  it("a broadcast from any process, or from one with no sockets, reaches every subscriber", async () => {
    const spawned = await spawnCluster("postgres", fixture.service.url);
    children.push(...spawned);
    const [a, b, worker] = spawned;
    await subscribeClients([a, b], id, clients);
    for (const [from, text] of [
      [a, "from A"],
      [b, "from B"],
      [worker, "from a worker"],
    ] as const) {
      assert.equal(await from.broadcast("chat:1", { text }), true);
      for (const c of clients) await c.waitFor((m) => textOf(m) === text);
    }
    for (const c of clients)
      assert.equal(c.messages.filter((m) => m.type === undefined && m.message !== undefined).length, 3);
  });

  it("PostgreSQL restarted mid-test: delivery resumes without restarting the app", async () => {
    const [a, b, worker] = children;
    const postgres = fixture.service;
    await postgres.pause();
    assert.equal(await worker.broadcast("chat:1", { text: "while down" }), false, "reported as lost");
    await postgres.start();
    await Promise.all([a.waitFor("reconnected"), b.waitFor("reconnected")]);
    await broadcastUntilAccepted(worker, "chat:1", { text: "after restart" });
    for (const c of clients) await c.waitFor((m) => textOf(m) === "after restart");
  });
});
