/**
 * Prepared messages' frames in the output queues (OutputQueue.pushShared): queues holding nothing
 * else keep them as a node of the turn's tree of frame sequences; what each socket is handed is
 * the frame itself, or one join of exactly its own frames shared by every queue with the same
 * sequence (whatever the flush order, rooms interleaving, an early flush), or (mixed with other
 * output) the chunks as before; the bytes and their order never change.
 */
import assert from "node:assert/strict";
import type { Socket } from "node:net";
import { Duplex } from "node:stream";
import { describe, it } from "node:test";
import { setImmediate as nextTurn } from "node:timers/promises";
import { createHybiEngine } from "../../src/node/engines.js";
import { flushEarly, markDirty, sharedRoot } from "../../src/node/flush-queue.js";
import { Connection } from "../../src/node/index.js";
import { resolveConnectionOptions } from "../../src/node/options.js";
import { outputArena } from "../../src/node/output-buffers.js";
import { OutputQueue } from "../../src/node/output-queue.js";
import { prepareMessage } from "../../src/protocol/prepared-message.js";

/** A socket stand-in keeping what it is handed (the chunks themselves) and cork/uncork. */
function recorder() {
  const written: Uint8Array[] = [];
  const calls: string[] = [];
  const socket = {
    write(chunk: Uint8Array, cb?: (error?: Error | null) => void) {
      written.push(chunk);
      calls.push("write");
      if (cb !== undefined) process.nextTick(cb, null);
      return true;
    },
    cork() {
      calls.push("cork");
    },
    uncork() {
      calls.push("uncork");
    },
  } as unknown as Socket;
  return { written, calls, socket };
}

const frame = (text: string) => prepareMessage(text).frame;
const bytes = (chunks: Uint8Array[]) => Buffer.concat(chunks);

/** Write each queue in one flush pass, in order; what each socket was handed. */
async function inOnePass(queues: OutputQueue[], backedUp = false): Promise<Uint8Array[][]> {
  const sockets = queues.map(() => recorder());
  queues.forEach((q, i) => {
    markDirty({
      flushNow: () => assert.fail("not early"),
      flushTurn: () => q.writeTo(sockets[i]!.socket, undefined, backedUp),
    });
  });
  await nextTurn();
  return sockets.map((s) => s.written);
}

/** `chunk` is a Buffer over exactly `f`'s memory (no copy). */
function isFrameItself(chunk: Uint8Array | undefined, f: Uint8Array, what: string): void {
  assert.ok(Buffer.isBuffer(chunk), `${what}: a Buffer (a plain Uint8Array is wrapped anew by every socket write)`);
  assert.equal(chunk.buffer, f.buffer, `${what}: the frame's own memory`);
  assert.equal(chunk.byteOffset, f.byteOffset, what);
  assert.equal(chunk.byteLength, f.byteLength, what);
}

describe("shared frames in the output queue", () => {
  it("queues given the same frames in the same order share one node and its one join", async () => {
    const f1 = frame("one");
    const f2 = frame("two");
    const f3 = frame("three");
    const queues = [new OutputQueue(), new OutputQueue(), new OutputQueue()];
    for (const f of [f1, f2, f3]) for (const q of queues) q.pushShared(f);
    assert.equal(sharedRoot.extend(f1).extend(f2).extend(f3).count, 3);
    assert.equal(queues[0]!.size, f1.byteLength + f2.byteLength + f3.byteLength);
    const handed = await inOnePass(queues);
    for (const w of handed) {
      assert.equal(w.length, 1, "one write");
      assert.deepEqual(Buffer.from(w[0]!), bytes([f1, f2, f3]));
    }
    assert.equal(handed[1]![0], handed[0]![0], "the same join");
    assert.equal(handed[2]![0], handed[0]![0]);
    assert.equal(handed[0]![0]!.buffer.byteLength, handed[0]![0]!.byteLength, "memory of its own: its bytes only");
    assert.equal(sharedRoot.used, false, "a fresh tree after the pass");
  });

  it("a queue holding one shared frame hands over the frame itself, backed up or not", async () => {
    const f = frame("alone");
    for (const backedUp of [false, true]) {
      const q = new OutputQueue();
      q.pushShared(f);
      const [w] = await inOnePass([q], backedUp);
      assert.equal(w!.length, 1);
      isFrameItself(w![0], f, `backedUp ${backedUp}`);
    }
  });

  it("the queues of one pass given one frame are all handed the same Buffer: no wrapper per recipient", async () => {
    const f = frame("to everyone");
    assert.ok(!Buffer.isBuffer(f), "a prepared message's frame is a plain Uint8Array (the engine is Buffer-free)");
    const queues = [new OutputQueue(), new OutputQueue(), new OutputQueue()];
    for (const q of queues) q.pushShared(f);
    const handed = await inOnePass(queues);
    isFrameItself(handed[0]![0], f, "the first queue");
    for (const w of handed) assert.equal(w[0], handed[0]![0], "one Buffer object for all");
  });

  it("a backed-up queue of several shared frames gets a join of its own frames only, shared with its peers", async () => {
    const f1 = frame("a".repeat(40));
    const f2 = frame("b".repeat(40));
    const other = frame("other");
    const a = new OutputQueue();
    const b = new OutputQueue();
    const c = new OutputQueue();
    a.pushShared(f1);
    b.pushShared(f1);
    c.pushShared(other);
    a.pushShared(f2);
    b.pushShared(f2);
    const [wa, wb, wc] = await inOnePass([a, b, c], true);
    assert.equal(wa![0], wb![0], "one join for the two");
    assert.deepEqual(Buffer.from(wa![0]!), bytes([f1, f2]));
    assert.equal(wa![0]!.buffer.byteLength, f1.byteLength + f2.byteLength, "nothing but their bytes");
    isFrameItself(wc![0], other, "the third queue");
  });

  it("interleaved broadcasts (rooms) and other output keep every queue's bytes and order", async () => {
    const a1 = frame("a1");
    const b1 = frame("b1");
    const a2 = frame("a2");
    const b2 = frame("b2");
    const roomA = [new OutputQueue(), new OutputQueue()];
    const roomB = [new OutputQueue(), new OutputQueue()];
    for (const q of roomA) q.pushShared(a1);
    for (const q of roomB) q.pushShared(b1);
    for (const q of roomA) q.pushShared(a2);
    for (const q of roomB) q.pushShared(b2);
    const own = new OutputQueue();
    own.pushShared(a1);
    own.push(Buffer.from("own"));
    own.pushShared(a2);
    const start = outputArena.reserve(5);
    outputArena.bytes.write("range", start, "latin1");
    const ranged = new OutputQueue();
    ranged.pushRange(outputArena.bytes, start, start + 5);
    ranged.pushShared(b1);
    const after = new OutputQueue();
    after.pushShared(b1);
    after.pushRange(outputArena.bytes, start, start + 5);
    after.pushShared(b2);
    const handed = await inOnePass([...roomA, ...roomB, own, ranged, after]);
    const expected = [
      bytes([a1, a2]),
      bytes([a1, a2]),
      bytes([b1, b2]),
      bytes([b1, b2]),
      bytes([a1, Buffer.from("own"), a2]),
      bytes([Buffer.from("range"), b1]),
      bytes([b1, Buffer.from("range"), b2]),
    ];
    assert.deepEqual(
      handed.map((w) => bytes(w)),
      expected,
    );
    for (const w of handed) assert.equal(w.length, 1, "one write each");
    assert.equal(handed[1]![0], handed[0]![0], "room A: one join");
    assert.equal(handed[3]![0], handed[2]![0], "room B: one join");
  });

  it("rooms whose subscribers are flushed in alternation still share one join per room", async () => {
    const a1 = frame("a-1");
    const a2 = frame("a-2");
    const b1 = frame("b-1");
    const b2 = frame("b-2");
    const queues = Array.from({ length: 6 }, () => new OutputQueue());
    const roomOf = (i: number) => (i % 2 === 0 ? [a1, a2] : [b1, b2]);
    for (let k = 0; k < 2; k++) for (const [i, q] of queues.entries()) q.pushShared(roomOf(i)[k]!);
    const handed = await inOnePass(queues, true);
    handed.forEach((w, i) => {
      assert.deepEqual(Buffer.from(w[0]!), bytes(roomOf(i)));
      assert.equal(w[0], handed[i % 2]![0], `queue ${i}: its room's one join`);
    });
  });

  it("above 64 KiB the frames go as they are, in one corked batch (writev)", async () => {
    const big1 = frame("x".repeat(40_000));
    const big2 = frame("y".repeat(40_000));
    const q = new OutputQueue();
    q.pushShared(big1);
    q.pushShared(big2);
    const { written, calls, socket } = recorder();
    let done = 0;
    q.writeTo(socket, () => done++);
    assert.deepEqual(calls, ["cork", "write", "write", "uncork"]);
    isFrameItself(written[0], big1, "the first frame");
    isFrameItself(written[1], big2, "the second frame");
    await nextTurn();
    assert.equal(done, 1, "done rides on the last write");
    assert.equal(q.size, 0);
  });

  it("a sequence is joined once even outside a pass (an early flush); a queue on an earlier turn's tree is written as queued", async () => {
    const f1 = frame("first");
    const f2 = frame("second");
    const a = new OutputQueue();
    const b = new OutputQueue();
    for (const q of [a, b]) q.pushShared(f1);
    for (const q of [a, b]) q.pushShared(f2);
    const ra = recorder();
    const rb = recorder();
    a.writeTo(ra.socket, undefined, true);
    b.writeTo(rb.socket, undefined, true);
    assert.equal(ra.written[0], rb.written[0], "one join, written directly (as flushEarly does)");
    assert.deepEqual(Buffer.from(ra.written[0]!), bytes([f1, f2]));
    // A queue still holding a sequence when a pass replaces the tree keeps it until its own flush.
    const q = new OutputQueue();
    q.pushShared(f1);
    markDirty({ flushNow: () => {}, flushTurn: () => {} });
    await nextTurn();
    assert.equal(sharedRoot.used, false, "a fresh tree");
    q.pushShared(f2);
    const other = new OutputQueue();
    other.pushShared(f1);
    other.pushShared(f2);
    const rq = recorder();
    const ro = recorder();
    q.writeTo(rq.socket);
    other.writeTo(ro.socket);
    assert.deepEqual(Buffer.from(rq.written[0]!), bytes([f1, f2]));
    assert.deepEqual(Buffer.from(ro.written[0]!), bytes([f1, f2]));
  });

  it("an early flush and the start of a pass begin a new tree: a turn's frames and joins are not kept for its rest", async () => {
    const f = frame("early");
    const q = new OutputQueue();
    q.pushShared(f);
    q.pushShared(f);
    assert.equal(sharedRoot.used, true);
    flushEarly(); // nothing marked early: the tree is replaced all the same
    assert.equal(sharedRoot.used, false, "after an early flush");
    const r = recorder();
    q.writeTo(r.socket); // q kept its node of the old tree
    assert.deepEqual(Buffer.from(r.written[0]!), bytes([f, f]));
    const late = new OutputQueue();
    markDirty({
      flushNow: () => {},
      flushTurn: () => {
        assert.equal(sharedRoot.used, false, "a new tree when the pass starts");
        late.pushShared(f); // a broadcast during the pass
      },
    });
    sharedRoot.extend(f);
    await nextTurn();
    assert.equal(sharedRoot.used, true, "the pass's own broadcast is on the new tree");
    late.clear();
  });

  it("clear() drops the sequence; the next frame starts afresh", () => {
    const f1 = frame("dropped");
    const f2 = frame("kept");
    const q = new OutputQueue();
    q.pushShared(f1);
    q.clear();
    q.pushShared(f2);
    const { written, socket } = recorder();
    q.writeTo(socket);
    assert.equal(written.length, 1);
    isFrameItself(written[0], f2, "the kept frame");
  });

  it("stalled subscribers hold their own bytes only, shared: rooms in alternation, several a turn, an early flush", async () => {
    const connection = (socket: Duplex) =>
      new Connection({
        role: "server",
        socket,
        createEngine: createHybiEngine,
        options: resolveConnectionOptions({ pingInterval: 0, idleTimeout: 0, maxBufferedAmount: 0 }),
        protocol: "",
        extensions: [],
        extensionsHeader: "",
      });
    const sockets = Array.from({ length: 6 }, () => new Duplex({ read() {}, write() {} })); // never complete a write
    const subscribers = sockets.map(connection);
    try {
      for (const c of subscribers) c.send("x"); // the first write: the sockets hold bytes from now on
      await nextTurn();
      for (let turn = 0; turn < 20; turn++) {
        const all = prepareMessage(`all ${turn}`);
        for (const c of subscribers) c.sendPrepared(all); // the flush order alternates rooms
        for (let k = 0; k < 3; k++) {
          for (const room of [0, 1]) {
            const m = prepareMessage(`room ${room} turn ${turn} message ${k}`.padEnd(200, "."));
            for (const [i, c] of subscribers.entries()) if (i % 2 === room) c.sendPrepared(m);
          }
        }
        await nextTurn();
      }
      // A read broadcasting 64 KiB to everyone: written by the early flush at the read's end.
      for (let k = 0; k < 256; k++) {
        const m = prepareMessage("e".repeat(252)); // 256-byte frames: exactly 64 KiB
        for (const c of subscribers) c.sendPrepared(m);
      }
      flushEarly();
      await nextTurn();
      const held = sockets.map((s) =>
        (s as unknown as { writableBuffer: Array<{ chunk: Uint8Array }> }).writableBuffer.map((w) => w.chunk),
      );
      const perRoom = [0, 1].map((room) => held[room]!.slice(1).reduce((n, c) => n + c.byteLength, 0));
      const memory = new Set<ArrayBufferLike>(held.flat().map((c) => c.buffer));
      const referenced = [...memory].reduce((n, b) => n + b.byteLength, 0);
      assert.ok(perRoom[0]! > 64 * 1024 + 20 * 3 * 200, `${perRoom[0]} bytes held by one subscriber`);
      for (const c of held.flat().slice(1)) assert.equal(c.buffer.byteLength, c.byteLength, "memory of its own");
      // Shared: all six subscribers' writes reference about one subscriber's bytes per room.
      assert.ok(referenced <= perRoom[0]! + perRoom[1]!, `${referenced} bytes referenced for ${perRoom} per room`);
      for (const [i, h] of held.entries()) assert.deepEqual(bytes(h.slice(1)), bytes(held[i % 2]!.slice(1)), `${i}`);
    } finally {
      for (const s of sockets) s.destroy();
    }
  });
});
