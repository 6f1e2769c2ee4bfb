/**
 * The typed events of src/node/typed-events.ts, checked by the compiler (`npm run typecheck`
 * compiles this file: Equal<> assertions and @ts-expect-error lines) and at run time over a real
 * connection: listeners get typed arguments without annotations, unknown event names do not
 * compile, and send() returns a promise only under the "wait" backpressure policy.
 */
import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { after, it } from "node:test";
import {
  type CableConnection,
  type CableError,
  CableServer,
  type LostMessage,
  MemoryBroker,
} from "../../src/channels/index.js";
import { type Connection, connect, type SendResult, WebSocketServer } from "../../src/node/index.js";
import { UNIT } from "../helpers/time.js";

/** True when A and B are the same type (not merely assignable). */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
/** Compiles only when its type argument is `true`. */
function expectType<T extends true>(_proof?: T): void {}

const cleanups: Array<() => unknown> = [];
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

it("server and connection events are typed without annotations; send() under the default policy", async () => {
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
  cleanups.push(() => wss.close({ timeout: 3 * UNIT }));
  const received = new Promise<[string | Buffer, boolean]>((resolve) => {
    wss.on("connection", (conn, req) => {
      expectType<Equal<typeof conn, Connection>>();
      expectType<Equal<typeof req, IncomingMessage>>();
      conn.on("message", (data, isBinary) => {
        expectType<Equal<typeof data, string | Buffer>>();
        expectType<Equal<typeof isBinary, boolean>>();
        const result = conn.send(data, { binary: isBinary });
        expectType<Equal<typeof result, SendResult>>(); // no promise: no-floating-promises has nothing to say
        resolve([data, isBinary]);
      });
      conn.on("close", (code, reason, wasClean) => {
        expectType<Equal<[typeof code, typeof reason, typeof wasClean], [number, string, boolean]>>();
      });
    });
  });
  // @ts-expect-error an event name the server does not emit
  wss.on("conection", () => {});
  // @ts-expect-error a listener expecting what the event does not carry
  wss.on("listening", (port: number) => port);
  await wss.ready;

  const client = await connect(wss.url!);
  cleanups.push(() => client.terminate());
  expectType<Equal<ReturnType<typeof client.send>, SendResult>>();
  assert.equal(client.send("typed"), "written");
  assert.deepEqual(await received, ["typed", false]);
});

it('with backpressure "wait", send() may return a promise, and its type says so', async () => {
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", backpressure: "wait" });
  cleanups.push(() => wss.close({ timeout: 3 * UNIT }));
  wss.on("connection", (conn) => {
    expectType<Equal<ReturnType<typeof conn.send>, SendResult | Promise<"written" | "buffered">>>();
  });
  await wss.ready;
  const client = await connect(wss.url!, { backpressure: "wait" });
  cleanups.push(() => client.terminate());
  const result = client.send("maybe later");
  expectType<Equal<typeof result, SendResult | Promise<"written" | "buffered">>>();
  assert.equal(await result, "written");
});

it("cable and broker events are typed", async () => {
  const broker = new MemoryBroker();
  const cable = new CableServer({ port: 0, host: "127.0.0.1", channels: {}, broker });
  cleanups.push(() => cable.close());
  cable.on("error", (error, connection) => {
    expectType<Equal<typeof error, CableError>>();
    expectType<Equal<typeof connection, CableConnection | undefined>>();
  });
  cable.on("connect", (connection) => expectType<Equal<typeof connection, CableConnection>>());
  broker.on("lost", (info) => expectType<Equal<typeof info, LostMessage>>());
  broker.on("reconnected", ({ streams, downtimeMs }) =>
    expectType<Equal<[typeof streams, typeof downtimeMs], [number, number]>>(),
  );
  // @ts-expect-error brokers have no "message" event
  broker.on("message", () => {});
  await cable.ready;
  assert.equal(cable.listenerCount("error"), 2); // the default listener and ours
});
