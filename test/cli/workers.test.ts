/**
 * `wirecable echo|broadcast --workers N` (src/cli/workers.ts), through bin/wirecable.js
 * (dist/ is rebuilt when the sources are newer). Each worker tags its 101 response with
 * `X-Wirecable-Worker: <id>`, which is how these tests know which worker serves a client.
 */
import assert from "node:assert/strict";
import type { Worker } from "node:cluster";
import { EventEmitter } from "node:events";
import { after, before, describe, it } from "node:test";
import WebSocketClient from "ws";
import { RELAY_TAG, relayToWorkers, sendToWorker } from "../../src/cli/workers.js";
import { startRedis } from "../helpers/redis.js";
import { event, sleep, UNIT, within } from "../helpers/time.js";
import { CLI_BOUND, CLI_TEST_TIMEOUT, ensureBuilt, runCli, startCli, stopAll } from "./helpers.js";

const URL_RE = /listening on (ws:\/\/\S+)/;
const cleanups: Array<() => unknown> = [];
before(() => ensureBuilt());
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
  stopAll();
});

interface Client {
  ws: WebSocketClient;
  worker: string;
  messages: string[];
  closed: Promise<number>;
}

/** Resolves once every client holds `count` messages (bounded: a missing message fails the test). */
function received(clients: Client[], count: number): Promise<unknown> {
  return within(
    Promise.all(
      clients.map(
        (c) =>
          new Promise<void>((resolve) => {
            const check = (): void => {
              if (c.messages.length < count) return;
              c.ws.off("message", check);
              resolve();
            };
            c.ws.on("message", check); // after open()'s listener: the message is counted already
            check();
          }),
      ),
    ),
    CLI_BOUND,
    `${count} messages on every client`,
  );
}

async function open(url: string): Promise<Client> {
  const ws = new WebSocketClient(url);
  ws.on("error", () => {});
  cleanups.push(() => ws.terminate());
  const messages: string[] = [];
  ws.on("message", (data: Buffer, isBinary: boolean) => messages.push(isBinary ? `bin:${[...data]}` : String(data)));
  const closed = new Promise<number>((resolve) => ws.on("close", (code: number) => resolve(code)));
  const [response] = await within(event<[{ headers: Record<string, string> }]>(ws, "upgrade", CLI_BOUND), CLI_BOUND);
  if (ws.readyState !== WebSocketClient.OPEN) await event(ws, "open");
  return { ws, worker: response.headers["x-wirecable-worker"] ?? "none", messages, closed };
}

/** Open clients until at least `perWorker` are on each of `workers` workers (round-robin spreads them). */
async function spread(url: string, workers: number, perWorker: number): Promise<Client[]> {
  const clients: Client[] = [];
  const count = (w: string): number => clients.filter((c) => c.worker === w).length;
  for (let i = 0; i < 40; i++) {
    clients.push(await open(url));
    const ids = new Set(clients.map((c) => c.worker));
    if (ids.size >= workers && [...ids].every((w) => count(w) >= perWorker)) break;
  }
  return clients;
}

describe("--workers", { timeout: CLI_TEST_TIMEOUT }, () => {
  it("echo --workers 2: connections are served by both workers; SIGTERM closes them with 1001", async () => {
    const echo = startCli(["echo", "--port", "0", "--workers", "2"]);
    const [, url] = await echo.waitFor(URL_RE);
    assert.match(echo.stdout(), /\(2 workers\)/);
    assert.equal(echo.stdout().trim().split("\n").length, 1, "the primary prints one line");
    const clients = await spread(url!, 2, 2);
    assert.deepEqual([...new Set(clients.map((c) => c.worker))].sort(), ["1", "2"]);
    for (const [i, c] of clients.entries()) {
      const got = event<[Buffer]>(c.ws, "message", CLI_BOUND);
      c.ws.send(`hello ${i}`);
      assert.equal(String((await got)[0]), `hello ${i}`);
    }
    echo.child.kill("SIGTERM");
    const codes = await within(Promise.all(clients.map((c) => c.closed)), CLI_BOUND, "clients closed");
    assert.deepEqual(new Set(codes), new Set([1001]));
    assert.equal((await echo.exited).code, 0, echo.stderr());
  });

  it("echo without --workers runs one process (no worker header)", async () => {
    const echo = startCli(["echo", "--port", "0"]);
    const [, url] = await echo.waitFor(URL_RE);
    assert.doesNotMatch(echo.stdout(), /workers/); // the whole line is there: it is written at once
    const c = await open(url!);
    assert.equal(c.worker, "none");
    echo.child.kill("SIGINT");
    assert.equal(await within(c.closed, CLI_BOUND), 1001);
    assert.equal((await echo.exited).code, 0);
  });

  it("broadcast --workers 2: clients on different workers all get every message exactly once", async () => {
    const server = startCli(["broadcast", "--port", "0", "--workers", "2"]);
    const [, url] = await server.waitFor(URL_RE);
    const clients = await spread(url!, 2, 2);
    assert.deepEqual([...new Set(clients.map((c) => c.worker))].sort(), ["1", "2"]);
    const sent: string[] = [];
    for (const [i, c] of clients.entries()) {
      c.ws.send(`from ${i} on worker ${c.worker}`);
      sent.push(`from ${i} on worker ${c.worker}`);
      c.ws.send(Buffer.from([i, 255]));
      sent.push(`bin:${i},255`);
    }
    await received(clients, sent.length);
    await sleep(3 * UNIT); // duplicates, if any, would arrive meanwhile
    const expected = [...sent].sort();
    for (const c of clients) {
      assert.deepEqual([...c.messages].sort(), expected, `client on worker ${c.worker}`);
    }
    // One relay order: every client sees the messages in the same order.
    for (const c of clients) assert.deepEqual(c.messages, clients[0]!.messages);
    server.child.kill("SIGTERM");
    assert.deepEqual(new Set(await within(Promise.all(clients.map((c) => c.closed)), CLI_BOUND)), new Set([1001]));
    assert.equal((await server.exited).code, 0, server.stderr());
  });
});

describe("broadcast --redis", { timeout: CLI_TEST_TIMEOUT }, () => {
  it("two processes (one of them with 2 workers) share every message, exactly once, text and binary", async () => {
    const redis = await startRedis();
    cleanups.push(() => redis.stop());
    const one = startCli(["broadcast", "--port", "0", "--redis", redis.url]);
    const two = startCli(["broadcast", "--port", "0", "--workers", "2", "--redis", redis.url]);
    const [[, url1], [, url2]] = await Promise.all([one.waitFor(URL_RE), two.waitFor(URL_RE)]);
    const clients = [await open(url1!), ...(await spread(url2!, 2, 1))];
    const sent: string[] = [];
    for (const [i, c] of clients.entries()) {
      c.ws.send(`redis ${i}`);
      c.ws.send(Buffer.from([i, 0, 200]));
      sent.push(`redis ${i}`, `bin:${i},0,200`);
    }
    await received(clients, sent.length);
    await sleep(3 * UNIT); // duplicates, if any, would arrive meanwhile
    for (const c of clients) assert.deepEqual([...c.messages].sort(), [...sent].sort(), `client on ${c.worker}`);
    one.child.kill("SIGTERM");
    two.child.kill("SIGTERM");
    assert.equal((await one.exited).code, 0, one.stderr());
    assert.equal((await two.exited).code, 0, two.stderr());
  });

  it("fails clearly when Redis is unreachable", async () => {
    const { code, stderr } = await runCli(["broadcast", "--port", "0", "--redis", "redis://127.0.0.1:1"]);
    assert.notEqual(code, 0);
    assert.match(stderr, /cannot use the broker at redis:\/\//);
  });
});

describe("--workers validation", () => {
  for (const [args, pattern] of [
    [["echo", "--port", "0", "--workers", "0"], /number of workers 1-256/],
    [["broadcast", "--port", "0", "--workers", "two"], /number of workers/],
  ] as Array<[string[], RegExp]>) {
    it(`fails clearly with a non-zero exit: ${args.join(" ")}`, async () => {
      const { code, stderr } = await runCli(args);
      assert.notEqual(code, 0);
      assert.match(stderr, pattern);
    });
  }
});

describe("sendToWorker: the primary's IPC writes", () => {
  /** A stand-in for a cluster Worker whose channel breaks as it is written to (it just exited). */
  class ExitingWorker extends EventEmitter {
    connected = true;
    sent: unknown[] = [];
    isConnected(): boolean {
      return this.connected;
    }
    send(message: unknown, callback?: (error: Error | null) => void): boolean {
      this.sent.push(message);
      const epipe = Object.assign(new Error("write EPIPE"), { code: "EPIPE" });
      // node:child_process reports a failed write to the callback, or else as an 'error' event.
      setImmediate(() => (callback ? callback(epipe) : this.emit("error", epipe)));
      return false;
    }
  }
  const asWorker = (w: ExitingWorker) => w as unknown as Worker;

  it("drops a message whose write fails (EPIPE) instead of raising an 'error' on the Worker", async () => {
    const w = new ExitingWorker();
    const errors: unknown[] = [];
    w.on("error", (e) => errors.push(e));
    assert.equal(sendToWorker(asWorker(w), { tag: "x" }), true);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(w.sent, [{ tag: "x" }]);
    assert.deepEqual(errors, []);
  });

  it("does not write to a worker that is no longer connected", () => {
    const w = new ExitingWorker();
    w.connected = false;
    assert.equal(sendToWorker(asWorker(w), { tag: "x" }), false);
    assert.deepEqual(w.sent, []);
  });

  it("the primary's relay survives a worker that exits while a message is relayed", async () => {
    const publisher = new ExitingWorker();
    const leaving = new ExitingWorker();
    const errors: unknown[] = [];
    leaving.on("error", (e) => errors.push(e));
    const relay = { tag: RELAY_TAG, message: { stream: "room", payload: "{}" } };
    relayToWorkers([asWorker(publisher), asWorker(leaving), undefined], relay);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(leaving.sent, [relay]);
    assert.deepEqual(publisher.sent, [relay]);
    assert.deepEqual(errors, []);
  });
});
