import assert from "node:assert/strict";
import { Duplex, Readable } from "node:stream";
import { after, describe, it } from "node:test";
import WebSocketClient from "ws";
import { createHybiEngine } from "../../src/node/engines.js";
import {
  type Connection,
  Connection as ConnectionClass,
  prepareMessage,
  WebSocketServer,
} from "../../src/node/index.js";
import { resolveConnectionOptions } from "../../src/node/options.js";
import { portOf } from "../helpers/raw-client.js";
import { event, sleep, UNIT, until, within } from "../helpers/time.js";

const cleanups: Array<() => unknown> = [];
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

/** A server and one connected ws client; returns both ends. */
async function pair(
  options: Record<string, unknown> = {},
): Promise<{ wss: WebSocketServer; conn: Connection; ws: WebSocketClient; port: number }> {
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", ...options });
  cleanups.push(() => wss.close({ timeout: 3 * UNIT }));
  await wss.ready;
  const port = portOf(wss.address());
  const connected = event<[Connection]>(wss, "connection");
  const ws = await client(port);
  const [conn] = await connected;
  return { wss, conn, ws, port };
}

/** Count the socket writes of a connection from now on. */
function countWrites(conn: Connection): { count: number } {
  const counter = { count: 0 };
  const socket = conn.socket;
  const original = socket.write.bind(socket);
  socket.write = ((...args: Parameters<typeof socket.write>) => {
    counter.count++;
    return original(...args);
  }) as typeof socket.write;
  return counter;
}

async function client(port: number): Promise<WebSocketClient> {
  const ws = new WebSocketClient(`ws://127.0.0.1:${port}/`);
  ws.on("error", () => {});
  cleanups.push(() => ws.terminate());
  await event(ws, "open");
  return ws;
}

/** Stop reading on the client side so the server's buffers fill. */
function pauseReader(ws: WebSocketClient): void {
  (ws as unknown as { _socket: import("node:net").Socket })._socket.pause();
}
function resumeReader(ws: WebSocketClient): void {
  (ws as unknown as { _socket: import("node:net").Socket })._socket.resume();
}

/** Send 64 KiB messages, one per turn, until the policy kicks in (bounded). */
async function fill(conn: Connection): Promise<{ results: unknown[]; last: unknown }> {
  const chunk = Buffer.alloc(64 * 1024, 1);
  const results: unknown[] = [];
  for (let i = 0; i < 1000 && conn.readyState === 1; i++) {
    const r = conn.send(chunk);
    results.push(r);
    if (r !== "written" && r !== "buffered") return { results, last: r };
    await sleep(1);
  }
  return { results, last: results.at(-1) };
}

describe("send", () => {
  it('reports "written" for every data type and the client receives them in order', async () => {
    const { conn, ws } = await pair();
    const got: Array<[string, boolean]> = [];
    ws.on("message", (d: Buffer, isBinary: boolean) =>
      got.push([isBinary ? d.toString("hex") : d.toString(), isBinary]),
    );
    const u16 = new Uint16Array([0x0201, 0x0403]);
    const results = [
      conn.send("text"),
      conn.send(Buffer.from([1, 2])),
      conn.send(new Uint8Array([3]).buffer),
      conn.send(u16),
      conn.send(new DataView(new Uint8Array([9, 8]).buffer)),
      conn.send(prepareMessage("prepared")),
      conn.send(Buffer.from("as text"), { binary: false }),
    ];
    assert.deepEqual(results, Array(7).fill("written"));
    await until(() => got.length === 7);
    assert.deepEqual(got, [
      ["text", false],
      ["0102", true],
      ["03", true],
      ["01020304", true],
      ["0908", true],
      ["prepared", false],
      ["as text", false],
    ]);
  });

  it("batches every frame of one turn into one socket write", async () => {
    const { conn, ws } = await pair();
    const writes = countWrites(conn);
    let received = 0;
    ws.on("message", () => received++);
    for (let i = 0; i < 100; i++) conn.send(`message ${i}`);
    assert.equal(writes.count, 0, "wrote before the end of the turn");
    assert.equal(conn.bufferedAmount > 0, true);
    await until(() => received === 100);
    assert.equal(writes.count, 1);
    assert.equal(conn.bufferedAmount, 0);
  });

  it("keeps the order of short frames (arena ranges) mixed with shared and large frames in one turn's write", async () => {
    const { conn, ws } = await pair();
    const writes = countWrites(conn);
    const got: string[] = [];
    ws.on("message", (data, isBinary) => got.push(isBinary ? `binary:${(data as Buffer).length}` : String(data)));
    const shared = prepareMessage("shared frame");
    const expected: string[] = [];
    for (let i = 0; i < 30; i++) {
      conn.send(`short ${i}`);
      expected.push(`short ${i}`);
      if (i % 3 === 0) {
        conn.sendPrepared(shared);
        expected.push("shared frame");
      }
      if (i % 7 === 0) {
        conn.send(Buffer.alloc(10_000 + i, 1));
        expected.push(`binary:${10_000 + i}`);
      }
      if (i % 5 === 0) {
        conn.ping(`p${i}`);
      }
    }
    await until(() => got.length === expected.length);
    assert.deepEqual(got, expected);
    assert.equal(writes.count, 1);
    assert.equal(conn.bufferedAmount, 0);
  });

  it('returns "dropped" after close', async () => {
    const { conn } = await pair();
    conn.close();
    assert.equal(conn.send("late"), "dropped");
    await within(conn.closed);
  });

  it("ping with a callback on the matching pong; ping/pong events", async () => {
    const { conn, ws } = await pair();
    const pinged = new Promise<void>((resolve) => conn.ping("abc", resolve));
    await within(pinged);
    const gotPing = event<[Buffer]>(conn, "ping");
    ws.ping("hey");
    assert.equal((await gotPing)[0].toString(), "hey");
  });
});

describe("backpressure", () => {
  it('policy "drop": a slow reader gets messages dropped, counted and reported', async () => {
    const { conn, ws } = await pair({ maxBufferedAmount: 512 * 1024, backpressure: "drop" });
    pauseReader(ws);
    const dropped: number[] = [];
    conn.on("dropped", (count: number) => dropped.push(count));
    const { results, last } = await fill(conn);
    assert.equal(last, "dropped");
    assert.ok(results.includes("buffered"), "never reported buffered before dropping");
    assert.deepEqual(dropped, [1]);
    assert.equal(conn.droppedCount, 1);
    assert.equal(conn.readyState, 1, "drop must not close");
    assert.ok(conn.bufferedAmount > 0);
    const drained = event(conn, "drain");
    resumeReader(ws);
    await drained;
    assert.equal(conn.bufferedAmount, 0);
  });

  it('policy "close": a slow reader is closed with 1008', async () => {
    const { conn, ws } = await pair({ maxBufferedAmount: 512 * 1024, backpressure: "close", closeTimeout: 30 * UNIT });
    pauseReader(ws);
    const closing = event<[number, string]>(conn, "closing");
    const { last } = await fill(conn);
    assert.equal(last, "dropped");
    assert.equal((await closing)[0], 1008);
    const clientClose = event<[number]>(ws, "close");
    resumeReader(ws);
    assert.equal((await clientClose)[0], 1008);
  });

  it('policy "wait": send returns a promise resolved once the reader catches up', async () => {
    const { conn, ws } = await pair({ maxBufferedAmount: 512 * 1024, backpressure: "wait" });
    pauseReader(ws);
    const { last } = await fill(conn);
    assert.ok(last instanceof Promise, "no promise once above the limit");
    let settled = false;
    void (last as Promise<unknown>).then(() => (settled = true));
    await sleep(2 * UNIT);
    assert.equal(settled, false);
    resumeReader(ws);
    assert.equal(await within(last as Promise<string>), "written");
  });

  it('policy "wait": a broadcast (sendPrepared, as server and channel broadcasts use) is dropped, never queued', async () => {
    const { conn, ws } = await pair({ maxBufferedAmount: 512 * 1024, backpressure: "wait" });
    pauseReader(ws);
    const { last } = await fill(conn);
    assert.ok(last instanceof Promise);
    const before = conn.droppedCount;
    const buffered = conn.bufferedAmount;
    assert.equal(conn.sendPrepared(prepareMessage(Buffer.alloc(64 * 1024, 2))), "dropped");
    assert.equal(conn.droppedCount, before + 1);
    assert.equal(conn.bufferedAmount, buffered, "nothing more was queued");
    assert.equal(conn.readyState, 1);
    resumeReader(ws);
    await within(last as Promise<string>);
  });
});

/**
 * A server Connection on a transport whose writes complete only when `release()` is called (so
 * its writableLength stays up meanwhile), counting the connection's reads of writableLength.
 */
function heldTransport(queued = 0) {
  let held: Array<() => void> = [];
  const socket = new Duplex({ read() {}, write: (_chunk, _enc, cb) => void held.push(cb) });
  if (queued > 0) socket.write(Buffer.alloc(queued)); // e.g. a 101 still queued
  const length = Object.getOwnPropertyDescriptor(Duplex.prototype, "writableLength")!.get!;
  const counter = { reads: 0 };
  Object.defineProperty(socket, "writableLength", {
    get() {
      counter.reads++;
      return length.call(this);
    },
  });
  const conn = new ConnectionClass({
    role: "server",
    socket,
    createEngine: createHybiEngine,
    options: resolveConnectionOptions({
      pingInterval: 0,
      idleTimeout: 0,
      maxBufferedAmount: 1000,
      backpressure: "drop",
    }),
    protocol: "",
    extensions: [],
    extensionsHeader: "",
  });
  cleanups.push(() => socket.destroy());
  /** Complete every write, also those the completions start, until none is left (bounded). */
  const release = async () => {
    for (let i = 0; i < 100 && held.length > 0; i++) {
      const cbs = held;
      held = [];
      for (const cb of cbs) cb();
      await new Promise((r) => setImmediate(r));
    }
  };
  return { conn, counter, release };
}

describe("sendPrepared without a backlog", () => {
  it("leaves the socket alone until a flush leaves bytes in it; then counts them against the limit", async () => {
    const { conn, counter, release } = heldTransport();
    counter.reads = 0;
    const hundred = prepareMessage("x".repeat(100));
    for (let i = 0; i < 5; i++) assert.equal(conn.sendPrepared(hundred), "written");
    assert.equal(counter.reads, 0, "no backlog: the socket is not read per delivery");
    await new Promise((r) => setImmediate(r)); // the flush: 5 x 102 bytes stay in the transport
    assert.equal(conn.sendPrepared(hundred), "buffered");
    assert.ok(counter.reads > 0, "with a backlog the socket is read");
    // 510 in the socket + 102 queued + 500 > 1000: dropped.
    assert.equal(conn.sendPrepared(prepareMessage("y".repeat(500))), "dropped");
    assert.equal(conn.droppedCount, 1);
    const drained = event(conn, "drain");
    await release(); // the 510 bytes, then the 102 queued meanwhile
    await within(drained);
    counter.reads = 0;
    assert.equal(conn.sendPrepared(hundred), "written");
    assert.equal(counter.reads, 0, "drained: no backlog again");
  });

  it("a fresh connection's first broadcast makes its engine and write path, then takes the usual path", async () => {
    const written: Buffer[] = [];
    const socket = new Duplex({
      read() {},
      write(chunk, _enc, cb) {
        written.push(Buffer.from(chunk));
        cb();
      },
    });
    cleanups.push(() => socket.destroy());
    const options = resolveConnectionOptions({ pingInterval: 0, idleTimeout: 0 });
    const init = { role: "server", socket, createEngine: createHybiEngine, options, protocol: "", extensions: [] };
    const conn = new ConnectionClass({ ...init, extensionsHeader: "" } as ConstructorParameters<
      typeof ConnectionClass
    >[0]);
    assert.equal(conn.bufferedAmount, 0);
    const message = prepareMessage("hi");
    assert.equal(conn.sendPrepared(message), "written"); // engine and write path made here (#firstPrepared)
    assert.equal(conn.bufferedAmount, message.frame.byteLength, "queued for the turn's flush");
    assert.equal(conn.sendPrepared(message), "written");
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(Buffer.concat(written), Buffer.concat([message.frame, message.frame]));
    assert.equal(conn.readyState, 1);
    // A connection whose transport closed before its first broadcast drops it and makes no write path.
    const gone = new Duplex({ read() {}, write: (_chunk, _enc, cb) => cb() });
    const late = new ConnectionClass({ ...init, socket: gone, extensionsHeader: "" } as ConstructorParameters<
      typeof ConnectionClass
    >[0]);
    const closed = event(late, "close");
    gone.destroy();
    await within(closed);
    assert.equal(late.sendPrepared(message), "dropped");
    assert.equal(late.bufferedAmount, 0);
  });

  it("a broadcast dropped before the engine exists (the 101 still queued) makes no engine; one admitted does", () => {
    let made = 0;
    const socket = new Duplex({ read() {}, write: () => {} }); // no write completes: the 101 stays queued
    cleanups.push(() => socket.destroy());
    socket.write(Buffer.alloc(950));
    const options = resolveConnectionOptions({ pingInterval: 0, idleTimeout: 0, maxBufferedAmount: 1000 });
    const conn = new ConnectionClass({
      role: "server",
      socket,
      createEngine: (host, engineOptions) => {
        made++;
        return createHybiEngine(host, engineOptions);
      },
      options: { ...options, backpressure: "drop" },
      protocol: "",
      extensions: [],
      extensionsHeader: "",
    });
    assert.equal(conn.sendPrepared(prepareMessage("x".repeat(100))), "dropped");
    assert.equal(conn.droppedCount, 1);
    assert.equal(made, 0, "no engine made for a dropped broadcast");
    assert.equal(conn.sendPrepared(prepareMessage("y")), "buffered");
    assert.equal(made, 1);
    assert.equal(conn.bufferedAmount, 950 + 3);
  });

  it("counts bytes already queued in the transport when the connection starts (the 101)", () => {
    const { conn } = heldTransport(950);
    assert.equal(conn.sendPrepared(prepareMessage("x".repeat(100))), "dropped");
  });
});

describe("stream", () => {
  it("sends an async iterable fragment by fragment as one message", async () => {
    const { conn, ws } = await pair();
    const got = event<[Buffer, boolean]>(ws, "message");
    async function* parts() {
      yield Buffer.from("hel");
      await sleep(5);
      yield Buffer.from("lo ");
      yield Buffer.from("world");
    }
    await within(conn.stream(parts()));
    const [data, isBinary] = await got;
    assert.equal(data.toString(), "hello world");
    assert.equal(isBinary, true);
  });

  it("streams a Readable of strings as text, with backpressure", async () => {
    const { conn, ws } = await pair({ maxBufferedAmount: 64 * 1024 });
    const got = event<[Buffer, boolean]>(ws, "message");
    const chunks = Array.from({ length: 64 }, (_, i) => `${i}`.padEnd(16 * 1024, "."));
    await within(conn.stream(Readable.from(chunks)));
    const [data, isBinary] = await got;
    assert.equal(isBinary, false);
    assert.equal(data.toString(), chunks.join(""));
  });
});

describe("receiving", () => {
  it("async iterator yields messages and ends on close", async () => {
    const { conn, ws } = await pair();
    ws.send("one");
    ws.send(Buffer.from("two"));
    ws.send("three");
    setTimeout(() => ws.close(1000, "done"), UNIT);
    const got: Array<string | Buffer> = [];
    for await (const message of conn) got.push(message);
    assert.deepEqual(got.map(String), ["one", "two", "three"]);
    assert.equal(typeof got[0], "string");
    assert.ok(Buffer.isBuffer(got[1]));
    const info = await conn.closed;
    assert.deepEqual(info, { code: 1000, reason: "done", wasClean: true });
  });

  it("close event has (code, reason, wasClean); readyState, protocol, extensions, bufferedAmount", async () => {
    const { conn, ws } = await pair();
    assert.equal(conn.readyState, 1);
    assert.equal(conn.protocol, "");
    assert.equal(conn.extensions, "");
    assert.equal(conn.bufferedAmount, 0);
    const closed = event<[number, string, boolean]>(conn, "close");
    ws.close(4001, "custom");
    assert.deepEqual(await closed, [4001, "custom", true]);
    assert.equal(conn.readyState, 3);
  });
});

describe("broadcast", () => {
  it("frames once, delivers to all but `except`, and drops for slow consumers", async () => {
    const wss = new WebSocketServer({
      port: 0,
      host: "127.0.0.1",
      maxBufferedAmount: 512 * 1024,
      backpressure: "drop",
    });
    cleanups.push(() => wss.close({ timeout: 3 * UNIT }));
    await wss.ready;
    const port = portOf(wss.address());
    const conns: Connection[] = [];
    wss.on("connection", (c) => conns.push(c));
    const fast = await client(port);
    const slow = await client(port);
    const sender = await client(port);
    await until(() => conns.length === 3);
    const senderConn = conns[2]!;
    let fastCount = 0;
    fast.on("message", () => fastCount++);
    pauseReader(slow);
    assert.equal(wss.broadcast("hi all", { except: senderConn }), 2);
    const big = prepareMessage(Buffer.alloc(256 * 1024));
    let deliveries = 0;
    let rounds = 0;
    for (; rounds < 200; rounds++) {
      deliveries = wss.broadcast(big, { except: senderConn });
      if (deliveries < 2) break;
      await until(() => fastCount === rounds + 2);
    }
    assert.equal(deliveries, 1, "the slow consumer was never skipped");
    assert.ok(conns[1]!.droppedCount >= 1);
    assert.equal(conns[1]!.readyState, 1);
    void sender;
  });
});
