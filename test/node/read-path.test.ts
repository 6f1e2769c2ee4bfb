/**
 * read-path.ts: which transports read in place (plain TCP sockets) and which keep 'data' events
 * (TLS, other Duplexes, a socket with bytes Node read already), and that bytes, targets,
 * pause/resume and the end of the stream behave the same either way. The engine's side of the
 * two read modes is test/protocol/engine-read-modes.test.ts; connections over TCP in the rest of
 * test/node run the in-place path, those over TLS and HTTP/2 the other. The read budget (one
 * socket's share of a loop iteration) is read-budget.test.ts.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import type net from "node:net";
import { PassThrough } from "node:stream";
import { describe, it } from "node:test";
import tls from "node:tls";
import type { Transport } from "../../src/node/connection-types.js";
import { markDirty, markEarly } from "../../src/node/flush-queue.js";
import { attachTransport, deliverHead, pauseReading, readsInPlace, resumeReading } from "../../src/node/read-path.js";
import { testCertificate } from "../helpers/tls.js";
import { Recorder, roundTrip, tcpPair } from "../helpers/transport-owner.js";

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
