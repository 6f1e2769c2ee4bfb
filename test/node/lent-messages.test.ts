/**
 * lent-messages.ts (the `lendMessages` option): the pool's bookkeeping (size classes within 5/4
 * of the request, so the assembler's bound holds; reuse, holds, the free-bytes cap, trim), and over real sockets that a lent message sent from its
 * handler arrives intact while the next messages are read into the pool (the peer not reading:
 * the writes wait), relayed to another connection too; that code keeping messages past their
 * event gets copies; that idle connections hold no pool buffer.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, describe, it } from "node:test";
import { connect } from "../../src/node/client.js";
import { type Connection, WebSocketServer } from "../../src/node/index.js";
import { FREE_MAX, MessagePool, messagePool, ownMessage, POOL_MAX, POOL_MIN } from "../../src/node/lent-messages.js";
import { OptionError } from "../../src/protocol/errors.js";
import { FIRST_RESERVE, MessageAssembler } from "../../src/protocol/message-assembler.js";
import { collectGarbage } from "../helpers/gc.js";
import { portOf } from "../helpers/raw-client.js";
import { event, until } from "../helpers/time.js";

const cleanups: Array<() => unknown> = [];
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

const sha = (b: Uint8Array) => createHash("sha1").update(b).digest("hex");
const patterned = (size: number, seed: number) => {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i += 4096) b.fill((seed * 31 + i / 4096) & 0xff, i, Math.min(size, i + 4096));
  return b;
};

async function lendingServer(onConnection: (conn: Connection) => void): Promise<WebSocketServer> {
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", lendMessages: true, pingInterval: 0 });
  wss.on("connection", onConnection);
  await wss.ready;
  cleanups.push(() => wss.close({ timeout: 100 }));
  return wss;
}

async function client(wss: WebSocketServer) {
  const c = await connect(`ws://127.0.0.1:${portOf(wss.address())}/`, { pingInterval: 0, maxBufferedAmount: 0 });
  cleanups.push(() => c.terminate());
  return c;
}

describe("MessagePool", () => {
  it("pools sizes from POOL_MIN to POOL_MAX in classes a quarter power of two apart, others not", () => {
    const pool = new MessagePool();
    const small = pool.acquire(POOL_MIN - 1);
    assert.equal(small.length, POOL_MIN - 1);
    assert.equal(pool.leaseOf(small), undefined);
    const big = pool.acquire(POOL_MAX + 1);
    assert.equal(pool.leaseOf(big), undefined);
    const mid = pool.acquire(100_000);
    assert.equal(mid.length, 7 * 16_384, "1.75 x 64 KiB");
    assert.notEqual(pool.leaseOf(mid), undefined);
    assert.equal(pool.acquire(POOL_MAX).length, POOL_MAX);
    assert.equal(pool.acquire(POOL_MIN).length, POOL_MIN);
    assert.equal(pool.acquire(POOL_MIN + 1).length, POOL_MIN * 1.25);
    // Never more than 5/4 of the request (the assembler's memory bound).
    for (let size = POOL_MIN; size <= POOL_MAX; size += 4093) {
      const n = new MessagePool().acquire(size).length;
      assert.ok(n >= size && n <= size * 1.25, `${size} -> ${n}`);
    }
  });

  it("keeps the assembler's bound: a 4 MiB header and 60 KiB take at most 5/4 of it", () => {
    const a = new MessageAssembler((n) => new Uint8Array(n), undefined, new MessagePool());
    a.begin(2, 0, false);
    const arrived = 60 * 1024;
    a.add(new Uint8Array(arrived), 0, arrived, false); // a view of the (lent) input
    a.detach((4 << 20) - arrived); // the input goes away: the message gets its own buffer
    const held = a.reserve(1).buffer.byteLength;
    const bound = 2 * arrived + FIRST_RESERVE;
    assert.ok(held >= arrived && held <= bound * 1.25, `${held} bytes held for ${arrived} received`);
  });

  it("reuses released buffers, most recent first, per class", () => {
    const pool = new MessagePool();
    const a = pool.acquire(70_000);
    const b = pool.acquire(70_000);
    pool.release(a);
    pool.release(b);
    assert.equal(pool.freeBytes, 2 * 81_920);
    assert.equal(pool.acquire(80_000), b);
    assert.equal(pool.acquire(81_920), a);
    assert.notEqual(pool.acquire(81_920), a);
    assert.equal(pool.freeBytes, 0);
    const c = pool.acquire(200_000);
    pool.release(c);
    assert.notEqual(pool.acquire(100_000), c, "another class");
  });

  it("keeps a lent buffer out until its handler returned and every write holding it is done", () => {
    const pool = new MessagePool();
    const buffer = pool.acquire(POOL_MIN);
    const lease = pool.lend(buffer)!;
    assert.equal(pool.out, 1);
    assert.ok(pool.isOut(buffer.subarray(10, 20)), "a view of it is out too");
    pool.hold(lease);
    pool.hold(lease);
    pool.handled(lease);
    assert.equal(pool.out, 1, "held by two writes");
    pool.unhold(lease, false);
    assert.equal(pool.freeBytes, 0);
    pool.unhold(lease, false);
    assert.equal(pool.out, 0);
    assert.equal(pool.acquire(POOL_MIN), buffer, "back in the pool");
    // A release while lent or held is ignored.
    const again = pool.lend(buffer)!;
    pool.release(buffer);
    assert.equal(pool.freeBytes, 0);
    pool.handled(again);
    assert.equal(pool.freeBytes, POOL_MIN);
  });

  it("drops a buffer whose write failed, and caps free bytes", () => {
    const pool = new MessagePool();
    const buffer = pool.acquire(POOL_MIN);
    const lease = pool.lend(buffer)!;
    pool.hold(lease);
    pool.handled(lease);
    pool.unhold(lease, true);
    assert.equal(pool.out, 0);
    assert.equal(pool.freeBytes, 0, "never reused");
    const many = Array.from({ length: FREE_MAX / POOL_MAX + 2 }, () => pool.acquire(POOL_MAX));
    for (const b of many) pool.release(b);
    assert.equal(pool.freeBytes, FREE_MAX);
    pool.trim();
    assert.equal(pool.freeBytes, 0);
  });

  it("ownMessage copies only bytes that are out", () => {
    const plain = Buffer.from("abc");
    assert.equal(ownMessage(plain), plain);
    assert.equal(ownMessage("text"), "text");
    const buffer = messagePool.acquire(POOL_MIN) as Buffer;
    const lease = messagePool.lend(buffer)!;
    const copy = ownMessage(buffer);
    assert.notEqual(copy, buffer);
    assert.ok(copy.equals(buffer));
    messagePool.handled(lease);
  });

  it("lendMessages must be a boolean (OptionError naming it)", () => {
    assert.throws(
      () => new WebSocketServer({ noServer: true, lendMessages: "yes" as unknown as boolean }),
      (e: unknown) => e instanceof OptionError && /lendMessages/.test(e.message),
    );
  });
});

describe("lendMessages over sockets", { timeout: 60_000 }, () => {
  it("a lent message sent from its handler arrives intact while the next ones are read (peer not reading)", async () => {
    let relay: Connection | undefined;
    let seen = 0;
    const wss = await lendingServer((conn) => {
      if (conn.request?.url === "/relay") {
        relay = conn;
        return;
      }
      conn.on("message", (data, isBinary) => {
        seen++;
        conn.send(data, { binary: isBinary }); // the echo
        relay?.send(data, { binary: isBinary }); // and the same buffer to another connection
      });
    });
    const port = portOf(wss.address());
    const sink = await connect(`ws://127.0.0.1:${port}/relay`, { pingInterval: 0, maxBufferedAmount: 0 });
    cleanups.push(() => sink.terminate());
    await until(() => relay !== undefined, "relay connection");
    const peer = await client(wss);
    peer.pause();
    sink.pause();
    const sizes = [1 << 20, 300_000, 65_536, 700_000, 2_000_000, 100_000];
    const sent: string[] = [];
    const echoed: string[] = [];
    const relayed: string[] = [];
    peer.on("message", (d) => echoed.push(sha(d as Buffer)));
    sink.on("message", (d) => relayed.push(sha(d as Buffer)));
    for (let i = 0; i < 24; i++) {
      const b = patterned(sizes[i % sizes.length]!, i);
      sent.push(sha(b));
      peer.send(b);
    }
    await until(() => seen === 24, "the server read every message");
    assert.ok(messagePool.out > 0, "echoes not yet written hold their buffers");
    peer.resume();
    sink.resume();
    await until(() => echoed.length === 24 && relayed.length === 24, "every echo and relay");
    assert.deepEqual(echoed, sent);
    assert.deepEqual(relayed, sent);
    await until(() => messagePool.out === 0, "every buffer back");
  });

  it("echoes large text (the engine's echo shortcut frames the lent bytes) intact", async () => {
    const wss = await lendingServer((conn) => conn.on("message", (d, isBinary) => conn.send(d, { binary: isBinary })));
    const peer = await client(wss);
    const texts = Array.from({ length: 6 }, (_, i) => `${i}é€😀`.repeat(40_000 + i * 1000));
    const got: string[] = [];
    peer.on("message", (d) => got.push(d as string));
    for (const t of texts) peer.send(t);
    await until(() => got.length === texts.length, "every echo");
    assert.deepEqual(got, texts);
  });

  it("the async iterator keeps copies: messages read later are the ones sent", async () => {
    const received: Array<Promise<string[]>> = [];
    const wss = await lendingServer((conn) => {
      received.push(
        (async () => {
          const hashes: string[] = [];
          for await (const m of conn) {
            hashes.push(sha(m as Buffer));
            if (hashes.length === 5) break;
            await new Promise((r) => setTimeout(r, 5)); // later messages arrive meanwhile
          }
          return hashes;
        })(),
      );
    });
    const peer = await client(wss);
    const sent = Array.from({ length: 5 }, (_, i) => patterned(400_000, i + 7));
    for (const b of sent) peer.send(b);
    await until(() => received.length === 1, "server connection");
    assert.deepEqual(await received[0], sent.map(sha));
  });

  it("a message read into a pool buffer is out while its handler runs, back after; a short one never is", async () => {
    const seen: Array<{ size: number; out: number; isOut: boolean }> = [];
    const wss = await lendingServer((conn) =>
      conn.on("message", (d) => {
        const bytes = d as Buffer;
        seen.push({ size: bytes.length, out: messagePool.out, isOut: messagePool.isOut(bytes) });
      }),
    );
    const peer = await client(wss);
    const sizes = [300_000, 10, 200_000, 64];
    for (const [i, size] of sizes.entries()) peer.send(patterned(size, i + 3));
    await until(() => seen.length === sizes.length, "every message");
    assert.deepEqual(
      seen.map((s) => [s.size, s.isOut, s.out > 0]),
      sizes.map((size) => [size, size >= POOL_MIN, size >= POOL_MIN]),
    );
    await until(() => messagePool.out === 0, "every buffer back");
  });

  it("idle connections hold no pool buffer", async () => {
    const wss = await lendingServer((conn) => conn.on("message", (d) => conn.send(d)));
    const peers = await Promise.all(Array.from({ length: 24 }, () => client(wss)));
    await Promise.all(
      peers.map(async (p, i) => {
        const echoed = event<[Buffer]>(p, "message");
        p.send(patterned(512 * 1024, i));
        const [d] = await echoed;
        assert.equal(d.length, 512 * 1024);
      }),
    );
    await until(() => messagePool.out === 0, "every buffer back");
    assert.ok(messagePool.freeBytes <= FREE_MAX);
    messagePool.trim();
    collectGarbage();
    collectGarbage();
    // 24 connections x 512 KiB = 12 MiB if each kept its buffer.
    const held = process.memoryUsage().arrayBuffers;
    assert.ok(held < 6 * 1024 * 1024, `array buffers after the messages: ${held} bytes`);
  });
});
