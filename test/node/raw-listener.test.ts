/**
 * The standalone server's raw `net` listener (src/node/raw-listener.ts): head parsing over real
 * loopback sockets and over in-memory duplexes (to control exactly how the bytes are split),
 * the IncomingMessage it builds compared with node:http's own, the answers it gives by itself
 * (426, 400, 414, 431, 408), and its cleanup (EOF, resets, close with sockets mid-head).
 */
import assert from "node:assert/strict";
import { createServer as createHttpServer, type IncomingMessage } from "node:http";
import { Session } from "node:inspector";
import { createServer as createNetServer, connect as netConnect, type Socket } from "node:net";
import { Duplex } from "node:stream";
import { after, describe, it } from "node:test";
import fc from "fast-check";
import { WebSocketServer } from "../../src/node/index.js";
import { RawListener, type RawListenerOptions, SPARES } from "../../src/node/raw-listener.js";
import { wheel } from "../../src/node/timer-wheel.js";
import { cframe } from "../helpers/frames.js";
import { memorySocket } from "../helpers/memory-socket.js";
import { portOf, RawClient } from "../helpers/raw-client.js";
import { event, sleep, UNIT, until, within } from "../helpers/time.js";

const cleanups: Array<() => unknown> = [];
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

const KEY = "dGhlIHNhbXBsZSBub25jZQ==";
const UPGRADE = `GET /chat?room=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`;

interface Upgrade {
  req: IncomingMessage;
  socket: Socket;
  head: Buffer;
}

/** A listener on loopback whose upgrades are collected (and their sockets destroyed at the end). */
async function listen(options: Partial<RawListenerOptions> = {}): Promise<{
  listener: RawListener;
  port: number;
  upgrades: Upgrade[];
  errors: unknown[];
}> {
  const upgrades: Upgrade[] = [];
  const errors: unknown[] = [];
  const listener = new RawListener({
    maxHeaderBytes: 16 * 1024,
    maxHeaderCount: 100,
    handshakeTimeout: 50 * UNIT,
    onUpgrade: (req, socket, head) => {
      upgrades.push({ req, socket, head });
      cleanups.push(() => socket.destroy());
    },
    onError: (error) => errors.push(error),
    ...options,
  });
  listener.listen(0, "127.0.0.1");
  await event(listener.server, "listening");
  cleanups.push(() => {
    listener.close();
    listener.destroyPending();
  });
  return { listener, port: portOf(listener.address()), upgrades, errors };
}

/** A loopback client that collects what it receives; `closed` resolves on close. */
async function open(port: number): Promise<{ socket: Socket; received: () => string; closed: Promise<void> }> {
  const socket = netConnect({ host: "127.0.0.1", port, noDelay: true });
  cleanups.push(() => socket.destroy());
  socket.on("error", () => {});
  const chunks: Buffer[] = [];
  socket.on("data", (d: Buffer) => chunks.push(d));
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  await event(socket, "connect");
  return { socket, received: () => Buffer.concat(chunks).toString("latin1"), closed };
}

/** An in-memory socket: what the listener writes is collected; `push` delivers one 'data' chunk. */
function statusOf(response: string): number {
  return Number(response.split(" ")[1]);
}

/** The class name the inspector shows for `value` (an in-process session answers at once). */
function inspectorClassName(value: unknown): string | undefined {
  const session = new Session();
  session.connect();
  const key = "__wirecableInspected";
  (globalThis as Record<string, unknown>)[key] = value;
  let name: string | undefined;
  session.post("Runtime.evaluate", { expression: `globalThis.${key}` }, (error, result) => {
    if (error === null) name = result.result.className;
  });
  delete (globalThis as Record<string, unknown>)[key];
  session.disconnect();
  return name;
}

describe("RawListener: upgrade requests", () => {
  it("hands over a head split byte by byte, with an IncomingMessage like node:http's", async () => {
    const { listener, port, upgrades } = await listen();
    const client = await open(port);
    for (const byte of Buffer.from(UPGRADE)) {
      client.socket.write(Buffer.of(byte));
      await sleep(1);
    }
    await until(() => upgrades.length === 1);
    const { req, head } = upgrades[0]!;
    assert.equal(req.method, "GET");
    assert.equal(req.url, "/chat?room=1");
    assert.equal(req.httpVersion, "1.1");
    assert.equal(req.httpVersionMajor, 1);
    assert.equal(req.httpVersionMinor, 1);
    assert.equal(req.complete, true);
    assert.equal(req.headers.upgrade, "websocket");
    assert.equal(req.headers["sec-websocket-key"], KEY);
    assert.deepEqual(req.rawHeaders.slice(0, 4), ["Host", "127.0.0.1", "Upgrade", "websocket"]);
    assert.equal(req.socket, upgrades[0]!.socket);
    assert.equal(head.length, 0);
    assert.ok(Buffer.isBuffer(head));
    assert.equal(listener.pendingCount, 0);
  });

  it("passes the frames sent in the same packet as `head`, and later bytes wait for the new owner", async () => {
    const { port, upgrades } = await listen();
    const client = await open(port);
    const frames = Buffer.concat([cframe(1, "early"), cframe(2, Buffer.from([1, 2, 3]))]);
    client.socket.write(Buffer.concat([Buffer.from(UPGRADE), frames]));
    await until(() => upgrades.length === 1);
    const { socket, head } = upgrades[0]!;
    assert.deepEqual(head, frames);
    // Nobody reads the socket for a while: bytes sent now must not be lost.
    client.socket.write("late bytes");
    await sleep(UNIT);
    assert.equal(socket.readableFlowing, null);
    const got: Buffer[] = [];
    socket.on("data", (d: Buffer) => got.push(d));
    await until(() => Buffer.concat(got).toString() === "late bytes");
  });

  it("builds the same IncomingMessage as node:http for the same bytes (duplicates included)", async () => {
    const request =
      "GET /a/b?c=d HTTP/1.1\r\nHost: first\r\nhost: second\r\nUpgrade: websocket\r\nConnection: keep-alive\r\n" +
      "connection: Upgrade\r\nCookie: a=1\r\ncookie: b=2\r\nUser-Agent: one\r\nUser-Agent: two\r\nX-Custom: 1\r\n" +
      "x-custom: 2\r\nSet-Cookie: s=1\r\nSet-Cookie: s=2\r\nSec-WebSocket-Protocol: chat\r\n" +
      "Sec-WebSocket-Protocol: superchat\r\nX-Empty:\r\nX-Spaces:   padded  \r\n\r\n";
    const http = createHttpServer();
    cleanups.push(() => new Promise((resolve) => http.close(resolve)));
    const fromNode = new Promise<IncomingMessage>((resolve) =>
      http.on("upgrade", (req: IncomingMessage, socket: Socket) => {
        socket.destroy();
        resolve(req);
      }),
    );
    http.listen(0, "127.0.0.1");
    await event(http, "listening");
    (await open(portOf(http.address()))).socket.write(request);
    const { port, upgrades } = await listen();
    (await open(port)).socket.write(request);
    const expected = await within(fromNode);
    await until(() => upgrades.length === 1);
    const actual = upgrades[0]!.req;
    for (const field of ["method", "url", "httpVersion", "httpVersionMajor", "httpVersionMinor", "complete"] as const) {
      assert.equal(actual[field], expected[field], field);
    }
    assert.deepEqual(actual.headers, expected.headers);
    // A plain object as node's (made by a constructor for its slots: nothing of it shows).
    assert.equal(Object.getPrototypeOf(actual.headers), Object.prototype);
    assert.equal(actual.headers.constructor, Object);
    assert.deepEqual(
      Object.getOwnPropertyDescriptors(actual.headers),
      Object.getOwnPropertyDescriptors(expected.headers),
    );
    assert.deepEqual(Object.keys(actual.headers), Object.keys(expected.headers));
    // The class name debuggers and heap snapshots show (V8's, from the constructor) is node's too.
    assert.equal(inspectorClassName(actual.headers), inspectorClassName(expected.headers));
    assert.equal(inspectorClassName(actual.headers), "Object");
    assert.deepEqual(actual.rawHeaders, expected.rawHeaders);
    assert.equal((actual as IncomingMessage & { upgrade: boolean }).upgrade, true);
    assert.equal(actual.readableEnded || actual.readableLength === 0, true);
  });

  it("property: a valid request split at arbitrary points is handed over intact", async () => {
    const upgrades: Upgrade[] = [];
    const listener = new RawListener({
      maxHeaderBytes: 16 * 1024,
      maxHeaderCount: 100,
      handshakeTimeout: 0,
      onUpgrade: (req, socket, head) => upgrades.push({ req, socket: socket, head }),
      onError: () => {},
    });
    const token = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,16}$/);
    const value = fc.stringMatching(/^[\x21-\x7e]([\x20-\x7e]{0,20}[\x21-\x7e])?$/);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(token, value), { maxLength: 8 }),
        fc.stringMatching(/^\/[\x21-\x7e]{0,30}$/),
        fc.array(fc.nat(400), { maxLength: 8 }),
        fc.uint8Array({ maxLength: 40 }),
        async (extra, target, cuts, trailing) => {
          upgrades.length = 0;
          const lines = [
            ["Host", "example.com"],
            ["Upgrade", "websocket"],
            ["Connection", "Upgrade"],
            ...extra.filter(([name]) => !/^(upgrade|connection|set-cookie)$/i.test(name)),
          ];
          const text = `GET ${target} HTTP/1.1\r\n${lines.map(([n, v]) => `${n}: ${v}\r\n`).join("")}\r\n`;
          const bytes = Buffer.concat([Buffer.from(text, "latin1"), trailing]);
          const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
          const { socket } = memorySocket();
          listener.server.emit("connection", socket);
          let start = 0;
          for (const point of [...points, bytes.length]) {
            if (point > start) socket.push(bytes.subarray(start, point));
            start = point;
            await new Promise((resolve) => setImmediate(resolve));
          }
          assert.equal(upgrades.length, 1);
          const { req, head } = upgrades[0]!;
          assert.equal(req.url, target);
          assert.deepEqual(req.rawHeaders, lines.flat());
          // What the owner sees: `head`, then whatever the socket still holds.
          const rest: Buffer[] = [head];
          socket.on("data", (d: Buffer) => rest.push(d));
          await new Promise((resolve) => setImmediate(resolve));
          assert.deepEqual(Buffer.concat(rest), Buffer.from(trailing));
          assert.equal(listener.pendingCount, 0);
          socket.destroy();
        },
      ),
      { numRuns: 150 },
    );
  });

  it("reuses its per-socket state: every request gets its own head, whatever other sockets left behind", async () => {
    const upgrades: Upgrade[] = [];
    const listener = new RawListener({
      maxHeaderBytes: 16 * 1024,
      maxHeaderCount: 100,
      handshakeTimeout: 0,
      onUpgrade: (req, socket, head) => upgrades.push({ req, socket, head }),
      onError: () => {},
    });
    const turn = () => new Promise((resolve) => setImmediate(resolve));
    const connect = () => {
      const memory = memorySocket();
      listener.server.emit("connection", memory.socket);
      return memory;
    };
    const upgrade = (target: string, extra: string) =>
      `GET ${target} HTTP/1.1\r\nHost: h\r\n${extra}Upgrade: websocket\r\nConnection: Upgrade\r\n\r\n`;
    for (let round = 0; round < 3; round++) {
      // Left mid-line (a line buffered across chunks), then closed.
      const abandoned = connect();
      abandoned.socket.push(Buffer.from("GET /abandoned HTTP/1.1\r\nX-Left: half"));
      // Refused mid-head (400), and a plain request with body framing (426).
      const refused = connect();
      refused.socket.push(Buffer.from("GET /refused HTTP/1.1\r\nX-Bad\r\n\r\n"));
      const plain = connect();
      plain.socket.push(Buffer.from("POST /plain HTTP/1.1\r\nContent-Length: 3\r\n\r\n"));
      // One in flight while another completes, with frames after its head.
      const slow = connect();
      slow.socket.push(Buffer.from(upgrade("/slow", "X-Slow: 1\r\n").slice(0, 30)));
      const fast = connect();
      fast.socket.push(Buffer.concat([Buffer.from(upgrade("/fast", "Cookie: a=1\r\n")), Buffer.of(0x81, 0x80)]));
      await turn();
      abandoned.socket.destroy();
      await turn();
      slow.socket.push(Buffer.from(upgrade("/slow", "X-Slow: 1\r\n").slice(30)));
      await turn();
      assert.equal(statusOf(refused.written()), 400);
      assert.equal(statusOf(plain.written()), 426);
      refused.socket.destroy();
      plain.socket.destroy();
      // Sockets answered and closed, and the spares reused, round after round.
      const after = connect();
      // (Content-Length left over from the plain request would make this a 400.)
      after.socket.push(Buffer.from(upgrade("/after", "Transfer-Encoding: chunked\r\n")));
      await turn();
      assert.deepEqual(
        upgrades.map(({ req, head }) => [req.url, req.rawHeaders.length, Object.keys(req.headers).join(), head.length]),
        [
          ["/fast", 8, "host,cookie,upgrade,connection", 2],
          ["/slow", 8, "host,x-slow,upgrade,connection", 0],
          ["/after", 8, "host,transfer-encoding,upgrade,connection", 0],
        ],
      );
      for (const { socket } of upgrades) socket.destroy();
      upgrades.length = 0;
      await turn();
      assert.equal(listener.pendingCount, 0);
    }
  });

  it("reuses its per-socket state after a 408, destroyPending and a throwing onUpgrade, past SPARES", async () => {
    const upgrades: Upgrade[] = [];
    const errors: unknown[] = [];
    const listener = new RawListener({
      maxHeaderBytes: 16 * 1024,
      maxHeaderCount: 100,
      handshakeTimeout: 2 * UNIT,
      onUpgrade: (req, socket, head) => {
        if (req.url === "/throw") throw new Error("owner bug");
        upgrades.push({ req, socket, head });
      },
      onError: (error) => errors.push(error),
    });
    cleanups.push(() => listener.destroyPending());
    const turn = () => new Promise((resolve) => setImmediate(resolve));
    const connect = (bytes: string) => {
      const memory = memorySocket();
      listener.server.emit("connection", memory.socket);
      memory.socket.push(Buffer.from(bytes));
      return memory;
    };
    const upgrade = (target: string, extra = "") =>
      `GET ${target} HTTP/1.1\r\nHost: h\r\n${extra}Upgrade: websocket\r\nConnection: Upgrade\r\n\r\n`;
    // More sockets at once than the listener keeps spares for, all upgraded, then all closed.
    const burst = Array.from({ length: SPARES + 20 }, (_, i) => connect(upgrade(`/burst/${i}`, `X-I: ${i}\r\n`)));
    await turn();
    assert.equal(upgrades.length, SPARES + 20);
    const kept = upgrades.map(({ req }) => [req.url, req.headers["x-i"]]);
    for (const { socket } of burst) socket.destroy();
    await turn();
    // A head cut short by the timeout (408), one destroyed by destroyPending, one whose owner throws.
    const slow = connect("GET /slow HTTP/1.1\r\nX-Slow: 1\r\n");
    await until(() => statusOf(slow.written()) === 408);
    slow.socket.destroy();
    const pending = connect("GET /pending HTTP/1.1\r\n");
    await turn();
    listener.destroyPending();
    assert.equal(pending.socket.destroyed, true);
    const thrower = connect(upgrade("/throw"));
    await until(() => errors.length === 1);
    assert.equal(thrower.socket.destroyed, true);
    await turn();
    // Later sockets get heads of their own; the earlier requests are as they were.
    for (let i = 0; i < 5; i++) connect(upgrade(`/later/${i}`, `X-Later: ${i}\r\n`));
    await turn();
    assert.deepEqual(
      upgrades.slice(SPARES + 20).map(({ req }) => [req.url, req.rawHeaders.join("|")]),
      Array.from({ length: 5 }, (_, i) => [`/later/${i}`, `Host|h|X-Later|${i}|Upgrade|websocket|Connection|Upgrade`]),
    );
    assert.deepEqual(
      upgrades.slice(0, SPARES + 20).map(({ req }) => [req.url, req.headers["x-i"]]),
      kept,
    );
    assert.deepEqual(kept[SPARES + 19], [`/burst/${SPARES + 19}`, String(SPARES + 19)]);
    for (const { socket } of upgrades) socket.destroy();
    await turn();
    assert.equal(listener.pendingCount, 0);
  });

  it("reports a throwing onUpgrade and destroys the socket", async () => {
    const errors: unknown[] = [];
    const listener = new RawListener({
      maxHeaderBytes: 0,
      maxHeaderCount: 0,
      handshakeTimeout: 0,
      onUpgrade: () => {
        throw new Error("owner bug");
      },
      onError: (error) => errors.push(error),
    });
    const { socket } = memorySocket();
    listener.server.emit("connection", socket);
    socket.push(Buffer.from(UPGRADE));
    await until(() => errors.length === 1);
    assert.match(String(errors[0]), /owner bug/);
    assert.equal(socket.destroyed, true);
  });
});

describe("RawListener: answers of its own", () => {
  it("answers a plain GET with 426 and closes", async () => {
    const { listener, port, upgrades } = await listen();
    const client = await open(port);
    client.socket.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    await within(client.closed);
    const response = client.received();
    assert.equal(statusOf(response), 426);
    assert.match(response, /\r\nUpgrade: websocket\r\n/);
    assert.match(response, /\r\nConnection: Upgrade, close\r\n/);
    assert.match(response, /\r\nSec-WebSocket-Version: 13, 8, 7\r\n/);
    assert.match(response, /\r\n\r\nUpgrade Required/);
    assert.equal(upgrades.length, 0);
    await until(() => listener.pendingCount === 0);
  });

  it("answers 426 when Upgrade: websocket comes without Connection: Upgrade (node:http's rule)", async () => {
    const { socket, written } = memorySocket();
    const { listener } = await listen();
    listener.server.emit("connection", socket);
    socket.push(Buffer.from("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n"));
    await until(() => socket.destroyed);
    assert.equal(statusOf(written()), 426);
  });

  it("answers garbage with 400, a long request line with 414, huge or crowded heads with 431", async () => {
    const { port } = await listen({ maxHeaderBytes: 4096, maxHeaderCount: 10 });
    const cases: Array<[string, number]> = [
      ["\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400],
      ["GET / HTTP/1.1\r\nBad Header: x\r\n\r\n", 400],
      [`GET /${"a".repeat(9000)} HTTP/1.1\r\n\r\n`, 414],
      [`GET / HTTP/1.1\r\nX-Big: ${"b".repeat(5000)}\r\n\r\n`, 431],
      [`GET / HTTP/1.1\r\n${"X-Many: 1\r\n".repeat(11)}\r\n`, 431],
    ];
    for (const [request, status] of cases) {
      const client = await open(port);
      client.socket.write(request);
      await within(client.closed);
      assert.equal(statusOf(client.received()), status, JSON.stringify(request.slice(0, 40)));
    }
  });

  it("cuts a slowloris with 408 after handshakeTimeout (timer wheel)", async () => {
    const { listener, port, upgrades } = await listen({ handshakeTimeout: 2 * UNIT });
    const client = await open(port);
    const started = Date.now();
    client.socket.write("GET / HTTP/1.1\r\nHost: x\r\n");
    const drip = setInterval(() => client.socket.write("X-Slow: 1\r\n"), UNIT / 2);
    cleanups.push(() => clearInterval(drip));
    await within(client.closed);
    clearInterval(drip);
    assert.ok(Date.now() - started >= 2 * UNIT - 5, "not before the timeout");
    assert.equal(statusOf(client.received()), 408);
    assert.equal(upgrades.length, 0);
    await until(() => listener.pendingCount === 0);
  });

  it("times heads out in accept order with one wheel entry for the listener", async () => {
    const { listener, port, upgrades } = await listen({ handshakeTimeout: 4 * UNIT });
    const entries = wheel.size;
    const first = await open(port);
    const firstAt = Date.now();
    first.socket.write("GET / HTTP/1.1\r\nHost: x\r\n");
    await sleep(UNIT);
    const second = await open(port);
    second.socket.write(UPGRADE.slice(0, 30));
    const third = await open(port);
    const thirdAt = Date.now();
    third.socket.write("GET / HTTP/1.1\r\n");
    await until(() => listener.pendingCount === 3);
    assert.equal(wheel.size - entries, 1, "one entry for three heads");
    second.socket.write(UPGRADE.slice(30)); // the middle one completes: it leaves the queue
    await until(() => upgrades.length === 1);
    await within(first.closed);
    assert.ok(Date.now() - firstAt >= 4 * UNIT - 5, "the oldest not before its deadline");
    assert.equal(statusOf(first.received()), 408);
    await within(third.closed);
    // Opened a UNIT after the oldest: cut with it, it would have had 3 UNITs only.
    assert.ok(Date.now() - thirdAt >= 4 * UNIT - 5, "the youngest not before its own deadline");
    assert.equal(statusOf(third.received()), 408);
    assert.equal(second.received().startsWith("HTTP/1.1 408"), false);
    await until(() => listener.pendingCount === 0);
  });

  it("closes a socket whose peer ends or resets before the head is complete; the process survives", async () => {
    const { listener, port } = await listen();
    const ended = await open(port);
    ended.socket.end("GET / HTTP/1.1\r\nHo");
    await within(ended.closed);
    const reset = await open(port);
    reset.socket.write("GET / HTTP/1.1\r\n");
    await until(() => listener.pendingCount === 1);
    reset.socket.resetAndDestroy();
    await until(() => listener.pendingCount === 0);
    assert.equal(ended.received(), "");
  });

  it("destroys a peer that never reads its answer after LINGER at the latest", async () => {
    // An in-memory socket whose writes never complete: 'finish' never comes.
    const socket = new Duplex({ allowHalfOpen: true, read() {}, write() {} });
    const { listener } = await listen();
    listener.server.emit("connection", socket);
    socket.push(Buffer.from("GET / HTTP/1.1\r\n\r\n"));
    await sleep(UNIT);
    assert.equal(socket.destroyed, false);
    await until(() => socket.destroyed, "the socket destroyed", 30 * UNIT);
    assert.equal(listener.pendingCount, 0);
  });
});

describe("WebSocketServer standalone over the raw listener", () => {
  it("close() destroys sockets still before their upgrade", async () => {
    const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", handshakeTimeout: 0 });
    cleanups.push(() => wss.close({ timeout: 5 * UNIT }));
    await wss.ready;
    const port = portOf(wss.address());
    const halfOpen = await open(port);
    halfOpen.socket.write("GET / HTTP/1.1\r\nHost: x\r\n");
    const silent = await open(port);
    const upgraded = await RawClient.open(port);
    cleanups.push(() => upgraded.destroy());
    assert.equal(upgraded.status, 101);
    await sleep(UNIT / 2);
    await within(wss.close({ timeout: 5 * UNIT }));
    await within(Promise.all([halfOpen.closed, silent.closed]));
    await upgraded.until(() => upgraded.ended);
    assert.equal(halfOpen.received(), "");
  });

  it("frames sent with the request reach the connection; caps come from the options", async () => {
    const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", maxHeaderBytes: 1024 });
    cleanups.push(() => wss.close({ timeout: 5 * UNIT }));
    await wss.ready;
    const port = portOf(wss.address());
    const got: string[] = [];
    wss.on("connection", (conn) => conn.on("message", (d) => got.push(String(d))));
    const raw = await RawClient.open(port, {
      request: Buffer.concat([Buffer.from(UPGRADE), cframe(1, "hello")]),
    });
    cleanups.push(() => raw.destroy());
    assert.equal(raw.status, 101);
    await until(() => got.length === 1);
    assert.equal(got[0], "hello");
    const big = await RawClient.open(port, { headers: { "X-Big": "a".repeat(2000) } });
    assert.equal(big.status, 431);
  });

  it("an upgraded socket keeps one 'error' listener (the connection's), in both server modes", async () => {
    const standalone = new WebSocketServer({ port: 0, host: "127.0.0.1" });
    cleanups.push(() => standalone.close({ timeout: 5 * UNIT }));
    const http = createHttpServer();
    const attached = new WebSocketServer({ server: http });
    cleanups.push(async () => {
      await attached.close({ timeout: 5 * UNIT });
      http.close();
    });
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    await standalone.ready;
    for (const [wss, port] of [
      [standalone, portOf(standalone.address())],
      [attached, portOf(http.address())],
    ] as const) {
      const opened = event<[import("../../src/node/index.js").Connection]>(wss, "connection");
      const raw = await RawClient.open(port);
      cleanups.push(() => raw.destroy());
      assert.equal(raw.status, 101);
      const [conn] = await opened;
      assert.equal(conn.socket.listenerCount("error"), 1);
      // and an error on it is still heard: reported by the connection, the process keeps running
      const errors: Error[] = [];
      conn.on("error", (e: Error) => errors.push(e));
      conn.socket.destroy(new Error("boom"));
      await until(() => conn.readyState === 3);
      assert.deepEqual(
        errors.map((e) => e.message),
        ["boom"],
      );
    }
  });

  it("EADDRINUSE rejects ready and is emitted as 'error'", async () => {
    const blocker = createNetServer();
    cleanups.push(() => new Promise((resolve) => blocker.close(resolve)));
    blocker.listen(0, "127.0.0.1");
    await event(blocker, "listening");
    const wss = new WebSocketServer({ port: portOf(blocker.address()), host: "127.0.0.1" });
    cleanups.push(() => wss.close({ timeout: 5 * UNIT }));
    const errors: Error[] = [];
    wss.on("error", (error: Error) => errors.push(error));
    await assert.rejects(wss.ready, { code: "EADDRINUSE" });
    assert.equal((errors[0] as NodeJS.ErrnoException | undefined)?.code, "EADDRINUSE");
    assert.equal(wss.url, undefined);
  });

  it("emits 'listening' and reports address() and url", async () => {
    const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", path: "/p" });
    cleanups.push(() => wss.close({ timeout: 5 * UNIT }));
    await event(wss, "listening");
    assert.match(wss.url!, /^ws:\/\/127\.0\.0\.1:\d+\/p$/);
    assert.equal((wss.address() as { address: string }).address, "127.0.0.1");
  });
});
