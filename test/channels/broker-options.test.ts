import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { checkTimeout } from "../../src/channels/brokers/broker.js";
import { createBroker } from "../../src/channels/brokers/from-url.js";
import { NatsBroker } from "../../src/channels/brokers/nats.js";
import { RedisBroker } from "../../src/channels/brokers/redis.js";
import { RedisClusterBroker } from "../../src/channels/brokers/redis-cluster.js";
import { OptionError } from "../../src/node/index.js";

const BAD = [-1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31, "5000", null, {}];

function assertOptionError(fn: () => unknown, option: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof OptionError, String(err));
    assert.ok(err instanceof TypeError);
    assert.equal(err.option, option);
    assert.match(err.message, new RegExp(`"${option.replace(".", "\\.")}".*from \\d+ to 2147483647`));
    return true;
  });
}

describe("broker timeout options", () => {
  it("checkTimeout accepts undefined and numbers in range, naming the option otherwise", () => {
    for (const ok of [undefined, 0, 1, 5000, 2 ** 31 - 1]) checkTimeout("B", "t", ok, 0);
    assertOptionError(() => checkTimeout("B", "t", 0, 1), "B.t");
    for (const bad of BAD) assertOptionError(() => checkTimeout("B", "t", bad, 0), "B.t");
  });

  it("each broker refuses a bad connectTimeout before loading its client", () => {
    for (const bad of BAD) {
      const connectTimeout = bad as number;
      assertOptionError(() => new RedisBroker({ connectTimeout }), "RedisBroker.connectTimeout");
      assertOptionError(() => new RedisClusterBroker({ connectTimeout }), "RedisClusterBroker.connectTimeout");
      assertOptionError(() => new NatsBroker({ connectTimeout }), "NatsBroker.connectTimeout");
      assertOptionError(() => createBroker("redis://127.0.0.1:1", { connectTimeout }), "RedisBroker.connectTimeout");
    }
  });

  it("NatsBroker refuses a requestTimeout under 1 ms or past a timer's range", () => {
    for (const bad of [0, ...BAD]) {
      assertOptionError(() => new NatsBroker({ requestTimeout: bad as number }), "NatsBroker.requestTimeout");
    }
  });
});
