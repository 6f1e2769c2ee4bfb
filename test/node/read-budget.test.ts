/**
 * read-path.ts's read budget: what one socket may read into the shared read buffer in a row
 * within one loop iteration, past which it waits for the next (a flood of small frames), and what
 * is not counted (a large payload whose rest is read in place: the engine's receiveLent says how
 * many bytes began it). Over real sockets, and with reads handed to the socket's read callback as
 * Node's onStreamRead does (deterministic).
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import type net from "node:net";
import { after, describe, it } from "node:test";
import { createHybiEngine } from "../../src/node/engines.js";
import { attachTransport, pauseReading, resumeReading } from "../../src/node/read-path.js";
import { concat } from "../helpers/bytes.js";
import { destroyDuplexes, duplexConnection } from "../helpers/duplex-connection.js";
import { cframe } from "../helpers/frames.js";
import { survivors } from "../helpers/gc.js";
import { Recorder, roundTrip, tcpPair } from "../helpers/transport-owner.js";

after(destroyDuplexes);

describe("read path: one socket's share of a loop iteration", () => {
  /** Bytes handed to `owner` per loop iteration (between two check phases) while `total` arrive. */
  async function perIteration(owner: Recorder, total: number): Promise<number[]> {
    const counts: number[] = [];
    let seen = 0;
    while (seen < total) {
      await new Promise((resolve) => setImmediate(resolve));
      const now = owner.chunks.reduce((sum, c) => sum + c.length, 0);
      counts.push(now - seen);
      seen = now;
    }
    return counts;
  }

  it("a flood is read 256 KiB at a time per iteration, every byte in order (Node reads up to 2 MiB)", async () => {
    const pair = await tcpPair();
    try {
      const owner = new Recorder();
      attachTransport(pair.server, owner);
      const flood = Buffer.alloc(4 * 1024 * 1024);
      for (let i = 0; i < flood.length; i++) flood[i] = i % 251;
      pair.client.write(flood);
      const counts = await perIteration(owner, flood.length);
      assert.ok(Math.max(...counts) <= 256 * 1024, `bytes per iteration: max ${Math.max(...counts)}`);
      assert.ok(Buffer.concat(owner.chunks).equals(flood), "every byte, in order");
    } finally {
      pair.close();
    }
  });

  it("a socket its owner paused on the read that spent its share stays paused until resumed", async () => {
    const pair = await tcpPair();
    try {
      const owner = new Recorder();
      attachTransport(pair.server, owner);
      let got = 0;
      owner.onBytes = () => {
        got = owner.chunks.reduce((sum, c) => sum + c.length, 0);
        if (got >= 256 * 1024 && owner.onBytes !== null) {
          owner.onBytes = null;
          pauseReading(pair.server);
        }
      };
      const flood = Buffer.alloc(1024 * 1024, 0x61);
      pair.client.write(flood);
      await owner.bytes(256 * 1024);
      const paused = owner.chunks.reduce((sum, c) => sum + c.length, 0);
      for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
      await roundTrip(); // time for the kernel to deliver: nothing may arrive
      assert.equal(
        owner.chunks.reduce((sum, c) => sum + c.length, 0),
        paused,
        "nothing read while paused",
      );
      resumeReading(pair.server);
      await owner.bytes(flood.length);
    } finally {
      pair.close();
    }
  });
});

describe("read path: the share's bookkeeping (reads handed to the socket's callback as Node does)", () => {
  type Handle = { reading: boolean; readStart(): number; readStop(): number };
  /** One read of `n` bytes into the shared buffer, as Node's onStreamRead hands it over; its answer. */
  function read(socket: net.Socket, n: number): boolean {
    const own = Object.getOwnPropertySymbols(socket);
    const s = socket as unknown as Record<symbol, unknown> & { _handle: Handle };
    const callback = s[own.find((x) => x.description === "kBufferCb")!] as (n: number, b: Uint8Array) => boolean;
    const more = callback.call(socket, n, s[own.find((x) => x.description === "kBuffer")!] as Uint8Array) !== false;
    if (!more) {
      s._handle.reading = false; // what Node does when the callback answers false
      s._handle.readStop();
    }
    return more;
  }
  const handleOf = (socket: net.Socket) => (socket as unknown as { _handle: Handle })._handle;
  const nextIteration = () => new Promise((resolve) => setImmediate(resolve));
  const KIB = 1024;

  it("a socket is deferred only past half its share within one iteration; less than half carries over", async () => {
    const pair = await tcpPair();
    try {
      attachTransport(pair.server, new Recorder());
      await nextIteration(); // whatever an earlier test left counted is over
      // The decision: what a socket read below half its share stays counted into later iterations
      // (no check-phase callback per iteration with reads); past half, the count ends with the
      // iteration. So a socket is deferred after more than half a share read within one iteration.
      assert.equal(read(pair.server, 60 * KIB), true);
      assert.equal(read(pair.server, 60 * KIB), true); // 120 KiB: below half, carried
      await nextIteration();
      assert.equal(read(pair.server, 64 * KIB), true);
      assert.equal(read(pair.server, 64 * KIB), true);
      assert.equal(read(pair.server, 64 * KIB), false, "deferred after 192 KiB in this iteration (120 carried)");
      assert.equal(handleOf(pair.server).reading, false);
      await nextIteration();
      assert.equal(handleOf(pair.server).reading, true, "read again at the check phase");
      // Past half, the iteration's end starts the count again: a full share in the next one.
      assert.equal(read(pair.server, 64 * KIB), true);
      assert.equal(read(pair.server, 64 * KIB), true);
      await nextIteration();
      for (let i = 0; i < 3; i++) assert.equal(read(pair.server, 64 * KIB), true, `read ${i}`);
      assert.equal(read(pair.server, 64 * KIB), false, "deferred after a full share");
    } finally {
      pair.close();
    }
  });

  /** A read of `n` bytes into a large message's own buffer (a read target), as Node hands it over. */
  function readInto(socket: net.Socket, n: number): boolean {
    const own = Object.getOwnPropertySymbols(socket);
    const callback = (socket as unknown as Record<symbol, unknown>)[own.find((x) => x.description === "kBufferCb")!];
    return (callback as (n: number, b: Uint8Array) => boolean).call(socket, n, new Uint8Array(n)) !== false;
  }

  it("a large payload's first bytes in a shared read are not counted when its rest is read in place; all else is", async () => {
    const pair = await tcpPair();
    try {
      const owner = new Recorder();
      attachTransport(pair.server, owner);
      await nextIteration();
      /** A shared read whose last `payload` bytes began a frame whose rest the owner offers in place (or not). */
      const sharedRead = (n: number, payload: number, inPlace = true): boolean => {
        owner.payload = payload;
        owner.offer = inPlace ? new Uint8Array(16 * KIB) : null;
        return read(pair.server, n);
      };
      // The large echo: a 1 MiB message is one shared read (its 14-byte header, the payload's first
      // bytes) and the rest in place. A socket reading only such messages is never deferred, even
      // for libuv's 32 reads in one iteration (round thirteen deferred the 8th, main before it the 4th).
      for (let i = 0; i < 16; i++) {
        assert.equal(sharedRead(64 * KIB, 64 * KIB - 14), true, `message ${i}'s first read`);
        assert.equal(readInto(pair.server, 1024 * KIB - 64 * KIB + 14), true);
      }
      await nextIteration();
      // A peer ending every shared read with the header of a frame of 1 MiB or more (review
      // rread13 F1): the frames before the header count in full, deferred by the fourth shared read.
      for (const size of [1024 * KIB, 16 * 1024 * KIB]) {
        let shared = 0;
        while (sharedRead(64 * KIB, 0)) {
          shared++;
          readInto(pair.server, size);
        }
        assert.equal(shared, 3, `deferred on the fourth shared read (${size} B frames)`);
        await nextIteration();
      }
      // Half small frames, half a large payload's first bytes: the half before it counts (8 reads).
      let shared = 0;
      while (sharedRead(64 * KIB, 32 * KIB)) {
        shared++;
        readInto(pair.server, 1024 * KIB);
      }
      assert.equal(shared, 7, "deferred on the eighth shared read (8 x 32 KiB counted)");
      await nextIteration();
      // A payload whose rest is NOT read in place next (a short rest, or an owner without targets)
      // counts in full: the share's four reads.
      shared = 0;
      while (sharedRead(64 * KIB, 64 * KIB - 14, false)) shared++;
      assert.equal(shared, 3, "deferred on the fourth shared read");
      await nextIteration();
    } finally {
      pair.close();
    }
  });

  it("a connection answers what its engine says: the bytes that began a large payload read in place next", () => {
    type Owner = { transportLent(bytes: Uint8Array, length: number): number; readTarget(): Uint8Array | null };
    const conn = duplexConnection().conn as unknown as Owner;
    const big = cframe(2, new Uint8Array(1024 * KIB)); // a 14-byte header
    const lent = new Uint8Array(64 * KIB);
    lent.set(concat([cframe(1, "small"), big.subarray(0, 64 * KIB - 11)]));
    assert.equal(conn.transportLent(lent, lent.length), 64 * KIB - 11 - 14);
    assert.equal(conn.readTarget()?.length, 1024 * KIB - (64 * KIB - 11 - 14));
    lent.set(concat([cframe(1, "only a header next"), big.subarray(0, 14)]));
    const conn2 = duplexConnection().conn as unknown as Owner;
    assert.equal(conn2.transportLent(lent, 24 + 14), 0);
    assert.ok(conn2.readTarget() !== null);
    // An engine whose receiveLent answers nothing (written before the answer): 0, never NaN.
    const silent = duplexConnection({
      createEngine: (host, options) => {
        const engine = createHybiEngine(host, options);
        const receive = engine.receiveLent!.bind(engine);
        engine.receiveLent = (data, length) => void receive(data, length);
        return engine;
      },
    }).conn as unknown as Owner;
    lent.set(concat([cframe(1, "small"), big.subarray(0, 64 * KIB - 11)]));
    assert.equal(silent.transportLent(lent, lent.length), 0);
  });

  it("another socket's read starts the count again", async () => {
    const a = await tcpPair();
    const b = await tcpPair();
    try {
      attachTransport(a.server, new Recorder());
      attachTransport(b.server, new Recorder());
      await nextIteration();
      for (let i = 0; i < 3; i++) assert.equal(read(a.server, 64 * KIB), true);
      assert.equal(read(b.server, 1), true);
      for (let i = 0; i < 3; i++) assert.equal(read(a.server, 64 * KIB), true, "a's reads counted anew");
      await nextIteration();
    } finally {
      a.close();
      b.close();
    }
  });

  it("a socket paused with Node's socket.pause() while it waits for the next iteration stays paused until socket.resume()", async () => {
    // An application's connection.socket.pause() (a proxy's backpressure) of a socket whose reads
    // the budget stopped: its handle is stopped already, so Node only marks the stream paused.
    const pair = await tcpPair();
    try {
      const owner = new Recorder();
      attachTransport(pair.server, owner);
      await nextIteration();
      for (let i = 0; i < 3; i++) assert.equal(read(pair.server, 64 * KIB), true);
      assert.equal(read(pair.server, 64 * KIB), false, "deferred");
      const reads = owner.chunks.length;
      pair.server.pause();
      pair.client.write("while paused");
      await nextIteration(); // the check phase: deferred sockets read again, unless paused
      await roundTrip(); // time for the kernel to deliver: nothing may arrive
      assert.equal(handleOf(pair.server).reading, false);
      assert.equal(owner.chunks.length, reads, "nothing read while paused");
      pair.server.resume();
      await owner.bytes(4 * 64 * KIB + 12);
      assert.equal(Buffer.concat(owner.chunks.slice(reads)).toString(), "while paused");
    } finally {
      pair.close();
    }
  });

  it("one deferred socket whose restart throws is destroyed with the error; the others read again", async () => {
    const pairs = [await tcpPair(), await tcpPair(), await tcpPair()];
    try {
      for (const pair of pairs) attachTransport(pair.server, new Recorder());
      await nextIteration();
      for (const pair of pairs) {
        for (let i = 0; i < 3; i++) read(pair.server, 64 * KIB);
        assert.equal(read(pair.server, 64 * KIB), false);
      }
      const failing = pairs[0]!.server;
      const failure = new Error("readStart failed");
      handleOf(failing).readStart = () => {
        throw failure;
      };
      const errored = once(failing, "error");
      await nextIteration();
      assert.equal(handleOf(pairs[1]!.server).reading, true);
      assert.equal(handleOf(pairs[2]!.server).reading, true);
      assert.equal(failing.destroyed, true);
      assert.equal((await errored)[0], failure);
    } finally {
      for (const pair of pairs) pair.close();
    }
  });

  it("a closed socket whose reads were being counted is not kept", async () => {
    const ref = await (async () => {
      const pair = await tcpPair();
      attachTransport(pair.server, new Recorder());
      read(pair.server, 1); // its reads are counted now
      const closed = once(pair.server, "close");
      pair.close();
      await closed;
      return new WeakRef(pair.server);
    })();
    assert.deepEqual(await survivors([ref]), [undefined]);
  });
});
