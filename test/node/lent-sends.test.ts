/**
 * lent-messages.ts `sendable` over real sockets: lent bytes handed to an engine on a path where
 * it keeps them past the call (a send queued behind an open writer, a broadcast whose every
 * recipient is queued, fragments and a ping behind a pending compression, fragments kept by a
 * fallback connection's frame decoder, sends queued behind a Blob) reach the peer as they
 * were, while the next messages are read into the same pooled buffer (the same size, so the
 * buffer just freed is the one reused). Also: permessage-deflate input does not take buffers
 * from the pool; the WHATWG WebSocket and WebSocketStream with `lendMessages` keep copies.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, describe, it } from "node:test";
import { connect } from "../../src/node/client.js";
import { type Connection, WebSocketServer } from "../../src/node/index.js";
import { messagePool, POOL_MIN } from "../../src/node/lent-messages.js";
import { WebSocket } from "../../src/node/websocket.js";
import { WebSocketStream } from "../../src/node/websocket-stream.js";
import type { MessageWriter } from "../../src/protocol/types.js";
import WsWebSocket from "../../src/ws/index.js";
import { FallbackPeer } from "../helpers/fallback-peer.js";
import { portOf } from "../helpers/raw-client.js";
import { event, until } from "../helpers/time.js";

const cleanups: Array<() => unknown> = [];
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

/** `size` bytes, each 4 KiB block a different byte from `seed`. */
const patterned = (size: number, seed: number) => {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i += 4096) b.fill((seed * 31 + i / 4096) & 0xff, i, Math.min(size, i + 4096));
  return b;
};
const SIZE = 300_000; // pooled (>= POOL_MIN), read over several reads

async function lendingServer(
  onConnection: (conn: Connection) => void,
  perMessageDeflate = false,
  fallback = false,
): Promise<{ wss: WebSocketServer; url: string }> {
  const wss = new WebSocketServer({
    port: 0,
    host: "127.0.0.1",
    lendMessages: true,
    pingInterval: 0,
    perMessageDeflate,
    fallback,
  });
  wss.on("connection", onConnection);
  await wss.ready;
  cleanups.push(() => wss.close({ timeout: 100 }));
  return { wss, url: `ws://127.0.0.1:${portOf(wss.address())}` };
}

async function peer(url: string, perMessageDeflate = false) {
  const c = await connect(url, { pingInterval: 0, maxBufferedAmount: 0, perMessageDeflate });
  cleanups.push(() => c.terminate());
  return c;
}

/** The messages `c` receives, in order. */
function collect(c: { on(name: "message", fn: (d: Buffer | string) => void): unknown }): Buffer[] {
  const got: Buffer[] = [];
  c.on("message", (d) => got.push(Buffer.from(d as Buffer)));
  return got;
}

/**
 * A lending server calling `handle(n, data, conn, wss)` for its n-th message (from 1); one peer
 * sends `sent` at once (the next message is read while a handler's sends wait) and gets `count`
 * messages back.
 */
async function exchange(
  handle: (n: number, data: Buffer, conn: Connection, wss: WebSocketServer) => void,
  sent: Buffer[],
  count: number,
): Promise<Buffer[]> {
  let n = 0;
  const { wss, url } = await lendingServer((conn) => conn.on("message", (m) => handle(++n, m as Buffer, conn, wss)));
  const c = await peer(url);
  const got = collect(c);
  for (const b of sent) c.send(b);
  await until(() => got.length === count, `${count} messages back`);
  return got;
}

describe("lent bytes the engine keeps past the call are copied", { timeout: 60_000 }, () => {
  it("a send queued behind an open writer carries its own bytes", async () => {
    const m1 = patterned(SIZE, 1);
    const m2 = patterned(SIZE, 2);
    const m3 = Buffer.alloc(SIZE, 0x55);
    let writer: MessageWriter | undefined;
    const got = await exchange(
      (n, data, conn) => {
        if (n === 1) {
          writer = conn.startMessage("binary");
          writer.write(data.subarray(0, 1000));
        } else if (n === 2)
          conn.send(data); // queued by the engine until the writer ends
        else writer!.end(data.subarray(0, 1000));
      },
      [m1, m2, m3],
      2,
    );
    assert.ok(got[0]!.equals(Buffer.concat([m1.subarray(0, 1000), m3.subarray(0, 1000)])), "the streamed message");
    assert.ok(got[1]!.equals(m2), "the queued send has message 2's bytes, not message 3's");
    await until(() => messagePool.out === 0, "every buffer back");
  });

  it("ending an old writer again does not unmark the open one", async () => {
    const m2 = patterned(SIZE, 5);
    let writer: MessageWriter | undefined;
    let threw = false;
    const got = await exchange(
      (n, data, conn) => {
        if (n === 1) {
          const old = conn.startMessage("text");
          old.end("old");
          writer = conn.startMessage("text");
          writer.write("new");
          try {
            old.end(); // already ended: throws, and the open writer still counts
          } catch {
            threw = true;
          }
        } else if (n === 2) conn.send(data);
        else writer!.end();
      },
      [patterned(SIZE, 6), m2, Buffer.alloc(SIZE, 0x55)],
      3,
    );
    assert.ok(threw, "ending an ended writer throws");
    assert.deepEqual(got.slice(0, 2).map(String), ["old", "new"]);
    assert.ok(got[2]!.equals(m2), "the queued send has message 2's bytes");
  });

  it("a writer's end that throws leaves it marked: a later send carries its own bytes", async () => {
    const m2 = patterned(SIZE, 7);
    let writer: MessageWriter | undefined;
    let thrown: unknown;
    const got = await exchange(
      (n, data, conn) => {
        if (n === 1) {
          writer = conn.startMessage("binary");
          writer.write(Buffer.from("head"));
          try {
            writer.end(123 as unknown as Uint8Array); // not bytes: throws before the writer ends
          } catch (error) {
            thrown = error;
          }
        } else if (n === 2)
          conn.send(data); // still queued behind the open writer
        else writer!.end();
      },
      [patterned(SIZE, 8), m2, Buffer.alloc(SIZE, 0x55)],
      2,
    );
    assert.ok(thrown instanceof TypeError, "end(123) throws a TypeError");
    assert.equal(got[0]!.toString(), "head");
    assert.ok(got[1]!.equals(m2), "the queued send has message 2's bytes, not message 3's");
  });

  it("fragments sent to a fallback (HTTP) connection carry their own bytes", async () => {
    const parts = [patterned(SIZE, 60), patterned(SIZE, 61), patterned(SIZE, 62)];
    let sink: Connection | undefined;
    let writer: MessageWriter | undefined;
    const buffers: ArrayBufferLike[] = [];
    const { wss } = await lendingServer(
      (conn) => {
        if (conn.request?.url.includes("wirecable=open") === true) {
          sink = conn;
          return;
        }
        conn.on("message", (message) => {
          const data = message as Buffer;
          buffers.push(data.buffer);
          if (buffers.length === 1) writer = sink!.startMessage("binary");
          if (buffers.length < parts.length)
            writer!.write(data); // a view kept by the fallback's decoder
          else writer!.end(data);
        });
      },
      false,
      true,
    );
    const url = `ws://127.0.0.1:${portOf(wss.address())}`;
    const fallback = await FallbackPeer.open(url);
    cleanups.push(() => fallback.stream.res.destroy());
    await until(() => sink !== undefined, "the fallback connection");
    const source = await peer(url);
    for (const [i, p] of parts.entries()) {
      source.send(p);
      // Each write done and its buffer free: the next message is read into it.
      await until(() => buffers.length === i + 1 && messagePool.out === 0, `message ${i + 1} handled and written`);
    }
    assert.equal(buffers[1], buffers[0], "message 2 was read into message 1's buffer");
    const message = await fallback.stream.nth(1);
    assert.equal(message.type, "binary");
    assert.ok(Buffer.from(message.data, "base64").equals(Buffer.concat(parts)), "every fragment's own bytes");
  });

  it("a broadcast whose every recipient is queued carries its own bytes", async () => {
    const m2 = patterned(SIZE, 4);
    let writer: MessageWriter | undefined;
    let delivered = -1;
    const got = await exchange(
      (n, data, conn, wss) => {
        if (n === 1) {
          writer = conn.startMessage("binary");
          writer.write(Buffer.from("head"));
        } else if (n === 2) delivered = wss.broadcast(data);
        else writer!.end();
      },
      [patterned(SIZE, 3), m2, Buffer.alloc(SIZE, 0x55)],
      2,
    );
    assert.equal(delivered, 1);
    assert.equal(got[0]!.toString(), "head");
    assert.ok(got[1]!.equals(m2), "the broadcast has message 2's bytes");
  });

  it("fragments and a ping queued behind a compression carry their own bytes", async () => {
    const parts = Array.from({ length: 8 }, (_, i) => patterned(SIZE, 10 + i));
    const big = randomBytes(4 << 20); // incompressible: its compression takes a while
    let sink: Connection | undefined;
    let seen = 0;
    const { url } = await lendingServer((conn) => {
      if (conn.request?.url === "/sink") {
        sink = conn;
        return;
      }
      let writer: MessageWriter | undefined;
      conn.on("message", (message) => {
        const data = message as Buffer;
        seen++;
        if (seen === 1) {
          sink!.send(big); // compressed: a transform pending (writer fragments are not compressed)
          writer = sink!.startMessage("binary");
          writer.write(data); // behind it, as is the ping
          sink!.ping(data.subarray(0, 16));
        } else if (seen < parts.length) writer!.write(data);
        else writer!.end(data);
      });
    }, true);
    const s = await peer(`${url}/sink`, true);
    assert.match(s.extensions, /permessage-deflate/);
    await until(() => sink !== undefined, "the sink connection");
    const pinged = event<[Buffer]>(s, "ping");
    const got = collect(s);
    const source = await peer(url);
    assert.equal(source.extensions, "");
    for (const p of parts) source.send(p);
    const [ping] = await pinged;
    assert.ok(Buffer.from(ping).equals(parts[0]!.subarray(0, 16)), "the ping's payload");
    await until(() => got.length === 2, "the compressed message and the streamed one");
    assert.ok(got[0]!.equals(big));
    assert.ok(got[1]!.equals(Buffer.concat(parts)), "every fragment's own bytes");
    await until(() => messagePool.out === 0, "every buffer back");
  });

  it("a send through compression carries its own bytes", async () => {
    const sent = Array.from({ length: 6 }, (_, i) => patterned(SIZE, 20 + i));
    let sink: Connection | undefined;
    const { url } = await lendingServer((conn) => {
      if (conn.request?.url === "/sink") sink = conn;
      else conn.on("message", (data) => sink!.send(data));
    }, true);
    const s = await peer(`${url}/sink`, true);
    await until(() => sink !== undefined, "the sink connection");
    const got = collect(s);
    const source = await peer(url);
    for (const b of sent) source.send(b);
    await until(() => got.length === sent.length, "every relayed message");
    for (const [i, b] of got.entries()) assert.ok(b.equals(sent[i]!), `message ${i}`);
  });
});

describe("lendMessages with permessage-deflate input, WebSocket and WebSocketStream", { timeout: 60_000 }, () => {
  it("compressed input takes no buffer from the pool (none out, pool stats back to baseline)", async () => {
    let outSeen = 0; // the pool's `out` while a compressed connection's message is handled
    const { url } = await lendingServer(
      (conn) =>
        conn.on("message", (d) => {
          if (conn.extensions !== "") outSeen = Math.max(outSeen, messagePool.out);
          conn.send(d);
        }),
      true,
    );
    // A free buffer of the class, from an uncompressed echo.
    const plain = await peer(url);
    const echoed = event<[Buffer]>(plain, "message");
    plain.send(patterned(SIZE, 30));
    assert.ok((await echoed)[0].equals(patterned(SIZE, 30)));
    await until(() => messagePool.out === 0, "the echo's buffer back");
    const baseline = messagePool.freeBytes;
    assert.ok(baseline >= POOL_MIN, "a free buffer to take");
    const c = await peer(url, true);
    const got = collect(c);
    const sent = Array.from({ length: 4 }, () => randomBytes(SIZE)); // incompressible
    for (const b of sent) c.send(b);
    await until(() => got.length === sent.length, "every compressed echo");
    for (const [i, b] of got.entries()) assert.ok(b.equals(sent[i]!), `echo ${i}`);
    await until(() => messagePool.out === 0, "nothing out");
    assert.equal(messagePool.freeBytes, baseline, "the free buffers are all still there");
    assert.equal(outSeen, 0, "no buffer out while the compressed echoes are handled");
  });

  it("the WHATWG WebSocket with lendMessages keeps copies of binary messages", async () => {
    const sent = Array.from({ length: 5 }, (_, i) => patterned(SIZE, 40 + i));
    const { url } = await lendingServer((conn) => {
      for (const b of sent) conn.send(b);
    });
    const ws = new WebSocket(url, undefined, { lendMessages: true, pingInterval: 0 });
    cleanups.push(() => ws.close());
    ws.binaryType = "nodebuffer";
    const kept: Buffer[] = [];
    ws.addEventListener("message", (e) => kept.push(e.data as Buffer));
    await until(() => kept.length === sent.length, "every message");
    for (const [i, b] of kept.entries()) assert.ok(b.equals(sent[i]!), `message ${i} as received`);
  });

  it("sends queued behind a Blob (WebSocket, ws drop-in) copy lent bytes in any view", async () => {
    const got: Buffer[] = [];
    const { url } = await lendingServer((conn) => conn.on("message", (d) => got.push(Buffer.from(d as Buffer))));
    const web = new WebSocket(url, undefined, { pingInterval: 0 });
    cleanups.push(() => web.close());
    const ws = new WsWebSocket(url);
    cleanups.push(() => ws.terminate());
    await Promise.all([new Promise((resolve) => web.addEventListener("open", resolve)), event(ws, "open")]);
    const original = patterned(SIZE, 70);
    // A lent message, as a lending handler sees it: its buffer is freed and refilled right after.
    const lent = Buffer.from(messagePool.acquire(SIZE).buffer, 0, SIZE);
    lent.set(original);
    const lease = messagePool.lend(lent)!;
    web.send(new Blob(["blob"]));
    web.send(new DataView(lent.buffer, lent.byteOffset, lent.byteLength)); // queued behind the Blob's read
    ws.send(new Blob(["blob"]));
    ws.send(new Uint16Array(lent.buffer, lent.byteOffset, lent.byteLength / 2));
    messagePool.handled(lease);
    const reused = messagePool.acquire(SIZE);
    assert.equal(reused.buffer, lent.buffer, "the freed buffer is the next one taken");
    reused.fill(0x55);
    await until(() => got.length === 4, "every message");
    const bytes = got.filter((b) => b.length === SIZE);
    assert.equal(bytes.length, 2);
    for (const b of bytes) assert.ok(b.equals(original), "the queued send's own bytes");
    messagePool.release(reused);
  });

  it("WebSocketStream with lendMessages queues copies", async () => {
    const sent = Array.from({ length: 5 }, (_, i) => patterned(SIZE, 50 + i));
    let server: Connection | undefined;
    const { url } = await lendingServer((conn) => {
      server = conn;
      for (const b of sent) conn.send(b);
    });
    const wss = new WebSocketStream(url, { lendMessages: true, pingInterval: 0 });
    const { readable } = await wss.opened;
    cleanups.push(() => wss.close());
    await until(() => server !== undefined, "the server connection");
    const reader = readable.getReader();
    const first = await reader.read(); // the rest were read meanwhile, into the pool
    const got = [first.value as Uint8Array];
    while (got.length < sent.length) got.push((await reader.read()).value as Uint8Array);
    for (const [i, b] of got.entries()) assert.ok(Buffer.from(b).equals(sent[i]!), `message ${i}`);
  });
});
