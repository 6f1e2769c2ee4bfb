// PostgresBroker's listening connection, on a fake pg client (providePeer): however its attempts
// fail and end, and whenever the broker closes, at most one connection listens.
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { describe, it } from "node:test";
import { createBroker } from "../../src/channels/brokers/from-url.js";
import { providePeer } from "../../src/channels/brokers/optional-peer.js";
import { PostgresBroker } from "../../src/channels/brokers/postgres.js";
import { until, within } from "../helpers/time.js";

/**
 * A pg Client whose connect() the test settles, and whose 'end' it emits when it chooses. As
 * pg's: end() during connect() leaves connect() pending; a cut socket makes it reject.
 */
class FakeClient extends EventEmitter {
  static made: FakeClient[] = [];
  connected = false;
  ended = false;
  listens: string[] = [];
  settle!: (error?: Error) => void;
  connecting = false;
  readonly connection = {
    stream: { destroy: () => this.connecting && this.settle(new Error("Connection terminated unexpectedly")) },
  };
  /** Emits 'end' now, as pg does when the server goes; `end()` only records the call. */
  lose(): void {
    this.connected = false;
    this.emit("end");
  }
  constructor(readonly config: { connectionTimeoutMillis?: number } = {}) {
    super();
    FakeClient.made.push(this);
  }
  connect(): Promise<void> {
    this.connecting = true;
    return new Promise((resolve, reject) => {
      this.settle = (error) => {
        if (!this.connecting) return;
        this.connecting = false;
        if (error !== undefined) return reject(error);
        if (this.ended) return; // pg: ended while connecting, connect() never settles
        this.connected = true;
        resolve();
      };
    });
  }
  async query(text: string): Promise<{ rows: [] }> {
    if (!this.connected) throw new Error("not connected");
    if (text.startsWith("LISTEN")) this.listens.push(text);
    return { rows: [] };
  }
  async end(): Promise<void> {
    this.ended = true;
    this.connected = false;
  }
}
providePeer("pg", async () => ({ Client: FakeClient }));

/** Connections that listen now: connected, not ended, with a LISTEN. */
const listening = () => FakeClient.made.filter((c) => c.connected && !c.ended && c.listens.length > 0);

/** A broker on the fake client, subscribed to `stream`, once its first attempt is under way. */
async function start(stream = "room") {
  FakeClient.made = [];
  const broker = new PostgresBroker({ url: "postgres://u@127.0.0.1:9/db", localDelivery: false });
  const subscribed = broker.subscribe(stream, () => {});
  await until(() => FakeClient.made.length === 1, "first attempt");
  return { broker, subscribed, first: FakeClient.made[0]! };
}

/** Waits for attempt `n` (1-based), lets it connect, and checks it becomes the one listener. */
async function connectAttempt(n: number): Promise<FakeClient> {
  await until(() => FakeClient.made.length === n, `attempt ${n}`);
  const client = FakeClient.made[n - 1]!;
  client.settle();
  await until(() => listening().length === 1, `attempt ${n} listens`);
  assert.deepEqual(listening(), [client]);
  return client;
}

describe("PostgresBroker's listening connection", () => {
  it("a failed attempt's late 'end' does not start a second listener beside its replacement", async () => {
    const { broker, subscribed, first } = await start();
    try {
      first.settle(new Error("ECONNREFUSED")); // the attempt fails; pg emits its 'end' later
      await subscribed;
      const second = await connectAttempt(2);
      let disconnected = 0;
      broker.on("disconnected", () => disconnected++);
      first.lose(); // the failed attempt's 'end', late
      await new Promise((resolve) => setTimeout(resolve, 1200)); // any retry timer (at most 1 s) has run
      assert.equal(FakeClient.made.length, 2, "no attempt beside the listening one");
      assert.deepEqual(listening(), [second]);
      assert.equal(disconnected, 0, "no 'disconnected' for a connection already given up");
      second.lose(); // the listener goes: exactly one new attempt
      await connectAttempt(3);
    } finally {
      await broker.close();
    }
  });

  it("an attempt lost while its LISTENs run is dropped, not kept beside the next", async () => {
    const { broker, subscribed, first } = await start();
    try {
      // connected, but it ends before the broker takes it: its query then fails or it is dropped
      first.once("end", () => {});
      const query = first.query.bind(first);
      first.query = async (text: string) => {
        first.lose();
        return query(text);
      };
      first.settle();
      await subscribed;
      await connectAttempt(2);
    } finally {
      await broker.close();
    }
  });

  it("close() while an attempt is connecting cuts it: subscribe and close both settle", async () => {
    const { broker, subscribed } = await start();
    let errors = 0;
    broker.on("error", () => errors++);
    await broker.close();
    await subscribed; // settles: the cut socket made connect() reject
    assert.equal(FakeClient.made[0]!.connecting, false);
    assert.equal(listening().length, 0);
    await new Promise((resolve) => setTimeout(resolve, 200)); // no retry after close
    assert.equal(FakeClient.made.length, 1);
    assert.equal(errors, 0, "no error event for what close() cut");
  });

  it("a stream subscribed while the attempt's LISTENs run is LISTENed by that attempt", async () => {
    const { broker, subscribed, first: client } = await start("a");
    try {
      const query = client.query.bind(client);
      let late: Promise<unknown> | undefined;
      client.query = async (text: string) => {
        late ??= broker.subscribe("b", () => {}); // arrives while "a" is being LISTENed
        return query(text);
      };
      client.settle();
      await subscribed;
      await late;
      assert.deepEqual(client.listens, ['LISTEN "a"', 'LISTEN "b"']);
    } finally {
      await broker.close();
    }
  });

  it("each attempt has a connect timeout: 5000 ms by default, else the options' own (0: none)", async () => {
    const timeouts: Array<number | undefined> = [];
    for (const broker of [
      new PostgresBroker({ url: "postgres://u@127.0.0.1:9/db" }),
      new PostgresBroker({ url: "postgres://u@127.0.0.1:9/db", client: { connectionTimeoutMillis: 250 } }),
      new PostgresBroker({ url: "postgres://u@127.0.0.1:9/db", client: { connectionTimeoutMillis: 0 } }),
      createBroker("postgres://u@127.0.0.1:9/db") as PostgresBroker,
      createBroker("postgres://u@127.0.0.1:9/db", { connectTimeout: 0 }) as PostgresBroker,
    ]) {
      FakeClient.made = [];
      const subscribed = broker.subscribe("room", () => {});
      const published = broker.publish("room", "x").catch(() => {}); // the publishing connection
      await until(() => FakeClient.made.length === 2, "both connections");
      assert.equal(
        FakeClient.made[0]!.config.connectionTimeoutMillis,
        FakeClient.made[1]!.config.connectionTimeoutMillis,
      );
      timeouts.push(FakeClient.made[0]!.config.connectionTimeoutMillis);
      await broker.close();
      await subscribed;
      for (const client of FakeClient.made) client.settle(new Error("Connection terminated"));
      await published;
    }
    assert.deepEqual(timeouts, [5000, 250, 0, 5000, 0]);
  });

  it("close() while the publishing connection is connecting cuts it: the publish rejects, close settles", async () => {
    FakeClient.made = [];
    const broker = new PostgresBroker({ url: "postgres://u@127.0.0.1:9/db" });
    const published = broker.publish("room", "x");
    published.catch(() => {});
    await until(() => FakeClient.made.length === 1, "the publishing connection");
    const publisher = FakeClient.made[0]!;
    assert.equal(publisher.connecting, true);
    await broker.close(); // pg's end() alone would leave connect() pending (until its timeout)
    await assert.rejects(within(published, undefined, "publish"), { message: "broker is closed" });
    assert.equal(publisher.connecting, false, "cut");
    assert.equal(broker.lostCount, 1);
  });
});
