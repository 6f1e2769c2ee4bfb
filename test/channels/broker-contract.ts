/**
 * The broker contract suite (see src/channels/brokers/broker.ts), run against every
 * implementation by broker-*.test.ts. `pair()` gives two brokers that stand for two processes
 * of one cluster (the same instance for the in-memory broker). The capability suites
 * (historyContract, presenceContract, dedupContract: broker-capabilities.ts) take the same
 * factory; `pair(features)` then creates brokers with those options.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import type { Broker } from "../../src/channels/brokers/broker.js";
import type { HistoryOptions } from "../../src/channels/brokers/stream-history.js";
import type { PresenceOptions } from "../../src/channels/brokers/stream-presence.js";
import { sleep } from "../helpers/time.js";

/** Options for the brokers of a capability suite (each broker's constructor takes these names). */
export interface BrokerFeatures {
  history?: HistoryOptions;
  presence?: PresenceOptions;
}

export interface BrokerFactory {
  pair(features?: BrokerFeatures): Promise<[Broker, Broker]>;
  /** Largest payload the broker carries; default 1 MiB. */
  maxPayload?: number;
  /**
   * Make `broker` stop as a killed process would: no leave, no heartbeat, connections dropped.
   * Absent where a broker's state cannot outlive its process (in-memory).
   */
  crash?(broker: Broker): Promise<void>;
  /**
   * Presence is each process's view of announcements over plain pub/sub (pubsub-presence.ts),
   * not a shared store's: views converge, but a watcher may see a member leave and come back
   * while another process's session of it is still on its way.
   */
  eventualPresence?: boolean;
}

/** Collects payloads; `next(n)` waits (bounded) until n have arrived. */
export function collector(timeoutMs = 3000) {
  const got: string[] = [];
  let waiters: Array<() => void> = [];
  const handler = (payload: string) => {
    got.push(payload);
    for (const w of waiters) w();
  };
  async function next(n: number): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    while (got.length < n) {
      if (Date.now() > deadline)
        throw new Error(`timed out: got ${got.length} of ${n}: ${JSON.stringify(got).slice(0, 200)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
      waiters = [];
    }
    return got;
  }
  return { got, handler, next };
}

const settle = (ms = 100) => sleep(ms);

export function brokerContract(name: string, factory: BrokerFactory): void {
  describe(`broker contract: ${name}`, () => {
    const open: Broker[] = [];
    async function pair(): Promise<[Broker, Broker]> {
      const p = await factory.pair();
      open.push(...p);
      return p;
    }
    after(async () => {
      await Promise.all([...new Set(open)].map((b) => b.close()));
    });

    it("delivers a publish to a subscriber of the stream, in this process and the other", async () => {
      const [a, b] = await pair();
      const local = collector();
      const remote = collector();
      await a.subscribe("room:1", local.handler);
      await b.subscribe("room:1", remote.handler);
      await a.publish("room:1", '{"x":1}');
      assert.deepEqual(await local.next(1), ['{"x":1}']);
      assert.deepEqual(await remote.next(1), ['{"x":1}']);
      await settle();
      assert.equal(local.got.length, 1, "delivered once, not echoed twice");
      assert.equal(remote.got.length, 1);
    });

    it("matches stream names exactly: no prefix or pattern match (Faye CVE-2020-11020)", async () => {
      const [a, b] = await pair();
      const exact = collector();
      const others = collector();
      await b.subscribe("chat:1", exact.handler);
      await b.subscribe("chat:10", others.handler);
      await b.subscribe("chat", others.handler);
      await b.subscribe("chat:*", others.handler);
      await b.subscribe("chat:?", others.handler);
      await a.publish("chat:1", '"only"');
      await exact.next(1);
      await settle();
      assert.deepEqual(others.got, []);
    });

    it("keeps publish order per publisher", async () => {
      const [a, b] = await pair();
      const c = collector();
      await b.subscribe("order", c.handler);
      const sent = Array.from({ length: 100 }, (_, i) => String(i));
      for (const p of sent) await a.publish("order", p);
      assert.deepEqual(await c.next(100), sent);
    });

    it("delivers to every handler; unsubscribe removes only its own", async () => {
      const [a, b] = await pair();
      const one = collector();
      const two = collector();
      const unsubOne = await b.subscribe("multi", one.handler);
      await b.subscribe("multi", two.handler);
      await a.publish("multi", "1");
      await one.next(1);
      await two.next(1);
      await unsubOne();
      await a.publish("multi", "2");
      assert.deepEqual(await two.next(2), ["1", "2"]);
      await settle();
      assert.deepEqual(one.got, ["1"]);
    });

    it("stops delivering after the last unsubscribe", async () => {
      const [a, b] = await pair();
      const c = collector();
      const unsub = await b.subscribe("gone", c.handler);
      await unsub();
      await unsub(); // idempotent
      await a.publish("gone", "x");
      await settle();
      assert.deepEqual(c.got, []);
    });

    it("a throwing handler does not stop the others and is reported", async () => {
      const [a, b] = await pair();
      const errors: Error[] = [];
      const onError = (err: Error) => errors.push(err);
      b.on("error", onError);
      const c = collector();
      await b.subscribe("boom", () => {
        throw new Error("handler failed");
      });
      await b.subscribe("boom", c.handler);
      await a.publish("boom", "1");
      await c.next(1);
      b.off("error", onError);
      assert.ok(errors.some((e) => e.message === "handler failed"));
    });

    it("round-trips any string payload: unicode, NUL, the largest size, empty", async () => {
      const [a, b] = await pair();
      const c = collector();
      await b.subscribe("bytes", c.handler);
      const big = "x".repeat(factory.maxPayload ?? 1024 * 1024);
      const payloads = ['"héllo 🌍 \\u2028"', "\u0000leading NUL", big, ""];
      for (const p of payloads) await a.publish("bytes", p);
      assert.deepEqual(await c.next(payloads.length), payloads);
    });

    it("rejects publish and subscribe after close", async () => {
      const [a] = await pair();
      await a.close();
      await assert.rejects(a.publish("x", "1"));
      await assert.rejects(a.subscribe("x", () => {}));
    });
  });
}
