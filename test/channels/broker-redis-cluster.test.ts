import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Cluster } from "ioredis";
import type { Broker } from "../../src/channels/brokers/broker.js";
import { parseClusterUrl, RedisClusterBroker } from "../../src/channels/brokers/redis-cluster.js";
import { type RedisClusterProcess, startRedisCluster } from "../helpers/redis-cluster.js";
import { dedupContract, historyContract, presenceContract } from "./broker-capabilities.js";
import { type BrokerFeatures, brokerContract, collector } from "./broker-contract.js";

let cluster: RedisClusterProcess;
before(async () => {
  cluster = await startRedisCluster({ primaries: 3 });
});
after(async () => {
  await cluster?.stop();
});

let prefixes = 0;
for (const localDelivery of [true, false]) {
  brokerContract(`redis cluster (localDelivery: ${localDelivery})`, {
    async pair() {
      const prefix = `t${++prefixes}`;
      return [
        new RedisClusterBroker({ url: cluster.url, prefix, localDelivery }),
        new RedisClusterBroker({ url: cluster.url, prefix, localDelivery }),
      ];
    },
  });
}

/** The hash slot Redis computes for `key` (asked of the cluster itself). */
async function slotOf(key: string): Promise<number> {
  return Number(await cluster.command(cluster.nodes[0]!, "cluster", "keyslot", key));
}

describe("redis cluster broker specifics", () => {
  it("parses redis+cluster:// URLs: several seeds, credentials, TLS, IPv6", () => {
    assert.deepEqual(parseClusterUrl("redis+cluster://a:7000,b:7001"), {
      nodes: [
        { host: "a", port: 7000 },
        { host: "b", port: 7001 },
      ],
      redis: {},
    });
    assert.deepEqual(parseClusterUrl("rediss+cluster://user:p%40ss@[::1]:7000/"), {
      nodes: [{ host: "::1", port: 7000 }],
      redis: { username: "user", password: "p@ss", tls: {} },
    });
    assert.deepEqual(parseClusterUrl("redis+cluster://:secret@h").redis, { password: "secret" });
    assert.throws(() => parseClusterUrl("redis://a:1"), /redis\+cluster:\/\//);
    assert.throws(() => parseClusterUrl("redis+cluster://a:99999"), /bad node/);
  });

  it("a stream's channel and keys share one hash slot; streams spread over the shards", async () => {
    const broker = new RedisClusterBroker({ url: cluster.url, prefix: "app" });
    try {
      for (const stream of ["chat:1", "a}b{c", "", "{x}"]) {
        const slot = await slotOf(broker.nameOf(stream));
        assert.equal(await slotOf(broker.keyFor(stream, "history")), slot, stream);
        assert.equal(await slotOf(broker.keyFor(stream, "presence")), slot, stream);
      }
      const owners = new Set<number>();
      for (let i = 0; i < 30; i++) owners.add((await cluster.primaryOf(await slotOf(broker.nameOf(`room:${i}`)))).port);
      assert.equal(owners.size, 3, "30 streams land on all three primaries");
    } finally {
      await broker.close();
    }
  });

  it("publishes with SPUBLISH to the owning shard only (not cluster-wide PUBLISH)", async () => {
    const broker = new RedisClusterBroker({ url: cluster.url, prefix: "shard" });
    const spy = new Cluster(cluster.seeds);
    const seen: string[] = [];
    try {
      await spy.subscribe(broker.nameOf("s")); // a cluster-wide PUBLISH would reach it
      spy.on("message", (channel: string) => seen.push(channel));
      const c = collector();
      await broker.subscribe("s", c.handler);
      const other = new RedisClusterBroker({ url: cluster.url, prefix: "shard" });
      try {
        await other.publish("s", "1");
        await c.next(1);
      } finally {
        await other.close();
      }
      assert.deepEqual(seen, []);
    } finally {
      spy.disconnect();
      await broker.close();
    }
  });

  it("a slot moved to another primary: the subscription follows it (SUNSUBSCRIBE from Redis)", async () => {
    const a = new RedisClusterBroker({ url: cluster.url, prefix: "move" });
    const b = new RedisClusterBroker({ url: cluster.url, prefix: "move" });
    try {
      const c = collector(10_000);
      await b.subscribe("room", c.handler);
      await a.publish("room", "before");
      await c.next(1);
      const slot = await slotOf(b.nameOf("room"));
      const from = await cluster.primaryOf(slot);
      const to = cluster.nodes.find((n) => n !== from)!;
      await cluster.migrateSlot(slot, to);
      assert.equal((await cluster.primaryOf(slot)).port, to.port);
      // The subscriber learns of the move from Redis' SUNSUBSCRIBE; publishes meanwhile may be
      // lost (documented), so publish until one arrives (bounded by the collector's deadline).
      const deadline = Date.now() + 10_000;
      let n = 0;
      while (c.got.length < 2) {
        if (Date.now() > deadline) throw new Error("never delivered after the move");
        await a.publish("room", `after ${n++}`).catch(() => {});
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.match(c.got[1]!, /^after \d+$/);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

describe("redis cluster broker started while the cluster is down", () => {
  it("subscribes the streams added meanwhile once the cluster is up", async () => {
    const late = await startRedisCluster({ primaries: 3 });
    try {
      await Promise.all(late.nodes.map((n) => late.kill(n)));
      const a = new RedisClusterBroker({ url: late.url, prefix: "late", connectTimeout: 200 });
      const b = new RedisClusterBroker({ url: late.url, prefix: "late", connectTimeout: 200 });
      try {
        const c = collector(15_000);
        await b.subscribe("s", c.handler); // resolves after connectTimeout, not yet subscribed
        await Promise.all(late.nodes.map((n) => late.start(n)));
        await late.waitHealthy();
        const deadline = Date.now() + 15_000;
        while (c.got.length === 0) {
          await a.publish("s", "hello").catch(() => {});
          if (Date.now() > deadline) throw new Error("never delivered");
          await new Promise((r) => setTimeout(r, 100));
        }
        assert.equal(c.got[0], "hello");
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    } finally {
      await late.stop();
    }
  });
});

let stores = 0;
const clusterFactory = {
  async pair(features: BrokerFeatures = {}): Promise<[RedisClusterBroker, RedisClusterBroker]> {
    const prefix = `cap${++stores}`;
    return [
      new RedisClusterBroker({ url: cluster.url, prefix, ...features }),
      new RedisClusterBroker({ url: cluster.url, prefix, ...features }),
    ];
  },
  crash: (broker: Broker) => (broker as RedisClusterBroker).abandon(),
};
historyContract("redis cluster", clusterFactory);
presenceContract("redis cluster", clusterFactory);
dedupContract("redis cluster", clusterFactory);
