/**
 * The cluster test over PostgreSQL LISTEN/NOTIFY: two server processes and a socketless
 * broadcaster; PostgreSQL restarted mid-test, delivery resumes without restarting the app.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type PostgresProcess, startPostgres } from "../helpers/postgres.js";
import { type CableTestClient, cableClient } from "./cable-client.js";
import { type Child, spawnNode, stopChild, textOf } from "./cluster-helpers.js";

describe("cable cluster over PostgreSQL (child processes)", () => {
  let postgres: PostgresProcess;
  const children: Child[] = [];
  const clients: CableTestClient[] = [];
  const id = JSON.stringify({ channel: "ChatChannel", room: "1" });

  before(async () => {
    postgres = await startPostgres();
  });
  after(async () => {
    for (const c of clients) c.close();
    await Promise.all(children.map(stopChild));
    await postgres?.stop();
  });

  it("a broadcast from any process, or from one with no sockets, reaches every subscriber", async () => {
    const spawned = await Promise.all([
      spawnNode("postgres", postgres.url, "server"),
      spawnNode("postgres", postgres.url, "server"),
      spawnNode("postgres", postgres.url, "broadcaster"),
    ]);
    children.push(...spawned);
    const [a, b, worker] = spawned;
    for (const server of [a, b]) {
      const client = await cableClient(`ws://127.0.0.1:${server.port}/cable`);
      clients.push(client);
      await client.subscribe(id);
    }
    for (const [from, text] of [
      [a, "from A"],
      [b, "from B"],
      [worker, "from a worker"],
    ] as const) {
      assert.equal(await from.broadcast("chat:1", { text }), true);
      for (const c of clients) await c.waitFor((m) => textOf(m) === text);
    }
    for (const c of clients) assert.equal(c.messages.filter((m) => m.message !== undefined).length, 3);
  });

  it("PostgreSQL restarted mid-test: delivery resumes without restarting the app", async () => {
    const [a, b, worker] = children;
    await postgres.pause();
    assert.equal(await worker.broadcast("chat:1", { text: "while down" }), false, "reported as lost");
    await postgres.start();
    await Promise.all([a.waitFor("reconnected"), b.waitFor("reconnected")]);
    const deadline = Date.now() + 10_000;
    while (!(await worker.broadcast("chat:1", { text: "after restart" }))) {
      if (Date.now() > deadline) throw new Error("worker never published again");
      await new Promise((r) => setTimeout(r, 100));
    }
    for (const c of clients) await c.waitFor((m) => textOf(m) === "after restart");
  });
});
