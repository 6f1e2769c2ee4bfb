import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Broker } from "../../src/channels/brokers/broker.js";
import { MAX_NOTIFY_PAYLOAD, PostgresBroker } from "../../src/channels/brokers/postgres.js";
import { type PostgresProcess, startPostgres } from "../helpers/postgres.js";
import { sleep } from "../helpers/time.js";
import { dedupContract, historyContract, presenceContract } from "./broker-capabilities.js";
import { type BrokerFeatures, brokerContract, collector } from "./broker-contract.js";

let postgres: PostgresProcess;
before(async () => {
  postgres = await startPostgres();
});
after(async () => {
  await postgres?.stop();
});

let prefixes = 0;
for (const localDelivery of [true, false]) {
  brokerContract(`postgres (localDelivery: ${localDelivery})`, {
    async pair() {
      const prefix = `p${++prefixes}`;
      return [
        new PostgresBroker({ url: postgres.url, prefix, localDelivery }),
        new PostgresBroker({ url: postgres.url, prefix, localDelivery }),
      ];
    },
  });
}

/** One statement on its own connection (CREATE DATABASE). */
async function adminQuery(sql: string): Promise<void> {
  const pg = (await import("pg")).default;
  const client = new pg.Client({ connectionString: postgres.url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

let stores = 0;
const postgresFactory = {
  async pair(features: BrokerFeatures = {}): Promise<[PostgresBroker, PostgresBroker]> {
    const prefix = `cap${++stores}`;
    return [
      new PostgresBroker({ url: postgres.url, prefix, ...features }),
      new PostgresBroker({ url: postgres.url, prefix, ...features }),
    ];
  },
  crash: (broker: Broker) => (broker as PostgresBroker).abandon(),
};
historyContract("postgres", postgresFactory);
presenceContract("postgres", postgresFactory);
dedupContract("postgres", postgresFactory);

describe("postgres broker specifics", () => {
  it("several processes creating the tables at once on a fresh database: no conflict", async () => {
    const fresh = `fresh_${process.pid}`;
    await adminQuery(`CREATE DATABASE ${fresh}`);
    const url = postgres.url.replace(/\/postgres$/, `/${fresh}`);
    const brokers = Array.from({ length: 4 }, () => new PostgresBroker({ url, history: {} }));
    try {
      await Promise.all(brokers.map((b, i) => b.publish("s", String(i))));
      const { offset } = await brokers[0]!.history!.position("s");
      assert.equal(offset, 4);
    } finally {
      await Promise.all(brokers.map((b) => b.close()));
    }
  });

  it("long stream names (over 63 bytes) are hashed but never confused", async () => {
    const a = new PostgresBroker({ url: postgres.url, prefix: "long" });
    const b = new PostgresBroker({ url: postgres.url, prefix: "long" });
    try {
      const base = "x".repeat(80);
      const one = collector();
      const two = collector();
      await b.subscribe(`${base}1`, one.handler);
      await b.subscribe(`${base}2`, two.handler);
      await a.publish(`${base}1`, '"one"');
      assert.deepEqual(await one.next(1), ['"one"']);
      await sleep(100);
      assert.deepEqual(two.got, []);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it("carries payloads over NOTIFY's 8000 bytes through a table, in order with the small ones", async () => {
    for (const history of [undefined, { limit: 10 }]) {
      const a = new PostgresBroker({ url: postgres.url, prefix: `big${history ? "h" : ""}`, history });
      const b = new PostgresBroker({ url: postgres.url, prefix: `big${history ? "h" : ""}`, history });
      try {
        const c = collector();
        await b.subscribe("s", c.handler);
        const big = `"${"é".repeat(MAX_NOTIFY_PAYLOAD)}\u0000"`;
        const sent = ['"small 1"', big, '"small 2"', `${big} `, '"small 3"'];
        for (const p of sent) await a.publish("s", p);
        assert.deepEqual(await c.next(sent.length), sent);
        assert.equal(a.lostCount, 0);
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    }
  });

  it("survives a PostgreSQL restart: LISTENs again, counts what was lost meanwhile", async () => {
    const a = new PostgresBroker({ url: postgres.url, prefix: "restart" });
    const b = new PostgresBroker({ url: postgres.url, prefix: "restart" });
    try {
      const c = collector(10_000);
      await b.subscribe("s", c.handler);
      await a.publish("s", "before");
      await c.next(1);
      const reconnected = new Promise((resolve) => b.once("reconnected", resolve));
      await postgres.pause();
      await assert.rejects(a.publish("s", "during"));
      assert.equal(a.lostCount, 1);
      await postgres.start();
      await reconnected;
      await a.publish("s", "after");
      assert.deepEqual(await c.next(2), ["before", "after"]);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
