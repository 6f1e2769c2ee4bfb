/**
 * EngineOptions `messageBuffers` (types.ts MessageBuffers; message-assembler.ts): assembled
 * messages take their buffers from a host that reuses them once the message's event was
 * dispatched (Node's `lendMessages`). With a recycling host that scribbles over every buffer it
 * gets back, the engine must report exactly what it reports with fresh buffers, however the
 * stream is cut and whichever read mode the host uses (lent reads, reads in place); `release`
 * must only ever return buffers that were never handed out, and while a buffer is out it is
 * never acquired again. A message in a buffer from the host is announced around its dispatch
 * (`lend` before, `dispatched` after: the host recycles it then), and no other message is.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MessageAssembler } from "../../src/protocol/message-assembler.js";
import type { EngineEvent, MessageBuffers } from "../../src/protocol/types.js";
import { concat, hex, utf8 } from "../helpers/bytes.js";
import { cframe, closeBody } from "../helpers/frames.js";
import { feedAsSocket, type Plain, plain, run, type TestEngine, testEngine } from "./helpers/engine-run.js";

/** A host's pool: free buffers reused last-in first-out, scribbled over when they come back. */
class RecyclingBuffers implements MessageBuffers {
  readonly free: Uint8Array[] = [];
  /** Buffers acquired and not given back (by `release` or as a dispatched message's). */
  readonly out = new Set<ArrayBufferLike>();
  acquired = 0;
  released = 0;
  /** The buffer whose message is being dispatched (between `lend` and `dispatched`), and how many were. */
  lending: Uint8Array | null = null;
  announced = 0;
  acquire(size: number): Uint8Array {
    this.acquired++;
    const i = this.free.findIndex((b) => b.length >= size);
    const buffer = i >= 0 ? this.free.splice(i, 1)[0]! : new Uint8Array(size + 3); // more than asked: allowed
    assert.ok(!this.out.has(buffer.buffer), "a buffer that is out is acquired again");
    this.out.add(buffer.buffer);
    return buffer;
  }
  release(buffer: Uint8Array): void {
    this.released++;
    this.#back(buffer);
  }
  lend(buffer: Uint8Array): unknown {
    assert.ok(this.out.has(buffer.buffer), "announced a buffer that is not out");
    assert.equal(this.lending, null, "announced inside another message's dispatch");
    this.lending = buffer;
    this.announced++;
    return buffer;
  }
  /** A dispatched message's buffer comes back (the host's side of the contract): reused at once. */
  dispatched(token: unknown): void {
    assert.equal(token, this.lending);
    this.lending = null;
    this.#back(new Uint8Array((token as Uint8Array).buffer));
  }
  /** Scribble over every free buffer (as a reuse would). */
  fill(): void {
    for (const b of this.free) b.fill(0xcc);
  }
  #back(buffer: Uint8Array): void {
    assert.ok(this.out.delete(buffer.buffer), "given back twice, or never acquired");
    buffer.fill(0xdd);
    this.free.push(buffer);
  }
}

const payloadOf = (e: EngineEvent): Uint8Array | null =>
  e.type === "binary" ? e.data : e.type === "text" ? e.bytes : null;

/** Feed `stream` cut at `cuts` ("lent": one reused read buffer; "in-place": into readTarget() when offered). */
function feed(stream: Uint8Array, cuts: readonly number[], mode: "lent" | "in-place", readSize: number) {
  const buffers = new RecyclingBuffers();
  const events: Plain[] = [];
  const engine = testEngine({
    role: "server",
    messageBuffers: buffers,
    onEvent: (e) => {
      events.push(plain(e)); // read during dispatch
      const bytes = payloadOf(e);
      // Never a buffer the host has back; announced exactly when the payload lies in one of its buffers.
      assert.ok(bytes === null || !buffers.free.some((b) => b.buffer === bytes.buffer), "payload in a free buffer");
      const ours = bytes !== null && buffers.out.has(bytes.buffer);
      assert.equal(buffers.lending?.buffer, ours ? bytes.buffer : undefined, `${e.type} event announced iff ours`);
    },
  });
  const output = feedAsSocket(engine, stream, cuts, mode, readSize);
  return { events, output: hex(concat(output)), buffers };
}

const bytesOf = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * seed + (i >> 8)) & 0xff);
const textOf = (n: number) => "aé€😀".repeat(Math.ceil(n / 10)).slice(0, Math.ceil(n / 2.5));

function check(stream: Uint8Array, cuts: number[], readSize: number, expected = run([stream])): number {
  let acquired = 0;
  for (const mode of ["lent", "in-place"] as const) {
    const got = feed(stream, cuts, mode, readSize);
    const where = `${mode}, cuts ${cuts.join(",")}, reads of ${readSize}`;
    assert.deepEqual(got.events, expected.events, where);
    assert.equal(got.output, expected.output, where);
    acquired += got.buffers.acquired;
  }
  return acquired;
}

describe("messageBuffers: assembled messages in recycled buffers", () => {
  it("report what fresh buffers report when the stream is cut at every byte", () => {
    // Two large messages back to back (the second reuses the first's buffer), a fragmented
    // text message with a ping inside, short messages (never from the pool) and a close.
    const stream = concat([
      cframe(2, bytesOf(16_500, 7)),
      cframe(1, utf8(textOf(300)), { fin: false }),
      cframe(9, "ping!"),
      cframe(0, utf8("tail")),
      cframe(2, bytesOf(16_450, 3)),
      cframe(1, "hi"),
      cframe(8, closeBody(1000, "bye")),
    ]);
    const expected = run([stream]);
    let acquired = 0;
    for (let i = 1; i < stream.length; i++) acquired += check(stream, [i], 65536, expected);
    assert.ok(acquired > 0, "the pool was used");
  });

  it("reuse one buffer for consecutive large messages, and take back outgrown ones", () => {
    const big = concat([cframe(2, bytesOf(70_000, 5)), cframe(2, bytesOf(70_000, 9)), cframe(2, bytesOf(70_000, 11))]);
    const got = feed(big, [], "in-place", 65536);
    assert.deepEqual(got.events, run([big]).events);
    assert.equal(got.buffers.out.size, 0, "every buffer is back");
    assert.equal(got.buffers.free.length, 1, "one buffer served all three messages");
    assert.equal(got.buffers.announced, 3);
    // A fragmented message that outgrows its first buffer: the outgrown one is released.
    const parts = [cframe(2, bytesOf(20_000, 3), { fin: false })];
    for (let i = 0; i < 6; i++) parts.push(cframe(0, bytesOf(400_000, i + 2), { fin: i === 5 }));
    const fragmented = concat(parts);
    const grown = feed(fragmented, [], "lent", 65536);
    assert.deepEqual(grown.events, run([fragmented]).events);
    assert.ok(grown.buffers.released > 0, "outgrown buffers were released");
    assert.equal(grown.buffers.out.size, 0);
  });

  it("never gives back a buffer the connection dropped mid-message", () => {
    const stream = cframe(2, bytesOf(100_000, 3)).subarray(0, 50_000);
    const got = feed(stream, [], "in-place", 65536);
    assert.equal(got.buffers.released, 0);
    assert.equal(got.buffers.out.size, 1, "the half-read message's buffer stays the engine's (then the GC's)");
  });

  it("the assembler takes a join's buffer from the pool too (messages from owned chunks)", () => {
    const buffers = new RecyclingBuffers();
    const a = new MessageAssembler((n) => new Uint8Array(n), undefined, buffers);
    a.begin(2, 0, false);
    a.add(Uint8Array.of(1, 2), 0, 2, false);
    a.add(Uint8Array.of(3), 0, 1, true);
    assert.ok(a.finish());
    assert.deepEqual([...a.view()], [1, 2, 3]);
    assert.equal(buffers.acquired, 1);
    assert.ok(buffers.out.has(a.chunk.buffer));
    assert.ok(a.owned, "a join is the message's own");
    // One piece: the payload is the input chunk itself, not the message's own.
    const input = Uint8Array.of(9, 8, 7);
    a.begin(2, 0, false);
    a.add(input, 0, 3, true);
    assert.ok(a.finish());
    assert.equal(a.chunk, input);
    assert.ok(!a.owned);
    assert.equal(buffers.acquired, 1);
  });
});

describe("messageBuffers: a message queued behind another event", () => {
  it("is not announced, and its buffer never comes back: intact when its handler runs", () => {
    const buffers = new RecyclingBuffers();
    const joined = (seed: number) =>
      concat([cframe(2, bytesOf(40_000, seed), { fin: false }), cframe(0, bytesOf(40_000, seed + 1))]);
    const expected = concat([bytesOf(40_000, 3), bytesOf(40_000, 4)]);
    const got: Array<{ type: string; intact?: boolean; lending: boolean }> = [];
    const engine: TestEngine = testEngine({
      role: "server",
      messageBuffers: buffers,
      onEvent: (e) => {
        const bytes = payloadOf(e);
        got.push({
          type: e.type,
          lending: buffers.lending !== null,
          intact: bytes === null ? undefined : sameBytes(bytes),
        });
        // Input fed from inside a listener of an event raised outside any read (a local close; a
        // Duplex that pushes synchronously): its message waits behind this event. Then another
        // message, read once nothing is being dispatched.
        if (e.type === "closing") engine.receiveData(joined(3));
        if (got.length === 2) buffers.fill(); // the host reuses whatever it has back
      },
    });
    const sameBytes = (b: Uint8Array) => b.length === expected.length && b.every((x, i) => x === expected[i]);
    engine.close(1000);
    engine.receiveData(joined(3));
    assert.deepEqual(got, [
      { type: "closing", lending: false, intact: undefined },
      { type: "binary", lending: false, intact: true },
      { type: "binary", lending: true, intact: true },
    ]);
    assert.equal(buffers.announced, 1, "only the message dispatched at once");
    assert.equal(buffers.out.size, 1, "the queued message's buffer stays out (the GC's)");
  });
});

describe("messageBuffers without lend/dispatched (optional)", () => {
  it("a host with acquire and release alone gets the same events, nothing announced", () => {
    const stream = concat([cframe(2, bytesOf(70_000, 5)), cframe(1, "hi"), cframe(2, bytesOf(90_000, 3))]);
    let acquired = 0;
    const events: Plain[] = [];
    const engine = testEngine({
      role: "server",
      messageBuffers: {
        acquire: (size) => {
          acquired++;
          return new Uint8Array(size);
        },
        release: () => {},
      },
      onEvent: (e) => events.push(plain(e)),
    });
    feedAsSocket(engine, stream, [], "in-place", 65536);
    assert.deepEqual(events, run([stream]).events);
    assert.ok(acquired >= 2);
  });
});
