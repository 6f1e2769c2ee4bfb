/**
 * A broker node killed under traffic (docs/channels.md, "Redis Cluster" and "NATS"): two cable
 * servers and a socketless broadcaster (child processes) share the broker; clients subscribe over
 * WebSocket; the broadcaster publishes numbered messages back to back while the node serving the
 * stream is SIGKILLed. Checked, as documented:
 * - no client reconnects: every client keeps its one WebSocket and receives messages again once
 *   its server's broker says `reconnected`;
 * - every client receives in publish order, never twice;
 * - what is lost is accounted for: every message a client misses was either rejected at the
 *   publisher (counted in `lost`) or published between the kill and its server's `reconnected`.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RedisClusterBroker } from "../../src/channels/brokers/redis-cluster.js";
import { startNatsCluster } from "../helpers/nats.js";
import { startRedisCluster } from "../helpers/redis-cluster.js";
import type { CableTestClient } from "./cable-client.js";
import { type Child, chatRoomId, spawnAll, spawnNode, stopChild, subscribeClients, textOf } from "./cluster-helpers.js";

interface Sent {
  n: number;
  ok: boolean;
  start: number;
  end: number;
}

/** Publishes numbered messages from `pub` until `until()` is true and `after` more were accepted. */
async function publishUnder(
  pub: Child,
  fault: () => Promise<number>,
  recovered: () => boolean,
): Promise<{
  sent: Sent[];
  killedAt: number;
}> {
  const sent: Sent[] = [];
  let n = 0;
  const publish = async () => {
    const r = await pub.broadcastTimed("chat:1", { text: String(n) });
    sent.push({ n: n++, ...r });
  };
  for (let i = 0; i < 30; i++) await publish();
  const killedAt = await fault();
  const deadline = Date.now() + 30_000;
  while (!recovered()) {
    if (Date.now() > deadline) throw new Error("the servers' brokers never reported reconnected");
    await publish();
  }
  let acceptedAfter = 0;
  while (acceptedAfter < 30) {
    if (Date.now() > deadline) throw new Error("the publisher never published again");
    await publish();
    if (sent.at(-1)!.ok) acceptedAfter++;
  }
  return { sent, killedAt };
}

const numbers = (c: CableTestClient): number[] =>
  c.messages.flatMap((m) => (textOf(m) === undefined ? [] : [Number(textOf(m))]));

/** The checks of the module comment, for the clients of each server. */
async function account(
  servers: Array<{ child: Child; clients: CableTestClient[] }>,
  sent: Sent[],
  killedAt: number,
): Promise<{ rejected: number; missedInWindow: number }> {
  const last = sent.filter((s) => s.ok).at(-1)!.n;
  let missedInWindow = 0;
  for (const { child, clients } of servers) {
    const reconnected = child.messages.filter((m) => m.type === "reconnected").map((m) => m.at as number);
    const backAt = Math.max(killedAt, ...reconnected);
    for (const c of clients) {
      await c.waitFor((m) => textOf(m) === String(last), 10_000);
      assert.equal(c.messages.filter((m) => m.type === "welcome").length, 1, "the client never reconnected");
      const got = numbers(c);
      for (let i = 1; i < got.length; i++) assert.ok(got[i - 1]! < got[i]!, `in order, once: ${got.join(",")}`);
      const have = new Set(got);
      for (const s of sent) {
        if (have.has(s.n) || !s.ok) continue;
        // Accepted yet missed: only while this server's subscription was being restored.
        assert.ok(
          s.end >= killedAt && s.start <= backAt,
          `message ${s.n} (published ${s.start - killedAt} ms after the kill) missed outside the window (back after ${backAt - killedAt} ms)`,
        );
        missedInWindow++;
      }
    }
  }
  return { rejected: sent.filter((s) => !s.ok).length, missedInWindow };
}

describe("broker faults: a node killed under traffic", { timeout: 120_000 }, () => {
  it("Redis Cluster: the stream's primary SIGKILLed, its replica promoted", async (t) => {
    const cluster = await startRedisCluster({ primaries: 3, replicas: 1, nodeTimeoutMs: 1000 });
    const children: Child[] = [];
    const clients: CableTestClient[] = [];
    try {
      const [a, b, pub] = await spawnAll([
        () => spawnNode("redis-cluster", cluster.url, "server"),
        () => spawnNode("redis-cluster", cluster.url, "server"),
        () => spawnNode("redis-cluster", cluster.url, "broadcaster"),
      ]);
      children.push(a, b, pub);
      await subscribeClients([a, a, b, b], chatRoomId, clients);
      const probe = new RedisClusterBroker({ prefix: "cluster-test", nodes: cluster.seeds });
      const name = probe.nameOf("chat:1");
      await probe.close();
      const slot = Number(await cluster.command(cluster.nodes[0]!, "cluster", "keyslot", name));
      const victim = await cluster.primaryOf(slot);

      const { sent, killedAt } = await publishUnder(
        pub,
        async () => {
          const at = Date.now();
          await cluster.kill(victim);
          return at;
        },
        () => a.messages.some((m) => m.type === "reconnected") && b.messages.some((m) => m.type === "reconnected"),
      );
      const promoted = await cluster.primaryOf(slot);
      assert.notEqual(promoted.port, victim.port, "the replica serves the slot");
      const { rejected, missedInWindow } = await account(
        [
          { child: a, clients: clients.slice(0, 2) },
          { child: b, clients: clients.slice(2) },
        ],
        sent,
        killedAt,
      );
      // The lost count the publisher reports is what it rejected.
      const lostEvents = pub.messages.filter((m) => m.type === "lost").length;
      assert.equal(lostEvents, rejected);
      assert.ok(sent.length > 60);
      t.diagnostic(
        `redis cluster: ${sent.length} published, ${rejected} rejected (counted), ${missedInWindow} client deliveries missed in the window`,
      );
    } finally {
      for (const c of clients) c.close();
      await Promise.all(children.map(stopChild));
      await cluster.stop();
    }
  });

  it("NATS cluster: the node the servers use SIGKILLed, they fail over to another", async (t) => {
    const nats = await startNatsCluster(3);
    const children: Child[] = [];
    const clients: CableTestClient[] = [];
    try {
      // The servers know node 0 only and learn the others from it; the broadcaster uses node 1.
      const [a, b, pub] = await spawnAll([
        () => spawnNode("nats", nats.urls[0]!, "server"),
        () => spawnNode("nats", nats.urls[0]!, "server"),
        () => spawnNode("nats", nats.urls[1]!, "broadcaster"),
      ]);
      children.push(a, b, pub);
      await subscribeClients([a, a, b, b], chatRoomId, clients);
      // Routes form asynchronously: publish until a message crosses from node 1 to node 0.
      const deadline = Date.now() + 10_000;
      for (let i = 0; !clients.every((c) => c.messages.some((m) => textOf(m)?.startsWith("route"))); i++) {
        if (Date.now() > deadline) throw new Error("the NATS route never carried a message");
        await pub.broadcast("chat:1", { text: `route ${i}` });
        await new Promise((r) => setTimeout(r, 20));
      }
      // Forget the warm-up messages, keeping each client's one welcome (checked at the end).
      for (const c of clients) c.messages.splice(0, Infinity, { type: "welcome" });

      const { sent, killedAt } = await publishUnder(
        pub,
        async () => {
          const at = Date.now();
          await nats.kill(0);
          return at;
        },
        () => a.messages.some((m) => m.type === "reconnected") && b.messages.some((m) => m.type === "reconnected"),
      );
      assert.ok(a.messages.some((m) => m.type === "disconnected"));
      const { rejected, missedInWindow } = await account(
        [
          { child: a, clients: clients.slice(0, 2) },
          { child: b, clients: clients.slice(2) },
        ],
        sent,
        killedAt,
      );
      assert.equal(rejected, 0, "the publisher's node stayed up: nothing rejected");
      t.diagnostic(`nats cluster: ${sent.length} published, ${missedInWindow} client deliveries missed in the window`);
    } finally {
      for (const c of clients) c.close();
      await Promise.all(children.map(stopChild));
      await nats.stop();
    }
  });
});
