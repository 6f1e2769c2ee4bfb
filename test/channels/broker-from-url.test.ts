import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { brokerKind, createBroker } from "../../src/channels/brokers/from-url.js";
import { MemoryBroker } from "../../src/channels/brokers/memory.js";
import { NatsBroker } from "../../src/channels/brokers/nats.js";
import { PostgresBroker } from "../../src/channels/brokers/postgres.js";
import { RedisBroker } from "../../src/channels/brokers/redis.js";
import { RedisClusterBroker } from "../../src/channels/brokers/redis-cluster.js";

describe("broker from a URL", () => {
  it("names the kind from the scheme", () => {
    const cases: Array<[string | undefined, string]> = [
      [undefined, "memory"],
      ["", "memory"],
      ["memory", "memory"],
      ["memory://", "memory"],
      ["redis://127.0.0.1:6379/1", "redis"],
      ["rediss://h:6380", "redis"],
      ["redis+cluster://a:7000,b:7001", "redis-cluster"],
      ["REDISS+CLUSTER://a:7000", "redis-cluster"],
      ["nats://a:4222,b:4222", "nats"],
      ["tls://a:4443", "nats"],
      ["postgres://u@h/db", "postgres"],
      ["postgresql://u@h/db", "postgres"],
    ];
    for (const [url, kind] of cases) assert.equal(brokerKind(url), kind, String(url));
  });

  it("refuses anything else, naming the accepted URLs", () => {
    for (const url of ["http://a", "redis", "127.0.0.1:6379", "amqp://a", "mqtt://b"]) {
      assert.throws(() => brokerKind(url), /expected a broker URL \(memory, redis:\/\/.*nats:\/\/.*postgres:\/\//, url);
    }
  });

  it("constructs the broker of each kind, with the prefix given", async () => {
    const made = [
      createBroker(undefined),
      // Unreachable addresses: construction starts connecting in the background, nothing waits.
      createBroker("redis://127.0.0.1:1", { prefix: "p" }),
      createBroker("redis+cluster://127.0.0.1:1", { prefix: "p" }),
      createBroker("nats://127.0.0.1:1", { prefix: "p" }),
      createBroker("postgres://u@127.0.0.1:1/db", { prefix: "p" }),
    ];
    try {
      const [memory, redis, cluster, nats, postgres] = made;
      assert.ok(memory instanceof MemoryBroker);
      assert.ok(redis instanceof RedisBroker && redis.prefix === "p");
      assert.ok(cluster instanceof RedisClusterBroker && cluster.prefix === "p");
      assert.ok(nats instanceof NatsBroker && nats.prefix === "p");
      assert.ok(postgres instanceof PostgresBroker && postgres.prefix === "p");
    } finally {
      await Promise.all(made.map((b) => b.close()));
    }
  });

  it("passes history options to every broker", async () => {
    const made = [
      createBroker("memory", { history: { limit: 7 } }),
      createBroker("redis://127.0.0.1:1", { history: { limit: 7 } }),
      createBroker("redis+cluster://127.0.0.1:1", { history: { limit: 7 } }),
      createBroker("nats://127.0.0.1:1", { history: { limit: 7 } }),
      createBroker("postgres://u@127.0.0.1:1/db", { history: { limit: 7 } }),
    ];
    try {
      for (const b of made) assert.equal(b.history?.limit, 7);
    } finally {
      await Promise.all(made.map((b) => b.close()));
    }
  });
});
