// PostgresBroker against a server that accepts TCP and never answers (pg's own default timeout
// is none): each connection attempt fails after client.connectionTimeoutMillis with an error that
// says so; the listening connection retries, a publish rejects and is counted.
import assert from "node:assert/strict";
import net from "node:net";
import { describe, it } from "node:test";
import { PostgresBroker } from "../../src/channels/brokers/postgres.js";
import { event, UNIT, until, within } from "../helpers/time.js";

/** A TCP server on 127.0.0.1 that accepts and never writes: `accepted` counts its connections. */
async function silentServer() {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `postgres://u@127.0.0.1:${port}/db`,
    accepted: () => accepted,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

const TIMEOUT = UNIT / 2; // ms: the connect timeout under test (the default is 5000); scaled with the suite's time
/** Bound for what the timeout settles: generous (a loaded machine), scaled too. */
const BOUND = 300 * UNIT;

describe("PostgresBroker on a server that never answers", () => {
  it("the listening connection's attempt fails after the timeout, says so, and is retried", async () => {
    const server = await silentServer();
    const broker = new PostgresBroker({ url: server.url, client: { connectionTimeoutMillis: TIMEOUT } });
    const errors: Error[] = [];
    broker.on("error", (error) => errors.push(error));
    const disconnected = event(broker, "disconnected", BOUND);
    try {
      await within(
        broker.subscribe("room", () => {}),
        BOUND,
        "subscribe",
      ); // settles: reported, not thrown
      await disconnected;
      assert.equal(errors.length, 1, errors.map((e) => e.message).join("; "));
      assert.equal(
        errors[0]!.message,
        `PostgreSQL did not answer within ${TIMEOUT} ms (client.connectionTimeoutMillis)`,
      );
      assert.equal((errors[0]!.cause as Error).message, "timeout expired"); // pg's own
      // the listener retries with its backoff, on the same silent server
      await until(() => server.accepted() >= 2, "a second attempt", BOUND);
    } finally {
      await broker.close();
      await server.close();
    }
  });

  it("a publish waiting for its connection rejects after the timeout and is counted as lost", async () => {
    const server = await silentServer();
    const broker = new PostgresBroker({ url: server.url, client: { connectionTimeoutMillis: TIMEOUT } });
    const lost: string[] = [];
    broker.on("lost", (info) => lost.push(info.reason));
    try {
      await assert.rejects(within(broker.publish("room", "hello"), BOUND, "publish"), {
        message: `PostgreSQL did not answer within ${TIMEOUT} ms (client.connectionTimeoutMillis)`,
      });
      assert.equal(broker.lostCount, 1);
      assert.deepEqual(lost, [`PostgreSQL did not answer within ${TIMEOUT} ms (client.connectionTimeoutMillis)`]);
      await until(() => server.accepted() === 1, "the attempt reached the server", BOUND); // (accept may come after pg's timer)
    } finally {
      await broker.close();
      await server.close();
    }
  });
});
