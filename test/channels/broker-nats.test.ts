import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { NatsBroker, parseNatsUrl, subjectToken } from "../../src/channels/brokers/nats.js";
import { type NatsProcess, startNats } from "../helpers/nats.js";
import { historyContract } from "./broker-capabilities.js";
import { type BrokerFeatures, brokerContract, collector } from "./broker-contract.js";

let nats: NatsProcess;
before(async () => {
  nats = await startNats();
});
after(async () => {
  await nats?.stop();
});

let prefixes = 0;
for (const localDelivery of [true, false]) {
  brokerContract(`nats (localDelivery: ${localDelivery})`, {
    async pair() {
      const prefix = `t${++prefixes}`;
      return [
        new NatsBroker({ url: nats.url, prefix, localDelivery }),
        new NatsBroker({ url: nats.url, prefix, localDelivery }),
      ];
    },
    // nats-server's default max_payload is 1 MiB, headers and all.
    maxPayload: 1024 * 1024 - 1024,
  });
}

// Every stream keeping history: publishes go through JetStream, subscribers get what it stored.
brokerContract("nats (history on every stream)", {
  async pair() {
    const prefix = `all${++prefixes}`;
    return [
      new NatsBroker({ url: nats.url, prefix, history: {} }),
      new NatsBroker({ url: nats.url, prefix, history: {} }),
    ];
  },
  maxPayload: 1024 * 1024 - 4096,
});

describe("nats broker specifics", () => {
  it("stream names become one subject token, injectively", () => {
    assert.equal(subjectToken("chat:1"), "chat:1");
    assert.equal(subjectToken("a.b"), "a~2Eb");
    assert.equal(subjectToken("*"), "~2A");
    assert.equal(subjectToken(">"), "~3E");
    assert.equal(subjectToken("~2E"), "~7E2E", "the escape character is escaped");
    assert.equal(subjectToken(""), "~");
    assert.equal(subjectToken("é"), "~C3~A9");
    assert.equal(subjectToken("a b\tc"), "a~20b~09c");
    const long = subjectToken("x".repeat(500));
    assert.match(long, /^~~[0-9a-f]{64}$/);
    assert.notEqual(long, subjectToken("x".repeat(501)));
    for (const s of ["a.b", "a~2Eb", "", "~", "*", ">", "a b"]) assert.match(subjectToken(s), /^[^\s.*>]+$/);
  });

  it("parses nats:// URLs: several servers, user and password, token, TLS", () => {
    assert.deepEqual(parseNatsUrl("nats://a:4222,b:4223"), { servers: ["a:4222", "b:4223"] });
    assert.deepEqual(parseNatsUrl("nats://u:p%40ss@a:4222"), { servers: ["a:4222"], user: "u", pass: "p@ss" });
    assert.deepEqual(parseNatsUrl("nats://s3cret@a"), { servers: ["a"], token: "s3cret" });
    assert.deepEqual(parseNatsUrl("tls://a:4443"), { servers: ["a:4443"], tls: {} });
    assert.throws(() => parseNatsUrl("redis://a"), /nats:\/\//);
  });

  it("wildcard characters in stream names match nothing else", async () => {
    const a = new NatsBroker({ url: nats.url, prefix: "wild" });
    const b = new NatsBroker({ url: nats.url, prefix: "wild" });
    try {
      const star = collector();
      const all = collector();
      await b.subscribe("*", star.handler);
      await b.subscribe(">", all.handler);
      await a.publish("room", "1");
      await a.publish("*", "2");
      assert.deepEqual(await star.next(1), ["2"]);
      await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(all.got, []);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it("a payload over the server's max_payload is refused and counted as lost", async () => {
    const a = new NatsBroker({ url: nats.url, prefix: "big" });
    try {
      await a.subscribe("s", () => {});
      await assert.rejects(a.publish("s", "x".repeat(2 * 1024 * 1024)));
      assert.equal(a.lostCount, 1);
    } finally {
      await a.close();
    }
  });

  it("survives a NATS restart: resubscribes every stream, counts what was lost meanwhile", async () => {
    const server = await startNats({ jetstream: false });
    const a = new NatsBroker({ url: server.url, prefix: "restart" });
    const b = new NatsBroker({ url: server.url, prefix: "restart" });
    try {
      const streams = ["s1", "s2", "s3"];
      const cs = streams.map(() => collector(10_000));
      for (let i = 0; i < streams.length; i++) await b.subscribe(streams[i]!, cs[i]!.handler);
      await a.publish("s1", "before");
      await cs[0]!.next(1);

      const lost: string[] = [];
      a.on("lost", (info) => lost.push(info.payload));
      const disconnected = new Promise<void>((resolve) => a.once("disconnected", resolve));
      const reconnected = new Promise<{ streams: number; downtimeMs: number }>((resolve) =>
        b.once("reconnected", resolve),
      );
      await server.pause();
      await disconnected;
      await assert.rejects(a.publish("s1", "during"));
      assert.deepEqual(lost, ["during"]);
      assert.equal(a.lostCount, 1);
      await server.start();
      const info = await reconnected;
      assert.equal(info.streams, 3);
      assert.ok(info.downtimeMs > 0);
      const deadline = Date.now() + 10_000;
      for (;;) {
        try {
          await a.publish("s2", "after");
          break;
        } catch {
          if (Date.now() > deadline) throw new Error("publisher did not reconnect");
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      await a.publish("s3", "after");
      assert.deepEqual(await cs[1]!.next(1), ["after"]);
      assert.deepEqual(await cs[2]!.next(1), ["after"]);
      assert.deepEqual(cs[0]!.got, ["before"]);
    } finally {
      await Promise.all([a.close(), b.close()]);
      await server.stop();
    }
  });
});

describe("nats broker started while NATS is down", () => {
  it("subscribes the streams added meanwhile once NATS comes up", async () => {
    const late = await startNats({ jetstream: false });
    await late.pause();
    const a = new NatsBroker({ url: late.url, prefix: "late", connectTimeout: 200 });
    const b = new NatsBroker({ url: late.url, prefix: "late", connectTimeout: 200 });
    try {
      const c = collector(10_000);
      await b.subscribe("s", c.handler);
      await late.start();
      const deadline = Date.now() + 10_000;
      while (c.got.length === 0) {
        await a.publish("s", "hello").catch(() => {});
        if (Date.now() > deadline) throw new Error("never delivered");
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(c.got[0], "hello");
    } finally {
      await Promise.all([a.close(), b.close()]);
      await late.stop();
    }
  });
});

let stores = 0;
const natsFactory = {
  async pair(features: BrokerFeatures = {}): Promise<[NatsBroker, NatsBroker]> {
    const prefix = `cap${++stores}`;
    return [
      new NatsBroker({ url: nats.url, prefix, history: features.history }),
      new NatsBroker({ url: nats.url, prefix, history: features.history }),
    ];
  },
};
historyContract("nats (JetStream)", natsFactory);
