/**
 * ConnectionOutput (connection-output.ts): the write callbacks of a turn (afterQueued) ride on
 * its flush's last write and run once, in order, after it; a write that throws after taking them
 * does not run them twice (the socket's own call is ignored, they get the error once). While the
 * peer reads slowly: one empty write per backed-up socket, and 'drain' however the output ends.
 */
import assert from "node:assert/strict";
import { Duplex } from "node:stream";
import { describe, it } from "node:test";
import type { AnyConnection } from "../../src/node/connection.js";
import { ConnectionOutput } from "../../src/node/connection-output.js";
import type { Transport } from "../../src/node/connection-types.js";
import { createHybiEngine } from "../../src/node/engines.js";
import * as queue from "../../src/node/flush-queue.js";
import { Connection } from "../../src/node/index.js";
import { resolveConnectionOptions } from "../../src/node/options.js";
import { outputArena } from "../../src/node/output-buffers.js";

/** A socket stand-in keeping the write callbacks; `throwOnUncork` makes the writev batch throw. */
function fakeSocket(throwOnUncork = false) {
  const callbacks: Array<(error?: Error | null) => void> = [];
  const written: number[] = [];
  const chunks: Uint8Array[] = [];
  const socket = {
    destroyed: false,
    writable: true,
    writableLength: 0,
    writableNeedDrain: false,
    writableEnded: false,
    write(chunk: Uint8Array, cb?: (error?: Error | null) => void) {
      written.push(chunk.byteLength);
      chunks.push(chunk);
      if (cb !== undefined) callbacks.push(cb);
      return true;
    },
    cork() {},
    uncork() {
      if (throwOnUncork) throw new Error("write failed");
    },
  };
  return { socket: socket as unknown as Transport, callbacks, written, chunks };
}

/** A connection stand-in recording its `error` events and transport destruction. */
function fakeConn(socket: Transport) {
  const events: string[] = [];
  const conn = {
    emit(name: string, error: Error) {
      events.push(`${name}: ${error.message}`);
      return true;
    },
    destroyTransport() {
      events.push("destroyed");
      (socket as { destroyed: boolean }).destroyed = true;
    },
    endsAfterFlush: () => false,
    holdPongs() {},
  };
  return { conn: conn as unknown as AnyConnection, events };
}

describe("ConnectionOutput write callbacks", () => {
  it("run once, in order, after the flush's write", () => {
    const { socket, callbacks } = fakeSocket();
    const { conn } = fakeConn(socket);
    const out = new ConnectionOutput(conn, socket, false);
    out.dirty = true; // this turn's flush is pending (queue() without the flush queue)
    out.push(Buffer.from("frame"));
    const order: string[] = [];
    out.afterQueued(() => order.push("first"));
    out.afterQueued(() => order.push("second"));
    out.flushNow();
    assert.deepEqual(order, [], "not before the write completes");
    assert.equal(callbacks.length, 1, "one write callback for both");
    callbacks[0]!(null);
    callbacks[0]!(null); // a second call (never from Node, but cheap to be sure) is ignored
    assert.deepEqual(order, ["first", "second"]);
  });

  it("a write that throws after taking the callbacks runs them once, with the error", async () => {
    const { socket, callbacks } = fakeSocket(true);
    const { conn, events } = fakeConn(socket);
    const out = new ConnectionOutput(conn, socket, false);
    out.dirty = true;
    out.push(Buffer.alloc(40_000, 1));
    out.push(Buffer.alloc(40_000, 2)); // above 64 KiB: cork, writes, uncork (which throws)
    const results: Array<string | undefined> = [];
    out.afterQueued((error) => results.push(error?.message));
    out.afterQueued((error) => results.push(error?.message));
    out.flushNow();
    assert.deepEqual(events, ["error: write failed", "destroyed"]);
    assert.equal(callbacks.length, 1, "the last write took the callbacks");
    callbacks[0]!(new Error("socket gone")); // the socket reports the failed write too
    await new Promise((resolve) => setImmediate(resolve)); // past any nextTick retry
    assert.equal(results.length, 2, `each callback once: ${JSON.stringify(results)}`);
    assert.equal(results[0], results[1]);
  });
});

describe("ConnectionOutput early flush", () => {
  it("a queue reaching 64 KiB is marked for the end of the read; smaller ones wait for the turn", async () => {
    const { socket, written } = fakeSocket();
    const { conn } = fakeConn(socket);
    const out = new ConnectionOutput(conn, socket, false);
    out.queue().push(Buffer.alloc(1000));
    queue.flushEarly();
    assert.deepEqual(written, [], "1,000 bytes wait for the end of the turn");
    out.queue().push(Buffer.alloc(queue.EARLY_BYTES - 1000));
    out.queue().push(Buffer.alloc(10)); // marked once
    assert.equal(out.early, true);
    assert.equal(queue.earlyCount, 1);
    queue.flushEarly(); // what read-path.ts calls after a read
    assert.deepEqual(written, [1000, queue.EARLY_BYTES - 1000, 10], "one writev of the three, in order");
    assert.equal(out.early, false);
    assert.equal(out.size, 0);
    out.queue().push(Buffer.alloc(5));
    await new Promise((resolve) => setImmediate(resolve)); // the turn's flush: only what came after
    assert.deepEqual(written.slice(3), [5]);
  });

  it("output after an early flush in the same turn: listed once, written by the turn's flush in order", async () => {
    const { socket, written, callbacks } = fakeSocket();
    const { conn } = fakeConn(socket);
    const out = new ConnectionOutput(conn, socket, false);
    let turns = 0;
    const flushTurn = out.flushTurn.bind(out);
    out.flushTurn = () => {
      turns++;
      flushTurn();
    };
    out.queue().push(Buffer.alloc(queue.EARLY_BYTES));
    queue.flushEarly();
    assert.deepEqual(written, [queue.EARLY_BYTES]);
    assert.equal(out.dirty, false, "nothing queued after the early flush");
    out.queue().push(Buffer.alloc(3)); // a later read's (or a microtask's) small reply
    out.queue().push(Buffer.alloc(queue.EARLY_BYTES)); // and a large one: early again
    assert.equal(queue.earlyCount, 1);
    queue.flushEarly();
    assert.deepEqual(written.slice(1), [3, queue.EARLY_BYTES], "one writev of both, in order");
    out.queue().push(Buffer.alloc(7));
    const calls: string[] = [];
    out.afterQueued((error) => calls.push(`cb ${error ?? "ok"}`));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(turns, 1, "the turn's flush visits it once");
    assert.deepEqual(written.slice(3), [7], "only what came after the last early flush");
    assert.equal(callbacks.length, 1, "the callback rides on the turn's write");
    callbacks[0]!();
    assert.deepEqual(calls, ["cb ok"]);
    assert.equal(out.dirty, false);
    assert.equal(out.size, 0);
    // The next turn lists it again.
    out.queue().push(Buffer.alloc(2));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(turns, 2);
    assert.deepEqual(written.slice(4), [2]);
  });

  it("an early flush with nothing after it: the turn's visit writes nothing, and the next output is flushed", async () => {
    const { socket, written, callbacks } = fakeSocket();
    const { conn } = fakeConn(socket);
    const out = new ConnectionOutput(conn, socket, false);
    out.queue().push(Buffer.alloc(queue.EARLY_BYTES));
    const calls: string[] = [];
    out.afterQueued((error) => calls.push(`a ${error ?? "ok"}`)); // rides on the early write
    queue.flushEarly();
    assert.equal(callbacks.length, 1);
    out.afterQueued((error) => calls.push(`b ${error ?? "ok"}`)); // nothing queued: a write of its own
    assert.equal(callbacks.length, 2);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(written, [queue.EARLY_BYTES, 0], "the turn's flush wrote nothing more");
    for (const cb of callbacks) cb();
    assert.deepEqual(calls, ["a ok", "b ok"]);
    assert.equal(out.resting, true);
  });

  it("an early-flushed connection closed in the same turn: the turn's flush writes nothing and fails the callbacks", async () => {
    const { socket, written } = fakeSocket();
    const { conn, events } = fakeConn(socket);
    const out = new ConnectionOutput(conn, socket, false);
    out.queue().push(Buffer.alloc(queue.EARLY_BYTES));
    queue.flushEarly();
    out.queue().push(Buffer.alloc(5)); // queued, then the socket goes before the turn ends
    const calls: string[] = [];
    out.afterQueued((error) => calls.push(error ? "error" : "ok"));
    (socket as { destroyed: boolean }).destroyed = true;
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(written, [queue.EARLY_BYTES], "nothing written to the closed socket");
    assert.equal(out.size, 0);
    assert.equal(out.dirty, false);
    await new Promise((resolve) => process.nextTick(resolve));
    assert.deepEqual(calls, ["error"], "the callback learns the bytes were not written");
    assert.deepEqual(events, [], "no error event: a closed socket is not a write failure");
  });

  it("frames written into the output arena (pushRange) are marked early alike", () => {
    const { socket, written } = fakeSocket();
    const { conn } = fakeConn(socket);
    const out = new ConnectionOutput(conn, socket, false);
    const arena = Buffer.alloc(52 * 2000);
    let at = 0;
    for (; at + 52 <= queue.EARLY_BYTES - 52; at += 52) out.queue().pushRange(arena, at, at + 52);
    assert.equal(out.early, false, "below 64 KiB");
    for (; at < arena.length; at += 52) out.queue().pushRange(arena, at, at + 52);
    assert.equal(out.early, true);
    assert.equal(queue.earlyCount, 1);
    queue.flushEarly();
    assert.deepEqual(written, [arena.length], "one write of the adjacent run");
    assert.equal(out.size, 0);
  });
});

describe("ConnectionOutput on a socket whose peer does not read", () => {
  it("writes slab frames as views while the socket keeps up, as copies once it holds bytes", () => {
    const { socket, chunks } = fakeSocket();
    const { conn } = fakeConn(socket);
    const out = new ConnectionOutput(conn, socket, false);
    const frame = (text: string) => {
      const start = outputArena.reserve(text.length);
      outputArena.bytes.write(text, start, "latin1");
      out.queue().pushRange(outputArena.bytes, start, start + text.length);
    };
    const slabView = (c: Uint8Array) => c.buffer.byteLength === 64 * 1024 && c.byteLength < c.buffer.byteLength;
    frame("first");
    out.flushNow();
    assert.equal(out.needDrain, false);
    assert.ok(slabView(chunks[0]!), "a view while the socket keeps up");
    (socket as { writableLength: number }).writableLength = 5; // the kernel took nothing: Node holds the write
    frame("second");
    out.flushNow();
    assert.equal(out.needDrain, true, "the socket holds bytes now");
    assert.ok(slabView(chunks[1]!), "the write that found the socket empty is a view");
    frame("third");
    out.flushNow();
    const third = chunks.find((c) => Buffer.from(c).toString() === "third");
    assert.ok(third !== undefined, "written");
    assert.equal(slabView(third), false, "a copy: a held write keeps no slab");
    assert.equal(third.buffer.byteLength, third.byteLength);
  });
});

describe("what a connection whose peer does not read holds", () => {
  it("its own bytes, not an output slab per queued frame, however much other connections write", async () => {
    const connection = (socket: Duplex) =>
      new Connection({
        role: "server",
        socket,
        createEngine: createHybiEngine,
        options: resolveConnectionOptions({ pingInterval: 0, idleTimeout: 0 }),
        protocol: "",
        extensions: [],
        extensionsHeader: "",
      });
    const stalled = new Duplex({ read() {}, write() {} }); // takes one write and never completes it
    const flowing = new Duplex({
      read() {},
      write(_chunk, _encoding, cb) {
        cb();
      },
    });
    const slow = connection(stalled);
    const other = connection(flowing);
    try {
      for (let turn = 0; turn < 200; turn++) {
        // ~7.7 KB of the other connection's frames per turn: the output slab moves on every ~8 turns
        for (let k = 0; k < 70; k++) other.send(`other ${turn} ${k} `.padEnd(110, "x"));
        slow.send(`frame ${turn} `.padEnd(30, "a"));
        await new Promise((resolve) => setImmediate(resolve));
      }
      // Node's queue of the writes it holds (Writable.prototype.writableBuffer, not in @types/node)
      const queued = (stalled as unknown as { writableBuffer: Array<{ chunk: Uint8Array }> }).writableBuffer;
      const held = queued.map((w) => w.chunk);
      const bytes = held.reduce((sum, c) => sum + c.byteLength, 0);
      const memory = new Set<ArrayBufferLike>(held.map((c) => c.buffer));
      const referenced = [...memory].reduce((sum, b) => sum + b.byteLength, 0);
      assert.ok(held.length >= 150, `${held.length} writes held`);
      assert.equal(slow.bufferedAmount >= bytes, true, "bufferedAmount counts what is held");
      // Before: each held write was a view of the slab current at its turn (~25 slabs, 1.6 MB for 6 KB)
      assert.ok(referenced <= bytes, `${bytes} bytes held reference ${referenced} bytes of memory`);
    } finally {
      stalled.destroy();
      flowing.destroy();
    }
  });
});

/**
 * A transport whose writes complete only when the test says (`read`: the peer reads; empty writes
 * complete as soon as they reach the head, as a zero-byte write does on a socket), in a server
 * Connection with "wait" backpressure; `log` records the connection's and transport's events.
 */
function slowConnection(highWaterMark = 16 * 1024) {
  const pending: Array<{ bytes: number; cb: (error?: Error | null) => void }> = [];
  const take = (bytes: number, cb: (error?: Error | null) => void) => {
    if (bytes === 0 && pending.length === 0) cb();
    else pending.push({ bytes, cb });
  };
  const socket = new Duplex({
    highWaterMark,
    read() {},
    write(chunk: Uint8Array, _encoding, cb) {
      take(chunk.byteLength, cb);
    },
  });
  const conn = new Connection({
    role: "server",
    socket,
    createEngine: createHybiEngine,
    options: resolveConnectionOptions({ pingInterval: 0, idleTimeout: 0, backpressure: "wait", maxBufferedAmount: 4 }),
    protocol: "",
    extensions: [],
    extensionsHeader: "",
  });
  const log: string[] = [];
  conn.on("drain", () => log.push("drain"));
  conn.on("close", (code) => log.push(`close ${code}`));
  conn.on("error", (error) => log.push(`error ${error.message}`));
  socket.on("finish", () => log.push("finish"));
  socket.on("error", () => {});
  /** The peer reads everything, write by write, a turn each. */
  const readAll = async () => {
    while (pending.length > 0) {
      pending.shift()!.cb();
      await turns(1);
    }
    await turns(3);
  };
  // Node's queue of the writes it holds (Writable.prototype.writableBuffer, not in @types/node)
  const queued = () => (socket as unknown as { writableBuffer: Array<{ chunk: Uint8Array }> }).writableBuffer;
  return { socket, conn, log, pending, readAll, queued };
}

async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** A peer's masked close frame (1000). */
const PEER_CLOSE = Buffer.from([0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8]);

describe("the connection's 'drain' while its peer reads slowly", () => {
  it("one empty write per backed-up socket, not one per flush; 'drain' once when the peer reads it all", async () => {
    const { socket, conn, log, readAll, queued } = slowConnection();
    try {
      for (let turn = 0; turn < 50; turn++) {
        conn.send(`turn ${turn}`); // ~8 bytes a turn: far below the 16 KiB high-water mark
        await turns(1);
      }
      const empty = queued().filter((w) => w.chunk.byteLength === 0).length;
      assert.ok(queued().length >= 48, `${queued().length} writes held`);
      // Before: a zero-byte write with its own closure after every flush (50 of them)
      assert.ok(empty <= 1, `${empty} empty writes held`);
      await readAll();
      assert.equal(socket.writableLength, 0);
      assert.deepEqual(log, ["drain"]);
      assert.equal(conn.bufferedAmount, 0);
      // Writable again, and backed up again: a second 'drain' for the second backlog
      conn.send("again");
      await turns(1);
      conn.send("and again");
      await turns(1);
      assert.ok(conn.bufferedAmount > 0);
      await readAll();
      assert.deepEqual(log, ["drain", "drain"]);
    } finally {
      socket.destroy();
    }
  });

  for (const shape of ["close", "peer-end"] as const) {
    it(`comes when the output ends (${shape}) with bytes written after the first backed-up flush`, async () => {
      const { socket, conn, log, pending, readAll } = slowConnection();
      assert.equal(conn.send("aaaa"), "written");
      await turns(1); // flushed: the socket holds it (and asks for a callback once it is written)
      const waiting = conn.send("bbbb"); // above maxBufferedAmount: "wait"
      assert.equal(typeof waiting, "object");
      await turns(1); // flushed behind the first
      if (shape === "close") {
        conn.close(1000); // the close frame, then socket.end() once the peer answers
        await turns(1);
        socket.push(PEER_CLOSE);
      } else {
        socket.push(null); // the peer ends: a half-open transport is ended after our output
      }
      await turns(6);
      assert.equal(socket.writableEnded, true, "the output ended with bytes pending");
      assert.ok(pending.length > 0 && socket.writableLength > 0);
      assert.deepEqual(log, [], "nothing before the peer reads");
      await readAll();
      // As before the one-at-a-time fix (main emitted it): 'drain' once the backlog is written, before 'finish'
      assert.deepEqual(
        log.filter((e) => e === "drain" || e === "finish"),
        ["drain", "finish"],
      );
      assert.equal(conn.bufferedAmount, 0);
    });
  }

  it("comes when the output ends above the high-water mark (Node emits no 'drain' once ending)", async () => {
    const { socket, conn, log, readAll } = slowConnection(1024);
    conn.send("x".repeat(2000)); // one flush above the mark: needDrain set by Node
    await turns(1);
    assert.equal(socket.writableNeedDrain, true);
    socket.push(null);
    await turns(6);
    assert.equal(socket.writableEnded, true);
    await readAll();
    assert.deepEqual(
      log.filter((e) => e === "drain" || e === "finish"),
      ["drain", "finish"],
    );
  });

  it("not for bytes a destroyed transport threw away: its 'wait' sends resolve \"buffered\"", async () => {
    const { socket, conn, log, readAll } = slowConnection();
    conn.send("aaaa");
    await turns(1);
    const waiting = conn.send("bbbb");
    assert.equal(typeof waiting, "object");
    let result = "";
    void (waiting as unknown as Promise<string>).then((r) => (result = r));
    await turns(1);
    socket.destroy();
    await turns(3);
    await readAll(); // the write in flight completes (Node calls it back with no error); the rest fail
    assert.deepEqual(log, ["close 1006"]);
    assert.equal(result, "buffered");
  });

  it("not when a write fails", async () => {
    const { socket, conn, log, pending } = slowConnection();
    conn.send("aaaa");
    await turns(1);
    conn.send("bbbb");
    await turns(1);
    pending.shift()!.cb(new Error("EPIPE")); // the transport fails: Node destroys it, the rest fail
    await turns(3);
    assert.equal(socket.destroyed, true);
    assert.ok(!log.includes("drain"), log.join(", "));
  });
});
