import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { CloseEvent, WebSocket, WebSocketServer } from "../../src/node/index.js";
import { portOf } from "../helpers/raw-client.js";
import { UNIT, within } from "../helpers/time.js";

let wss: WebSocketServer;
let base = "";
const sockets: WebSocket[] = [];

before(async () => {
  wss = new WebSocketServer({ port: 0, host: "127.0.0.1", protocols: ["chat"] });
  wss.on("connection", (conn) => {
    conn.on("message", (data: string | Buffer, isBinary: boolean) => {
      if (data === "close-me") conn.close(4000, "asked");
      else conn.send(data, { binary: isBinary });
    });
  });
  await wss.ready;
  base = `ws://127.0.0.1:${portOf(wss.address())}`;
});
after(async () => {
  for (const ws of sockets) if (ws.readyState < 2) ws.close();
  await wss.close({ timeout: 3 * UNIT });
});

function open(url = `${base}/`, protocols?: string | string[]): WebSocket {
  const ws = new WebSocket(url, protocols);
  sockets.push(ws);
  return ws;
}

function next<T extends Event>(ws: WebSocket, type: string): Promise<T> {
  return within(new Promise<T>((resolve) => ws.addEventListener(type, (e) => resolve(e as T), { once: true })));
}

describe("WebSocket (WHATWG)", () => {
  it("has the readyState constants, static and on instances", () => {
    assert.deepEqual([WebSocket.CONNECTING, WebSocket.OPEN, WebSocket.CLOSING, WebSocket.CLOSED], [0, 1, 2, 3]);
    const ws = open();
    assert.deepEqual([ws.CONNECTING, ws.OPEN, ws.CLOSING, ws.CLOSED], [0, 1, 2, 3]);
    assert.equal(ws.readyState, WebSocket.CONNECTING);
    assert.ok(ws instanceof EventTarget);
  });

  it("throws SyntaxError DOMExceptions for bad URLs and subprotocols", () => {
    for (const url of ["ftp://x/", "not a url", `${base}/#frag`]) {
      assert.throws(
        () => new WebSocket(url),
        (e: unknown) => e instanceof DOMException && e.name === "SyntaxError",
        url,
      );
    }
    assert.throws(
      () => new WebSocket(base, ["a", "a"]),
      (e: unknown) => e instanceof DOMException && e.name === "SyntaxError",
    );
    assert.throws(
      () => new WebSocket(base, "bad token"),
      (e: unknown) => e instanceof DOMException && e.name === "SyntaxError",
    );
  });

  it("maps http(s) URLs to ws(s) and exposes url, protocol, extensions", async () => {
    const ws = open(`${base.replace("ws:", "http:")}/path`, "chat");
    assert.equal(ws.url, `${base}/path`);
    await next(ws, "open");
    assert.equal(ws.protocol, "chat");
    assert.equal(ws.extensions, "");
    assert.equal(ws.readyState, WebSocket.OPEN);
  });

  it("send while CONNECTING throws InvalidStateError", () => {
    const ws = open();
    assert.throws(
      () => ws.send("x"),
      (e: unknown) => e instanceof DOMException && e.name === "InvalidStateError",
    );
  });

  it("on* handlers and addEventListener both receive MessageEvents", async () => {
    const ws = open();
    const seen: string[] = [];
    ws.onmessage = (e) => seen.push(`on:${(e as MessageEvent).data}`);
    ws.addEventListener("message", (e) => seen.push(`listener:${(e as MessageEvent).data}`));
    ws.onopen = () => ws.send("hi");
    await next(ws, "message");
    assert.deepEqual(seen.sort(), ["listener:hi", "on:hi"]);
    assert.equal(typeof ws.onmessage, "function");
    ws.onmessage = null;
    assert.equal(ws.onmessage, null);
  });

  it("binaryType: blob (default), arraybuffer, nodebuffer", async () => {
    const ws = open();
    await next(ws, "open");
    assert.equal(ws.binaryType, "blob");
    ws.send(new Uint8Array([1, 2, 3]));
    const blob = (await next<MessageEvent>(ws, "message")).data;
    assert.ok(blob instanceof Blob);
    assert.deepEqual([...new Uint8Array(await blob.arrayBuffer())], [1, 2, 3]);
    ws.binaryType = "arraybuffer";
    ws.send(new Uint16Array([0x0201]));
    const ab = (await next<MessageEvent>(ws, "message")).data;
    assert.ok(ab instanceof ArrayBuffer);
    assert.deepEqual([...new Uint8Array(ab)], [1, 2]);
    ws.binaryType = "nodebuffer";
    ws.send(new Uint8Array([7]).buffer);
    const buf = (await next<MessageEvent>(ws, "message")).data;
    assert.ok(Buffer.isBuffer(buf));
    ws.binaryType = "bogus" as "blob";
    assert.equal(ws.binaryType, "nodebuffer");
  });

  it("sends Blobs in call order with other data", async () => {
    const ws = open();
    ws.binaryType = "nodebuffer";
    await next(ws, "open");
    const got: string[] = [];
    const done = new Promise<void>((resolve) =>
      ws.addEventListener("message", (e) => {
        got.push(String((e as MessageEvent).data));
        if (got.length === 4) resolve();
      }),
    );
    ws.send(new Blob(["first"]));
    ws.send("second");
    ws.send(new Blob(["third"]));
    ws.send(Buffer.from("fourth"));
    assert.ok(ws.bufferedAmount >= 10);
    await within(done);
    assert.deepEqual(got, ["first", "second", "third", "fourth"]);
  });

  it("close() validates the code (InvalidAccessError) and reason (SyntaxError)", async () => {
    const ws = open();
    await next(ws, "open");
    for (const code of [999, 1001, 1005, 2999, 5000, 1000.5]) {
      assert.throws(
        () => ws.close(code),
        (e: unknown) => e instanceof DOMException && e.name === "InvalidAccessError",
        String(code),
      );
    }
    assert.throws(
      () => ws.close(1000, "é".repeat(62)),
      (e: unknown) => e instanceof DOMException && e.name === "SyntaxError",
    );
    assert.equal(ws.readyState, WebSocket.OPEN);
    const closed = next<CloseEvent>(ws, "close");
    ws.close(3001, "x".repeat(123));
    assert.equal(ws.readyState, WebSocket.CLOSING);
    ws.close(); // no-op while closing
    const event = await closed;
    assert.ok(event instanceof CloseEvent);
    assert.equal(event.code, 3001);
    assert.equal(event.wasClean, true);
    assert.equal(ws.readyState, WebSocket.CLOSED);
    ws.send("after close");
    assert.equal(ws.bufferedAmount, "after close".length);
  });

  it("reports server closes as CloseEvent(code, reason, wasClean)", async () => {
    const ws = open();
    ws.onopen = () => ws.send("close-me");
    const event = await next<CloseEvent>(ws, "close");
    assert.deepEqual([event.code, event.reason, event.wasClean], [4000, "asked", true]);
  });

  it("a failed connection fires error then close (1006)", async () => {
    const ws = open("ws://127.0.0.1:1/");
    const order: string[] = [];
    ws.onerror = () => order.push("error");
    const closed = next<CloseEvent>(ws, "close");
    ws.onclose = () => order.push("close");
    const event = await closed;
    assert.equal(event.code, 1006);
    assert.equal(event.wasClean, false);
    assert.deepEqual(order, ["error", "close"]);
    assert.equal(ws.readyState, WebSocket.CLOSED);
  });

  it("close() while CONNECTING fails the connection", async () => {
    const ws = open();
    ws.close();
    assert.equal(ws.readyState, WebSocket.CLOSING);
    const event = await next<CloseEvent>(ws, "close");
    assert.equal(event.code, 1006);
  });

  it("a throwing listener does not crash the process", async () => {
    const ws = open();
    const warned = new Promise<void>((resolve) => process.once("warning", () => resolve()));
    ws.addEventListener("open", () => {
      throw new Error("listener bug");
    });
    await next(ws, "open");
    await within(warned);
    ws.send("still works");
    assert.equal((await next<MessageEvent>(ws, "message")).data, "still works");
  });

  it("removeEventListener removes the listener", async () => {
    const ws = open();
    let calls = 0;
    const listener = () => calls++;
    ws.addEventListener("message", listener);
    ws.removeEventListener("message", listener);
    await next(ws, "open");
    ws.send("x");
    await next(ws, "message");
    assert.equal(calls, 0);
  });
});
