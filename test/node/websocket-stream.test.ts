/**
 * WebSocketStream: Chrome's API (opened/closed/close, readable and writable), interop with `ws`
 * in both roles, and real backpressure: a server writing as fast as its writable lets it is held
 * back by a reader that does not read (HTTP/2 flow control: within a stream window or so; TCP:
 * the kernel's buffers), and every message still arrives, in order, once it reads.
 */
import assert from "node:assert/strict";
import { createSecureServer } from "node:http2";
import type { AddressInfo } from "node:net";
import { after, describe, it } from "node:test";
import WebSocketClient, { WebSocketServer as WsServer } from "ws";
import {
  type Connection,
  HandshakeError,
  WebSocketError,
  WebSocketServer,
  WebSocketStream,
} from "../../src/node/index.js";
import { event, sleep, UNIT, until, within } from "../helpers/time.js";
import { testCertificate } from "../helpers/tls.js";

const cleanups: Array<() => unknown> = [];
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

async function wsEchoServer(): Promise<{ url: string; server: WsServer }> {
  const server = new WsServer({
    port: 0,
    host: "127.0.0.1",
    handleProtocols: (set) => (set.has("chat") ? "chat" : false),
  });
  await event(server, "listening");
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  server.on("connection", (ws) => {
    ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
  return { url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/`, server };
}

/** Our server (HTTP/1.1, or HTTP/2 over TLS); each connection goes to `onConnection`. */
async function ourServer(onConnection: (conn: Connection) => void, http2 = false): Promise<string> {
  if (http2) {
    const { cert, key } = testCertificate();
    const server = createSecureServer({ cert, key });
    const wss = new WebSocketServer({ server });
    wss.on("connection", onConnection);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    cleanups.push(() => wss.close({ timeout: 5 * UNIT }));
    return `wss://localhost:${(server.address() as AddressInfo).port}/`;
  }
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
  cleanups.push(() => wss.close({ timeout: 5 * UNIT }));
  wss.on("connection", onConnection);
  await wss.ready;
  return wss.url!;
}

describe("WebSocketStream", () => {
  it("talks to a ws server: opened, text and binary chunks, close({ closeCode, reason }) -> closed", async () => {
    const { url } = await wsEchoServer();
    const wss = new WebSocketStream(url, { protocols: ["chat"] });
    const { readable, writable, protocol, extensions } = await within(wss.opened);
    assert.equal(protocol, "chat");
    assert.equal(extensions, "");
    assert.equal(wss.url, url);
    const writer = writable.getWriter();
    const reader = readable.getReader();
    await writer.write("hello");
    await writer.write(new Uint8Array([1, 2, 3]));
    await writer.write(new Uint16Array([0x0201]).buffer);
    assert.equal((await reader.read()).value, "hello");
    const binary = (await reader.read()).value;
    assert.ok(binary instanceof Uint8Array);
    assert.deepEqual([...(binary as Uint8Array)], [1, 2, 3]);
    assert.deepEqual([...((await reader.read()).value as Uint8Array)], [1, 2]);
    await assert.rejects(writer.write(42 as unknown as string), TypeError);
    wss.close({ closeCode: 4000, reason: "done" });
    assert.deepEqual(await within(wss.closed), { closeCode: 4000, reason: "done" });
    assert.equal((await reader.read()).done, true, "the readable ends after a clean close");
    assert.throws(() => wss.close({ closeCode: 1001 }), { name: "InvalidAccessError" });
  });

  it("server side: a ws client talks to WebSocketStream.from(conn), echoing with readable.pipeTo(writable)", async () => {
    const url = await ourServer((conn) => {
      const ws = WebSocketStream.from(conn);
      void ws.opened.then(({ readable, writable }) => readable.pipeTo(writable).catch(() => {}));
    });
    const client = new WebSocketClient(url);
    cleanups.push(() => client.terminate());
    await event(client, "open");
    const received: string[] = [];
    client.on("message", (data) => received.push(String(data)));
    for (let i = 0; i < 100; i++) client.send(`m${i}`);
    await until(() => received.length === 100, "100 echoes");
    assert.deepEqual(
      received,
      Array.from({ length: 100 }, (_, i) => `m${i}`),
    );
    const closed = event<[number, Buffer]>(client, "close");
    client.close(1000);
    // pipeTo closes the writable when the readable ends: the server's side closes too.
    assert.equal((await closed)[0], 1000);
  });

  it("errors: a refused handshake rejects opened and closed with a WebSocketError (cause: the HandshakeError)", async () => {
    const wss = new WebSocketServer({
      port: 0,
      host: "127.0.0.1",
      authenticate: () => Promise.reject(new HandshakeError("ORIGIN_FORBIDDEN", "no")),
    });
    cleanups.push(() => wss.close({ timeout: 5 * UNIT }));
    await wss.ready;
    const stream = new WebSocketStream(wss.url!);
    const error = await stream.opened.then(
      () => assert.fail("opened"),
      (e: unknown) => e,
    );
    assert.ok(error instanceof WebSocketError);
    assert.ok((error as { cause?: unknown }).cause instanceof HandshakeError);
    assert.equal(((error as { cause?: HandshakeError }).cause as HandshakeError).status, 403);
    await assert.rejects(stream.closed, WebSocketError);
    const controller = new AbortController();
    controller.abort(new Error("changed my mind"));
    const aborted = new WebSocketStream(wss.url!, { signal: controller.signal });
    await assert.rejects(aborted.opened, /changed my mind/);
  });

  it("a slow reader over HTTP/2 holds a server writing as fast as it can to a few stream windows", async () => {
    const CHUNK = 64 * 1024;
    const TOTAL = 128; // 8 MiB
    let sent = 0;
    let lastProgress = Date.now();
    const url = await ourServer((conn) => {
      void WebSocketStream.from(conn).opened.then(async ({ writable }) => {
        const writer = writable.getWriter();
        for (let i = 0; i < TOTAL; i++) {
          const chunk = new Uint8Array(CHUNK);
          new DataView(chunk.buffer).setUint32(0, i);
          await writer.write(chunk);
          sent++;
          lastProgress = Date.now();
        }
        await writer.close();
      });
    }, true);
    const client = new WebSocketStream(url, { http2: true, ca: testCertificate().cert });
    const { readable } = await within(client.opened);
    const reader = readable.getReader();
    // The reader reads nothing: the server stalls once the stream's window and the buffers fill.
    await until(() => sent > 0 && Date.now() - lastProgress > 5 * UNIT, "the writer stalls");
    const stalledAt = sent;
    await sleep(3 * UNIT); // nothing moves while nobody reads
    assert.equal(sent, stalledAt);
    assert.ok(
      stalledAt * CHUNK <= 1024 * 1024,
      `sent ${stalledAt} chunks (${stalledAt * CHUNK} bytes) before stalling`,
    );
    // Reading releases it, a window at a time; everything arrives, in order.
    for (let read = 0; read < TOTAL; read++) {
      const { value, done } = await within(reader.read());
      assert.equal(done, false);
      assert.equal(new DataView((value as Uint8Array).buffer, (value as Uint8Array).byteOffset).getUint32(0), read);
      assert.ok((sent - read) * CHUNK <= 1024 * 1024, `in flight: ${sent - read} chunks`);
    }
    assert.deepEqual(await within(client.closed), { closeCode: 1005, reason: "" });
  });

  it("over TCP: a reader that stops stops the sender before it sends everything, then gets it all in order", async () => {
    const CHUNK = 64 * 1024;
    const TOTAL = 768; // 48 MiB: more than the kernel's socket buffers can hold (here up to 4 + 32 MiB)
    let sent = 0;
    let lastProgress = Date.now();
    const url = await ourServer((conn) => {
      void WebSocketStream.from(conn).opened.then(async ({ writable }) => {
        const writer = writable.getWriter();
        const chunk = new Uint8Array(CHUNK);
        for (let i = 0; i < TOTAL; i++) {
          new DataView(chunk.buffer).setUint32(0, i);
          await writer.write(chunk);
          sent++;
          lastProgress = Date.now();
        }
      });
    });
    const client = new WebSocketStream(url);
    const { readable } = await within(client.opened);
    const reader = readable.getReader();
    await until(() => sent > 0 && Date.now() - lastProgress > 5 * UNIT, "the writer stalls");
    assert.ok(sent < TOTAL, `stalled after ${sent} of ${TOTAL} chunks`);
    for (let read = 0; read < TOTAL; read++) {
      const { value } = await within(reader.read());
      assert.equal(new DataView((value as Uint8Array).buffer, (value as Uint8Array).byteOffset).getUint32(0), read);
    }
    client.close();
    await within(client.closed);
  });

  it("write() resolves when the frame is handed to the socket: a server that stops reading stalls the writer", async () => {
    let serverConn: Connection | undefined;
    const url = await ourServer((conn) => {
      serverConn = conn;
      conn.pause();
    }, true);
    const client = new WebSocketStream(url, { http2: true, ca: testCertificate().cert });
    const { writable } = await within(client.opened);
    const writer = writable.getWriter();
    const CHUNK = 64 * 1024;
    let written = 0;
    let lastProgress = Date.now();
    const writing = (async () => {
      for (let i = 0; i < 64; i++) {
        await writer.write(new Uint8Array(CHUNK));
        written++;
        lastProgress = Date.now();
      }
    })();
    await until(() => Date.now() - lastProgress > 5 * UNIT, "the writer stalls");
    assert.ok(written < 64 && written * CHUNK <= 1024 * 1024, `written ${written} chunks before stalling`);
    assert.ok(writer.desiredSize !== null && writer.desiredSize <= 0, "ready is pending");
    let received = 0;
    serverConn!.on("message", () => received++);
    serverConn!.resume();
    await within(writing);
    await until(() => received === 64, "all 64 messages");
    client.close({ closeCode: 1000 });
    await within(client.closed);
  });
});
