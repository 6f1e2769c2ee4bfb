import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type Broker, checkTimeout } from "../../src/channels/brokers/broker.js";
import { createBroker } from "../../src/channels/brokers/from-url.js";
import { NatsBroker } from "../../src/channels/brokers/nats.js";
import { PostgresBroker } from "../../src/channels/brokers/postgres.js";
import { RedisBroker } from "../../src/channels/brokers/redis.js";
import { RedisClusterBroker } from "../../src/channels/brokers/redis-cluster.js";
import { OptionError } from "../../src/node/index.js";

const BAD = [-1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31, "5000", null, {}];
/** Nothing listens here: the brokers made with valid options try to connect, then are closed. */
const NOWHERE = "127.0.0.1:9";

function assertOptionError(fn: () => unknown, option: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof OptionError, String(err));
    assert.ok(err instanceof TypeError);
    assert.equal(err.option, option);
    assert.match(err.message, new RegExp(`"${option.replaceAll(".", "\\.")}".*from \\d+ to 2147483647, got`));
    return true;
  });
}

describe("broker timeout options", () => {
  it("checkTimeout accepts undefined and numbers in range, naming the option otherwise", () => {
    for (const ok of [undefined, 0, 1, 5000, 2 ** 31 - 1]) checkTimeout("B", "t", ok, 0);
    assertOptionError(() => checkTimeout("B", "t", 0, 1), "B.t");
    for (const bad of BAD) assertOptionError(() => checkTimeout("B", "t", bad, 0), "B.t");
  });

  it("each broker refuses a bad connectTimeout when constructed", () => {
    for (const bad of BAD) {
      const connectTimeout = bad as number;
      assertOptionError(() => new RedisBroker({ connectTimeout }), "RedisBroker.connectTimeout");
      assertOptionError(() => new RedisClusterBroker({ connectTimeout }), "RedisClusterBroker.connectTimeout");
      assertOptionError(() => new NatsBroker({ connectTimeout }), "NatsBroker.connectTimeout");
      const client = { connectionTimeoutMillis: connectTimeout };
      assertOptionError(() => new PostgresBroker({ client }), "PostgresBroker.client.connectionTimeoutMillis");
    }
  });

  it("NatsBroker refuses a requestTimeout under 1 ms or past a timer's range", () => {
    for (const bad of [0, ...BAD]) {
      assertOptionError(() => new NatsBroker({ requestTimeout: bad as number }), "NatsBroker.requestTimeout");
    }
  });

  it("createBroker refuses a bad connectTimeout for every kind of URL", () => {
    const urls = [undefined, "memory", `redis://${NOWHERE}`, `redis+cluster://${NOWHERE}`, `nats://${NOWHERE}`];
    for (const url of [...urls, `postgres://u@${NOWHERE}/db`]) {
      for (const bad of BAD) {
        assertOptionError(() => createBroker(url, { connectTimeout: bad as number }), "createBroker.connectTimeout");
      }
    }
  });

  it("the bounds themselves are accepted", async () => {
    const made: Broker[] = [];
    try {
      for (const connectTimeout of [0, 2 ** 31 - 1]) {
        made.push(new RedisBroker({ url: `redis://${NOWHERE}`, connectTimeout }));
        made.push(new RedisClusterBroker({ url: `redis+cluster://${NOWHERE}`, connectTimeout }));
        made.push(new NatsBroker({ url: `nats://${NOWHERE}`, connectTimeout, requestTimeout: connectTimeout || 1 }));
        made.push(
          new PostgresBroker({
            url: `postgres://u@${NOWHERE}/db`,
            client: { connectionTimeoutMillis: connectTimeout },
          }),
        );
        made.push(createBroker(`postgres://u@${NOWHERE}/db`, { connectTimeout }));
      }
    } finally {
      await Promise.all(made.map((broker) => broker.close()));
    }
    assert.equal(made.length, 10);
  });
});
