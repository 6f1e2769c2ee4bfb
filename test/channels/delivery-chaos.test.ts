// Resumable streams end to end: a publisher sends numbered messages while wirecable's consumers
// (src/client) are cut at random points (each through its own TCP proxy, RST on both sides) and
// reconnect, with Redis and PostgreSQL to a different server process than before. Every client
// must end with every message exactly once and in order. Then acknowledged performs whose
// answer is lost with the connection: re-sent after the reconnection, run once, answered once.
import assert from "node:assert/strict";
import { once } from "node:events";
import { connect, createServer, type Server, type Socket } from "node:net";
import { after, describe, it } from "node:test";
import type { Broker } from "../../src/channels/brokers/broker.js";
import { MemoryBroker } from "../../src/channels/brokers/memory.js";
import { PostgresBroker } from "../../src/channels/brokers/postgres.js";
import { RedisBroker } from "../../src/channels/brokers/redis.js";
import { CableServer } from "../../src/channels/cable-server.js";
import { Channel } from "../../src/channels/channel.js";
import { type Consumer, createConsumer } from "../../src/client/index.js";
import { WebSocket } from "../../src/node/index.js";
import { startPostgres } from "../helpers/postgres.js";
import { startRedis } from "../helpers/redis.js";

class Numbers extends Channel {
  static runs = new Map<string, number>();
  override async subscribed(): Promise<void> {
    await this.streamFrom("numbers");
  }
  async record(data: { key: string; ms?: number }): Promise<number> {
    await new Promise((r) => setTimeout(r, data.ms ?? 0));
    const n = (Numbers.runs.get(data.key) ?? 0) + 1;
    Numbers.runs.set(data.key, n);
    return n;
  }
}

/** A TCP proxy per client: each connection goes to the next server in turn; `cut()` RSTs it. */
class CuttingProxy {
  readonly #server: Server;
  readonly #pairs = new Set<[Socket, Socket]>();
  #turn = 0;
  port = 0;
  cuts = 0;

  constructor(targets: number[]) {
    this.#server = createServer((client) => {
      const upstream = connect(targets[this.#turn++ % targets.length]!, "127.0.0.1");
      const pair: [Socket, Socket] = [client, upstream];
      this.#pairs.add(pair);
      client.pipe(upstream);
      upstream.pipe(client);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        this.#pairs.delete(pair);
      };
      client.on("error", drop).on("close", drop);
      upstream.on("error", drop).on("close", drop);
    });
  }

  async listen(): Promise<void> {
    this.#server.listen(0, "127.0.0.1");
    await once(this.#server, "listening");
    this.port = (this.#server.address() as { port: number }).port;
  }

  cut(): void {
    for (const [a, b] of this.#pairs) {
      a.resetAndDestroy();
      b.destroy();
      this.cuts++;
    }
    this.#pairs.clear();
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

interface Setup {
  /** The cable servers' ports (two processes sharing a broker, or one). */
  ports: number[];
  publish(n: number): Promise<void>;
  close(): Promise<void>;
}

async function servers(brokers: Broker[], publisher: Broker): Promise<Setup> {
  const cables = await Promise.all(
    brokers.map(async (broker) => {
      const cable = new CableServer({ port: 0, host: "127.0.0.1", channels: { Numbers }, broker });
      await cable.ready;
      return cable;
    }),
  );
  return {
    ports: cables.map((c) => (c.address() as { port: number }).port),
    publish: (n) => publisher.publish("numbers", JSON.stringify({ n })),
    async close() {
      await Promise.all(cables.map((c) => c.close()));
      await Promise.all([...new Set([...brokers, publisher])].map((b) => b.close()));
    },
  };
}

function client(port: number) {
  const consumer = createConsumer(`ws://127.0.0.1:${port}/cable`, {
    WebSocket,
    environment: null,
    initialDelay: 10,
    maxDelay: 60,
    minUptime: 0,
    staleTimeout: 3000,
  });
  const got: number[] = [];
  let resyncs = 0;
  let confirmed = 0;
  const subscription = consumer.subscriptions.create("Numbers", {
    received: (data: unknown) => got.push((data as { n: number }).n),
    resync: () => resyncs++,
    connected: () => confirmed++,
  });
  return { consumer, subscription, got, resyncs: () => resyncs, confirmed: () => confirmed };
}

async function until(condition: () => boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Deterministic randomness per run (a failure names its seed). */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

const MESSAGES = 300;
const CLIENTS = 6;

async function chaos(setup: Setup, seed = Date.now()): Promise<void> {
  const random = rng(seed);
  const proxies = await Promise.all(
    Array.from({ length: CLIENTS }, async (_, i) => {
      const p = new CuttingProxy(i % 2 === 0 ? setup.ports : [...setup.ports].reverse());
      await p.listen();
      return p;
    }),
  );
  const clients = proxies.map((p) => client(p.port));
  const consumers: Consumer[] = clients.map((c) => c.consumer);
  try {
    await until(() => clients.every((c) => c.confirmed() >= 1), "every client subscribed");
    let published = 0;
    let nextCut = 10 + random() * 40;
    for (let n = 1; n <= MESSAGES; n++) {
      await setup.publish(n);
      published++;
      if (published >= nextCut) {
        proxies[Math.floor(random() * proxies.length)]!.cut();
        nextCut = published + 5 + random() * 30;
      }
      if (n % 10 === 0) await new Promise((r) => setTimeout(r, random() * 15));
    }
    const expected = Array.from({ length: MESSAGES }, (_, i) => i + 1);
    await until(() => clients.every((c) => c.got.length >= MESSAGES), `every client got ${MESSAGES} (seed ${seed})`);
    await new Promise((r) => setTimeout(r, 100)); // anything duplicated would arrive by now
    const cuts = proxies.reduce((sum, p) => sum + p.cuts, 0);
    assert.ok(cuts >= 5, `${cuts} cuts`);
    for (const [i, c] of clients.entries()) {
      assert.deepEqual(c.got, expected, `client ${i}: exactly once, in order (seed ${seed})`);
      assert.equal(c.resyncs(), 0, `client ${i}: nothing had to be resynced`);
    }
  } finally {
    for (const c of consumers) c.disconnect();
    await Promise.all(proxies.map((p) => p.close()));
  }
}

describe("resumable streams under random cuts: every message exactly once, in order", { timeout: 120_000 }, () => {
  it("in memory (one server)", async () => {
    const broker = new MemoryBroker({ history: { limit: 1000 } });
    const setup = await servers([broker], broker);
    try {
      await chaos(setup);
    } finally {
      await setup.close();
    }
  });

  it("over Redis: two server processes, clients moving between them", async () => {
    const redis = await startRedis();
    const make = () => new RedisBroker({ url: redis.url, prefix: "chaos", history: { limit: 1000 } });
    const setup = await servers([make(), make()], make());
    try {
      await chaos(setup);
    } finally {
      await setup.close();
      await redis.stop();
    }
  });

  it("over PostgreSQL: two server processes, clients moving between them", async () => {
    const postgres = await startPostgres();
    const make = () => new PostgresBroker({ url: postgres.url, prefix: "chaos", history: { limit: 1000 } });
    const setup = await servers([make(), make()], make());
    try {
      await chaos(setup);
    } finally {
      await setup.close();
      await postgres.stop();
    }
  });
});

describe("acknowledged performs over a cut connection", () => {
  const cleanup: Array<() => Promise<void> | void> = [];
  after(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  it("the answer lost with the connection: re-sent, run once, answered once", async () => {
    const broker = new MemoryBroker();
    const setup = await servers([broker], broker);
    cleanup.push(() => setup.close());
    const proxy = new CuttingProxy(setup.ports);
    await proxy.listen();
    cleanup.push(() => proxy.close());
    const c = client(proxy.port);
    cleanup.push(() => c.consumer.disconnect());
    await until(() => c.confirmed() >= 1, "subscribed");
    // The action takes 150 ms; the connection is cut after 40: its answer has nowhere to go.
    const reply = c.subscription.perform("record", { key: "k1", ms: 150 }, { ack: true, timeout: 5000 });
    await new Promise((r) => setTimeout(r, 40));
    proxy.cut();
    assert.equal(await reply, 1, "the reply of the one run");
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(Numbers.runs.get("k1"), 1, "the retry did not run it again");
    // and a normal one
    assert.equal(await c.subscription.perform("record", { key: "k2" }, { ack: true }), 1);
  });

  it("no answer within the timeout: AckError TIMEOUT; a server without extensions: UNSUPPORTED", async () => {
    const broker = new MemoryBroker();
    const setup = await servers([broker], broker);
    cleanup.push(() => setup.close());
    const c = client(setup.ports[0]!);
    cleanup.push(() => c.consumer.disconnect());
    await until(() => c.confirmed() >= 1, "subscribed");
    await assert.rejects(c.subscription.perform("record", { key: "slow", ms: 400 }, { ack: true, timeout: 100 }), {
      name: "AckError",
      code: "TIMEOUT",
    });
    const plain = createConsumer(`ws://127.0.0.1:${setup.ports[0]}/cable`, { WebSocket, extensions: false });
    cleanup.push(() => plain.disconnect());
    let ready = false;
    const sub = plain.subscriptions.create("Numbers", { connected: () => (ready = true) });
    await until(() => ready, "subscribed without extensions");
    await assert.rejects(sub.perform("record", { key: "x" }, { ack: true }), { name: "AckError", code: "UNSUPPORTED" });
  });
});
