import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Broker } from "../../src/channels/brokers/broker.js";
import { RedisBroker } from "../../src/channels/brokers/redis.js";
import { type RedisProcess, startRedis } from "../helpers/redis.js";
import { sleep } from "../helpers/time.js";
import { dedupContract, historyContract, presenceContract } from "./broker-capabilities.js";
import { type BrokerFeatures, brokerContract, collector } from "./broker-contract.js";

let redis: RedisProcess;
before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis?.stop();
});

let prefixes = 0;
for (const localDelivery of [true, false]) {
  brokerContract(`redis (localDelivery: ${localDelivery})`, {
    async pair() {
      const prefix = `t${++prefixes}`; // each test its own prefix: no cross-talk
      return [
        new RedisBroker({ url: redis.url, prefix, localDelivery }),
        new RedisBroker({ url: redis.url, prefix, localDelivery }),
      ];
    },
  });
}

describe("redis broker specifics", () => {
  it("different prefixes are separate clusters", async () => {
    const a = new RedisBroker({ url: redis.url, prefix: "app1" });
    const b = new RedisBroker({ url: redis.url, prefix: "app2" });
    try {
      const c = collector();
      await b.subscribe("s", c.handler);
      await a.publish("s", "1");
      await sleep(150);
      assert.deepEqual(c.got, []);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it("delivers bare payloads published by a Rails-style publisher (no envelope)", async () => {
    const rails = new RedisBroker({ url: redis.url, prefix: "mixed", localDelivery: false });
    const ours = new RedisBroker({ url: redis.url, prefix: "mixed" });
    try {
      const c = collector();
      await ours.subscribe("chat", c.handler);
      await rails.publish("chat", '{"from":"rails"}');
      assert.deepEqual(await c.next(1), ['{"from":"rails"}']);
    } finally {
      await Promise.all([rails.close(), ours.close()]);
    }
  });

  it("survives a Redis restart: resubscribes every stream, counts what was lost meanwhile", async () => {
    const a = new RedisBroker({ url: redis.url, prefix: "restart" });
    const b = new RedisBroker({ url: redis.url, prefix: "restart" });
    try {
      const streams = ["s1", "s2", "s3"];
      const cs = streams.map(() => collector(8000));
      for (let i = 0; i < streams.length; i++) await b.subscribe(streams[i], cs[i].handler);
      await a.publish("s1", "before");
      await cs[0].next(1);

      const lost: string[] = [];
      a.on("lost", (info) => lost.push(info.payload));
      const reconnected = new Promise((resolve) => b.once("reconnected", resolve));
      await redis.pause();
      await sleep(100);
      await assert.rejects(a.publish("s1", "during"));
      assert.deepEqual(lost, ["during"]);
      assert.equal(a.lostCount, 1);
      await redis.start();
      const info = (await reconnected) as { streams: number; downtimeMs: number };
      assert.equal(info.streams, 3);
      assert.ok(b.reconnects >= 1);

      // The publisher reconnects on its own: retry until it is back (bounded by the collector).
      const deadline = Date.now() + 8000;
      for (;;) {
        try {
          await a.publish("s2", "after");
          break;
        } catch {
          if (Date.now() > deadline) throw new Error("publisher did not reconnect");
          await sleep(100);
        }
      }
      await a.publish("s3", "after");
      assert.deepEqual(await cs[1].next(1), ["after"]);
      assert.deepEqual(await cs[2].next(1), ["after"]);
      assert.deepEqual(cs[0].got, ["before"]);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

describe("redis broker started while Redis is down", () => {
  it("subscribes the streams added meanwhile once Redis comes up", async () => {
    const late = await startRedis();
    await late.pause();
    const a = new RedisBroker({ url: late.url, prefix: "late", connectTimeout: 200 });
    const b = new RedisBroker({ url: late.url, prefix: "late", connectTimeout: 200 });
    try {
      const c = collector(8000);
      await b.subscribe("s", c.handler); // resolves after connectTimeout, not yet subscribed
      await late.start();
      const deadline = Date.now() + 8000;
      while (c.got.length === 0) {
        try {
          await a.publish("s", "hello");
        } catch {
          // publisher still connecting
        }
        if (Date.now() > deadline) throw new Error("never delivered");
        await sleep(100);
      }
      assert.equal(c.got[0], "hello");
    } finally {
      await Promise.all([a.close(), b.close()]);
      await late.stop();
    }
  });
});

let stores = 0;
const redisFactory = {
  async pair(features: BrokerFeatures = {}): Promise<[RedisBroker, RedisBroker]> {
    const prefix = `cap${++stores}`;
    return [
      new RedisBroker({ url: redis.url, prefix, ...features }),
      new RedisBroker({ url: redis.url, prefix, ...features }),
    ];
  },
  crash: (broker: Broker) => (broker as RedisBroker).abandon(),
};
historyContract("redis", redisFactory);
presenceContract("redis", redisFactory);
dedupContract("redis", redisFactory);
