/**
 * FallbackSocket (wirecable/client) against a standalone WebSocketServer with `fallback`: the
 * browser WebSocket's surface over HTTP (events, protocol, binaryType, bufferedAmount, close
 * from either side) and a stream resumed after a proxy cut it. Node's fetch stands for the
 * browser's; test/interop/fallback-chromium.test.ts runs it in Chromium.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { FallbackSocket } from "../../../src/client/fallback/fallback-socket.js";
import type { Connection } from "../../../src/node/connection.js";
import { WebSocketServer } from "../../../src/node/server.js";
import { BlockingProxy } from "../../helpers/blocking-proxy.js";
import { UNIT, until } from "../../helpers/time.js";

let wss: WebSocketServer;
let proxy: BlockingProxy;
const connections: Connection[] = [];

before(async () => {
  wss = new WebSocketServer({ port: 0, host: "127.0.0.1", path: "/ws", protocols: ["b", "a"], fallback: true });
  await wss.ready;
  wss.on("connection", (conn: Connection) => {
    connections.push(conn);
    conn.on("message", (data, isBinary) => {
      const text = String(data);
      if (!isBinary && text.startsWith("close:")) conn.close(Number(text.slice(6)), "server says");
      else conn.send(data, { binary: isBinary });
    });
  });
  proxy = new BlockingProxy("strip");
  await proxy.listen(`http://127.0.0.1:${(wss.address() as { port: number }).port}`);
});

after(async () => {
  await proxy.close();
  await wss.close({ timeout: 10 * UNIT });
});

interface Recorded {
  socket: FallbackSocket;
  events: Array<{ type: string; data?: unknown; code?: number; reason?: string; wasClean?: boolean }>;
}

function open(url = `${wss.url}?x=1`, protocols?: string | string[]): Recorded {
  const socket = new FallbackSocket(url, protocols);
  const events: Recorded["events"] = [];
  for (const type of ["open", "message", "error", "close"]) {
    socket.addEventListener(type, (e: Recorded["events"][number]) => events.push({ ...e, type }));
  }
  return { socket, events };
}

async function waitFor(r: Recorded, type: string, count = 1): Promise<void> {
  await until(() => r.events.filter((e) => e.type === type).length >= count, `${count} ${type} event(s)`);
}

describe("FallbackSocket: a WebSocket over HTTP", () => {
  it("opens with the server's subprotocol and echoes text and binary", async () => {
    const r = open(`${wss.url}?x=1`, ["a", "b"]);
    assert.equal(r.socket.readyState, FallbackSocket.CONNECTING);
    await waitFor(r, "open");
    assert.equal(r.socket.readyState, FallbackSocket.OPEN);
    assert.equal(r.socket.protocol, "b");
    r.socket.binaryType = "arraybuffer";
    r.socket.send("hé\r\nllo");
    r.socket.send(new Uint8Array([1, 2, 3]));
    r.socket.send(new Uint8Array([9, 8, 7, 6]).buffer);
    assert.ok(r.socket.bufferedAmount > 0);
    await waitFor(r, "message", 3);
    const data = r.events.filter((e) => e.type === "message").map((e) => e.data);
    assert.equal(data[0], "hé\r\nllo");
    assert.deepEqual(new Uint8Array(data[1] as ArrayBuffer), new Uint8Array([1, 2, 3]));
    assert.deepEqual(new Uint8Array(data[2] as ArrayBuffer), new Uint8Array([9, 8, 7, 6]));
    await until(() => r.socket.bufferedAmount === 0, "bufferedAmount back to 0");
    r.socket.close(1000, "bye");
    assert.equal(r.socket.readyState, FallbackSocket.CLOSING);
    await waitFor(r, "close");
    assert.deepEqual(
      r.events.filter((e) => e.type === "close").map(({ code, wasClean }) => ({ code, wasClean })),
      [{ code: 1000, wasClean: true }],
    );
  });

  it("a large message crosses several POSTs (the upstream is a byte stream)", async () => {
    const socket = new FallbackSocket(wss.url!, undefined, { maxRequestBytes: 1000 });
    const r: Recorded = { socket, events: [] };
    socket.onopen = () => r.events.push({ type: "open" });
    socket.onmessage = (e: { data: unknown }) => r.events.push({ type: "message", data: e.data });
    await waitFor(r, "open");
    const big = "x".repeat(5000);
    socket.send(big);
    await waitFor(r, "message");
    assert.equal(r.events.at(-1)!.data, big);
    socket.close();
  });

  it("the server's close: echoed, then a clean close with its code and reason", async () => {
    const r = open();
    await waitFor(r, "open");
    r.socket.send("close:4321");
    await waitFor(r, "close");
    assert.deepEqual(r.events.at(-1), {
      type: "close",
      code: 4321,
      reason: "server says",
      wasClean: true,
      target: r.socket,
    });
    await until(() => connections.at(-1)!.readyState === 3, "the server side closed");
  });

  it("a refused open is an error then a 1006 close, as a failed WebSocket handshake", async () => {
    const r = open(`ws://127.0.0.1:${(wss.address() as { port: number }).port}/elsewhere`);
    await waitFor(r, "close");
    assert.deepEqual(
      r.events.map((e) => e.type),
      ["error", "close"],
    );
    assert.equal(r.events[1]!.code, 1006);
    assert.equal(r.events[1]!.wasClean, false);
  });

  it("resumes a stream the proxy cut, without losing or repeating a message", async () => {
    const r = open(`${proxy.origin.replace("http", "ws")}/ws`);
    await waitFor(r, "open");
    const conn = connections.at(-1)!;
    r.socket.send("before");
    await waitFor(r, "message");
    proxy.cutStreams();
    for (let i = 0; i < 5; i++) conn.send(`during ${i}`);
    r.socket.send("after");
    await waitFor(r, "message", 7);
    assert.deepEqual(
      r.events.filter((e) => e.type === "message").map((e) => e.data),
      ["before", "during 0", "during 1", "during 2", "during 3", "during 4", "after"],
    );
    assert.equal(r.socket.readyState, FallbackSocket.OPEN);
    r.socket.close();
    await waitFor(r, "close");
  });

  it("validates like a browser WebSocket", () => {
    assert.throws(() => new FallbackSocket(wss.url!, ["a", "a"]), { name: "SyntaxError" });
    const socket = new FallbackSocket(wss.url!);
    assert.throws(() => socket.send("too early"), { name: "InvalidStateError" });
    assert.throws(() => socket.close(1001), { name: "InvalidAccessError" });
    assert.throws(() => socket.close(1000, "x".repeat(124)), { name: "SyntaxError" });
    socket.close();
    assert.equal(socket.readyState, FallbackSocket.CLOSED);
  });
});
