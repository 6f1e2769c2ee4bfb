/**
 * read-path.ts: which transports read in place (plain TCP sockets) and which keep 'data' events
 * (TLS, other Duplexes, a socket with bytes Node read already), and that bytes, targets,
 * pause/resume and the end of the stream behave the same either way. The engine's side of the
 * two read modes is test/protocol/engine-read-modes.test.ts; connections over TCP in the rest of
 * test/node run the in-place path, those over TLS and HTTP/2 the other.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import net from "node:net";
import { PassThrough } from "node:stream";
import { after, describe, it } from "node:test";
import tls from "node:tls";
import type { Transport } from "../../src/node/connection-types.js";
import { createHybiEngine } from "../../src/node/engines.js";
import { markDirty, markEarly } from "../../src/node/flush-queue.js";
import {
  attachTransport,
  deliverHead,
  pauseReading,
  readsInPlace,
  resumeReading,
  type TransportOwner,
} from "../../src/node/read-path.js";
import { concat } from "../helpers/bytes.js";
import { destroyDuplexes, duplexConnection } from "../helpers/duplex-connection.js";
import { cframe } from "../helpers/frames.js";
import { survivors } from "../helpers/gc.js";
import { testCertificate } from "../helpers/tls.js";

/** An owner that keeps what it is given (lent bytes copied), and may offer one read target. */
class Recorder implements TransportOwner {
  readonly chunks: Buffer[] = [];
  lentCalls = 0;
  dataCalls = 0;
  ended = false;
  closed = false;
  target: Uint8Array | null = null;
  /** Offered as the target once lent bytes arrived (as the engine offers one after a frame's header). */
  offer: Uint8Array | null = null;
  landed: Uint8Array | null = null;
  /** What transportLent answers: the bytes at the end that began a large payload (as the engine's receiveLent). */
  payload = 0;
  /** Called with each call's bytes (as the engine delivers messages whose handlers send). */
  onBytes: (() => void) | null = null;
  #arrived: (() => void) | null = null;

  get text(): string {
    return Buffer.concat(this.chunks).toString();
  }
  transportData(chunk: Uint8Array): void {
    this.dataCalls++;
    if (this.target !== null && chunk.buffer === this.target.buffer) {
      this.landed = chunk;
      this.target = null;
    }
    this.chunks.push(Buffer.from(chunk));
    this.onBytes?.();
    this.#arrived?.();
  }
  /** The arrays lent so far (the shared read buffer: one). */
  readonly lentArrays = new Set<Uint8Array>();
  transportLent(bytes: Uint8Array, length: number): number {
    this.lentCalls++;
    this.lentArrays.add(bytes);
    this.chunks.push(Buffer.from(bytes.subarray(0, length))); // a copy: the buffer is reused
    this.target = this.offer;
    this.offer = null;
    this.onBytes?.();
    this.#arrived?.();
    return this.payload;
  }
  readTarget(): Uint8Array | null {
    return this.target;
  }
  transportEnd(): void {
    this.ended = true;
  }
  transportClose(): void {
    this.closed = true;
  }
  transportError(): void {}
  transportDrain(): void {}
  transportFlushed(): void {}
  /** What transportHead answers (true: reading resumes). */
  resumeAfterHead = true;
  transportHead(head: Uint8Array): boolean {
    this.chunks.push(Buffer.from(head));
    return this.resumeAfterHead;
  }

  /** Resolves once `n` bytes in all have arrived. */
  async bytes(n: number): Promise<void> {
    while (Buffer.concat(this.chunks).length < n) await new Promise<void>((resolve) => (this.#arrived = resolve));
    this.#arrived = null;
  }
}

/** A connected loopback pair: the accepted (server) socket, paused, and the client. */
async function tcpPair(): Promise<{ server: net.Socket; client: net.Socket; close(): void }> {
  const listener = net.createServer({ pauseOnConnect: true });
  listener.listen(0, "127.0.0.1");
  await once(listener, "listening");
  const accepted = once(listener, "connection");
  const client = net.connect((listener.address() as net.AddressInfo).port, "127.0.0.1");
  const connected = once(client, "connect");
  const [server] = (await accepted) as [net.Socket];
  await connected;
  // As node:http and the raw listener hand an upgraded socket over: not reading, flowing null.
  (server as { readableFlowing: boolean | null }).readableFlowing = null;
  return {
    server,
    client,
    close() {
      client.destroy();
      server.destroy();
      listener.close();
    },
  };
}

/** A round trip on another socket pair: time for the kernel to deliver what was written. */
async function roundTrip(): Promise<void> {
  const probe = await tcpPair();
  probe.client.write("x");
  probe.server.resume();
  await once(probe.server, "data");
  probe.close();
}

after(destroyDuplexes);

describe("read path", () => {
  it("a plain TCP socket reads in place: lent bytes from one buffer, then into the offered target", async () => {
    const pair = await tcpPair();
    try {
      const owner = new Recorder();
      attachTransport(pair.server, owner);
      assert.equal(readsInPlace(pair.server), true);
      // After the first read the owner offers a 4-byte target: the next read lands there, never
      // more than its length.
      const target = new Uint8Array(4);
      owner.offer = target;
      pair.client.write("hello");
      await owner.bytes(5);
      assert.equal(owner.lentCalls, 1);
      pair.client.write("abcdefgh");
      await owner.bytes(13);
      assert.equal(owner.text, "helloabcdefgh");
      assert.ok(owner.landed !== null && owner.landed.buffer === target.buffer);
      assert.equal(Buffer.from(owner.landed).toString(), "abcd");
      // Every lent read hands over the same array (the shared read buffer) with the read's length.
      pair.client.write("more");
      await owner.bytes(17);
      assert.equal(owner.text, "helloabcdefghmore");
      assert.ok(owner.lentCalls >= 2);
      assert.equal(owner.lentArrays.size, 1);
      assert.ok([...owner.lentArrays][0]!.length > 17);
    } finally {
      pair.close();
    }
  });

  it("a plain TCP socket keeps 'data' events when the owner asks for them (the ws drop-in)", async () => {
    const pair = await tcpPair();
    try {
      const owner = new Recorder();
      attachTransport(pair.server, owner, false);
      assert.equal(readsInPlace(pair.server), false);
      pair.client.write("data events");
      await owner.bytes(11);
      assert.equal(owner.lentCalls, 0);
      assert.equal(owner.text, "data events");
    } finally {
      pair.close();
    }
  });

  it("pauseReading() stops in-place reads at once and resumeReading() restarts them; the end arrives", async () => {
    const pair = await tcpPair();
    try {
      const owner = new Recorder();
      attachTransport(pair.server, owner);
      pauseReading(pair.server);
      pair.client.write("while paused");
      await roundTrip(); // time for the kernel to deliver: nothing may arrive
      assert.equal(owner.chunks.length, 0);
      resumeReading(pair.server);
      await owner.bytes(12);
      assert.equal(owner.text, "while paused");
      pair.client.end();
      await once(pair.server, "end");
      assert.equal(owner.ended, true);
    } finally {
      pair.close();
    }
  });

  it("a socket holding bytes Node already read keeps 'data' events, and those bytes come first", async () => {
    const pair = await tcpPair();
    try {
      pair.server.read(0); // reads start; nothing consumes them: what arrives waits in the stream
      pair.client.write("early");
      while (pair.server.readableLength === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      const owner = new Recorder();
      attachTransport(pair.server, owner);
      assert.equal(readsInPlace(pair.server), false);
      pair.client.write(" and late");
      await owner.bytes(14);
      assert.equal(owner.text, "early and late");
      assert.equal(owner.lentCalls, 0);
    } finally {
      pair.close();
    }
  });

  it("TLS sockets and other Duplexes keep 'data' events", async () => {
    const stream = new PassThrough();
    const owner = new Recorder();
    attachTransport(stream as unknown as Transport, owner);
    assert.equal(readsInPlace(stream as unknown as Transport), false);
    stream.write("duplex");
    await owner.bytes(6);
    assert.equal(owner.dataCalls, 1);

    const { cert, key } = testCertificate();
    const server = tls.createServer({ cert, key });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const accepted = once(server, "secureConnection");
    const client = tls.connect({ port: (server.address() as net.AddressInfo).port, host: "127.0.0.1", ca: cert });
    try {
      const [socket] = (await accepted) as [tls.TLSSocket];
      const tlsOwner = new Recorder();
      attachTransport(socket as unknown as Transport, tlsOwner);
      assert.equal(readsInPlace(socket as unknown as Transport), false);
      client.write("over tls");
      await tlsOwner.bytes(8);
      assert.equal(tlsOwner.text, "over tls");
      assert.equal(tlsOwner.lentCalls, 0);
    } finally {
      client.destroy();
      server.close();
    }
  });

  it("output marked early while a read is handled is flushed when that read returns, before the turn's flush", async () => {
    // In place (TCP) and through 'data' events (any other Duplex).
    const pair = await tcpPair();
    const stream = new PassThrough();
    try {
      for (const [transport, write] of [
        [pair.server, (s: string) => pair.client.write(s)],
        [stream as unknown as Transport, (s: string) => stream.write(s)],
      ] as const) {
        const owner = new Recorder();
        const order: string[] = [];
        owner.onBytes = () => {
          // A large reply queued by a message handler: marked for the turn and for the read.
          const output = { flushNow: () => order.push("flushed"), flushTurn: () => order.push("turn") };
          markDirty(output);
          markEarly(output);
          order.push("handled");
          queueMicrotask(() => order.push("microtask"));
        };
        attachTransport(transport, owner);
        write("x");
        await owner.bytes(1);
        await new Promise((resolve) => setImmediate(resolve));
        assert.deepEqual(order.slice(0, 2), ["handled", "flushed"]);
        assert.ok(order.indexOf("flushed") < order.indexOf("turn"));
      }
    } finally {
      pair.close();
      stream.destroy();
    }
  });

  it("a socket's end: Node's own listener and the owner's in one slot, both run; other listeners as usual", async () => {
    for (const before of [false, true]) {
      const pair = await tcpPair();
      try {
        const order: string[] = [];
        if (before) pair.server.on("end", () => order.push("earlier listener"));
        const owner = new Recorder();
        attachTransport(pair.server, owner);
        const events = (pair.server as unknown as { _events: Record<string, unknown> })._events;
        if (before) assert.equal(pair.server.listenerCount("end"), 3, "Node's, the earlier one, the owner's");
        else assert.equal(typeof events.end, "function", "one listener, no array");
        pair.server.on("end", () => order.push(`later listener, owner ended: ${owner.ended}`));
        pair.client.end();
        await once(pair.server, "end");
        assert.equal(owner.ended, true);
        assert.deepEqual(order, [...(before ? ["earlier listener"] : []), "later listener, owner ended: true"]);
        // Node's listener ran: without allowHalfOpen, writes after the peer's FIN are refused.
        assert.ok(Object.hasOwn(pair.server, "write"), "Node's onReadableStreamEnd replaced write");
      } finally {
        pair.close();
      }
    }
    const stream = new PassThrough();
    const owner = new Recorder();
    attachTransport(stream as unknown as Transport, owner);
    stream.resume();
    stream.end();
    await once(stream, "end");
    assert.equal(owner.ended, true, "a Duplex's end reaches the owner too");
  });

  it("deliverHead hands the handshake's bytes over on the next turn, reading stopped until then", async () => {
    for (const resume of [true, false]) {
      const pair = await tcpPair();
      try {
        const owner = new Recorder();
        owner.resumeAfterHead = resume;
        attachTransport(pair.server, owner);
        pair.client.write("later");
        deliverHead(pair.server, owner, Buffer.from("head "));
        assert.equal(owner.chunks.length, 0, "not in the same turn");
        await new Promise((resolve) => setImmediate(resolve));
        assert.equal(owner.text, "head ");
        if (resume) {
          await owner.bytes(10);
          assert.equal(owner.text, "head later", "the head first, then what followed it");
        } else {
          await roundTrip(); // time for the kernel to deliver: nothing may arrive
          assert.equal(owner.text, "head ", "reading stays stopped when the owner says so");
        }
      } finally {
        pair.close();
      }
    }
  });
});

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
