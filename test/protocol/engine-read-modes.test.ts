/**
 * The engine's two read modes for hosts that do not hand over fresh buffers (engine.ts
 * `receiveLent`, `readTarget`; the Node layer's read-path.ts drives them):
 * - lent input: each chunk is valid only during the call (the test overwrites it right after),
 *   so whatever outlives the call must have been copied;
 * - in place: while a large frame's payload is awaited, the bytes are written straight into
 *   the view `readTarget()` returns and handed back with `receiveData(view)`.
 * Both must report exactly what `receiveData` with fresh chunks reports, however the stream is
 * cut (every byte, random cuts), and events must keep their bytes after the call.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { FIRST_RESERVE } from "../../src/protocol/message-assembler.js";
import type { EngineEvent, EngineOptions } from "../../src/protocol/types.js";
import { concat, hex, utf8 } from "../helpers/bytes.js";
import { cframe, closeBody, frame } from "../helpers/frames.js";
import { feedAsSocket, type Plain, plain, run, testEngine } from "./helpers/engine-run.js";

/** What a read mode reported: events read during dispatch, their bytes read again at the end, the output. */
interface ModeResult {
  events: Plain[];
  /** The same events' bytes looked at after all input was overwritten: must be unchanged. */
  later: Plain[];
  output: string;
}

/** An event's bytes, kept to be looked at later (a text event's `bytes` is taken during dispatch). */
function keep(e: EngineEvent): () => Plain {
  if (e.type === "text") {
    const bytes = e.bytes;
    return () => ({ type: "text", data: Buffer.from(bytes).toString("utf8") });
  }
  return () => plain(e);
}

/**
 * Feed `stream` as a socket would deliver it: bytes become available at each of `arrivals`
 * (offsets), and each read takes what is available, at most the read buffer's size. `mode`:
 * "lent" reads into one reused buffer of `readSize` bytes; "in-place" also asks `readTarget()`
 * first and reads into it when it offers a view.
 */
function feed(
  stream: Uint8Array,
  arrivals: readonly number[],
  mode: "lent" | "in-place",
  readSize: number,
  options: Partial<EngineOptions> = {},
): ModeResult {
  const events: Plain[] = [];
  const keepers: Array<() => Plain> = [];
  const engine = testEngine({
    role: "server",
    ...options,
    onEvent: (e) => {
      events.push(plain(e));
      keepers.push(keep(e));
    },
  });
  const output = feedAsSocket(engine, stream, arrivals, mode, readSize);
  return { events, later: keepers.map((k) => k()), output: hex(concat(output)) };
}

/** The reference: fresh chunks through receiveData (cut at the same arrivals). */
function reference(stream: Uint8Array, options: Partial<EngineOptions> = {}): { events: Plain[]; output: string } {
  const r = run([stream], options);
  return { events: r.events, output: r.output };
}

function assertSame(
  stream: Uint8Array,
  arrivals: number[],
  readSize: number,
  options: Partial<EngineOptions> = {},
  expected = reference(stream, options),
) {
  for (const mode of ["lent", "in-place"] as const) {
    const got = feed(stream, arrivals, mode, readSize, options);
    const where = `${mode}, arrivals ${arrivals.join(",")}, reads of ${readSize}`;
    assert.deepEqual(got.events, expected.events, where);
    assert.equal(got.output, expected.output, where);
    // Bytes kept from events are the bytes reported during dispatch.
    const during = got.events.filter((e) => ["text", "binary", "ping", "pong"].includes(e.type as string));
    const after = got.later.filter((e) => ["text", "binary", "ping", "pong"].includes(e.type as string));
    assert.deepEqual(after, during, `${where}: event bytes changed after the call`);
  }
}

const bytesOf = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * seed + (i >> 8)) & 0xff);
/** UTF-8 text of about `n` bytes with 2-, 3- and 4-byte characters (cut anywhere by reads). */
const textOf = (n: number) => "aé€😀".repeat(Math.ceil(n / 10)).slice(0, Math.ceil(n / 2.5));

/** A stream with a frame above the in-place threshold (16 KiB), small frames around it, a ping and a close. */
function mixedStream(big: number): Uint8Array {
  return concat([
    cframe(1, "hi"),
    cframe(2, bytesOf(big, 7)),
    cframe(9, "ping!"),
    cframe(1, utf8(textOf(300)), { fin: false }),
    cframe(10, "pong"),
    cframe(0, utf8("tail")),
    cframe(2, bytesOf(40, 3)),
    cframe(8, closeBody(1000, "bye")),
  ]);
}

describe("engine read modes: lent input and reads in place", () => {
  it("agree with fresh chunks when the stream is cut at every byte", () => {
    const stream = mixedStream(16_500);
    const expected = reference(stream);
    for (let i = 1; i < stream.length; i++) assertSame(stream, [i], 65536, {}, expected);
  });

  it("agree with fresh chunks byte by byte around a large frame's header and end", () => {
    const stream = concat([cframe(1, "a"), cframe(2, bytesOf(20_000, 5)), cframe(1, "z")]);
    const arrivals = Array.from({ length: 40 }, (_, i) => i + 1).concat(
      Array.from({ length: 40 }, (_, i) => stream.length - 30 + i),
    );
    for (const size of [1, 7, 4096]) assertSame(stream, arrivals, size);
  });

  it("agree with fresh chunks on a large text message cut inside characters, fragmented", () => {
    const text = utf8(textOf(70_000));
    const stream = concat([
      cframe(1, text.subarray(0, 30_001), { fin: false }),
      cframe(9, "mid"),
      cframe(0, text.subarray(30_001)),
    ]);
    for (const size of [4096, 65536]) {
      for (const arrivals of [[], [5], [30_003], [30_013, 30_020], [40_000, 40_001, 40_002]]) {
        assertSame(stream, arrivals, size);
      }
    }
  });

  it("agree on failures: invalid UTF-8 inside a large text, a bad opcode after a large frame", () => {
    const bad = utf8(textOf(20_000));
    bad[18_000] = 0xff;
    assertSame(cframe(1, bad), [3, 17_999, 18_001], 4096);
    assertSame(concat([cframe(2, bytesOf(20_000, 9)), Uint8Array.of(0x83, 0x80, 1, 2, 3, 4)]), [10, 20_010], 65536);
  });

  it("agree with fresh chunks on random streams and random cuts (property)", () => {
    const message = fc.oneof(
      fc.record({ op: fc.constant(2), size: fc.oneof(fc.nat(200), fc.integer({ min: 16_000, max: 70_000 })) }),
      fc.record({ op: fc.constant(1), size: fc.oneof(fc.nat(200), fc.integer({ min: 16_000, max: 40_000 })) }),
      fc.record({ op: fc.constant(9), size: fc.nat(125) }),
    );
    fc.assert(
      fc.property(
        fc.array(fc.tuple(message, fc.nat(3)), { maxLength: 6 }),
        fc.array(fc.nat(300_000), { maxLength: 10 }),
        fc.constantFrom(1, 100, 4096, 65536),
        (messages, cuts, readSize) => {
          const parts: Uint8Array[] = [];
          for (const [{ op, size }, frames] of messages) {
            const payload = op === 1 ? utf8(textOf(size)) : bytesOf(size, size | 1);
            if (op === 9 || frames === 0) {
              parts.push(cframe(op, payload));
              continue;
            }
            // Fragmented: `frames + 1` frames.
            const step = Math.ceil(payload.length / (frames + 1)) || 1;
            for (let at = 0, i = 0; at < payload.length || i === 0; at += step, i++) {
              const end = Math.min(at + step, payload.length);
              parts.push(cframe(i === 0 ? op : 0, payload.subarray(at, end), { fin: end >= payload.length }));
            }
          }
          const stream = concat(parts);
          assertSame(
            stream,
            cuts.map((c) => c % (stream.length + 1)),
            readSize,
          );
        },
      ),
      { numRuns: 150 },
    );
  });

  it("offers a target only inside a large frame's payload, never past the frame's end", () => {
    const engine = testEngine({ role: "server", onEvent: () => {} });
    assert.equal(engine.readTarget(), null, "no frame yet");
    const big = cframe(2, bytesOf(50_000, 11));
    engine.receiveData(big.subarray(0, 1000));
    const target = engine.readTarget();
    assert.ok(target !== null);
    assert.equal(target.length, 50_000 - (1000 - 8), "exactly the rest of the frame (8 header bytes)");
    // A small frame's rest is read anywhere.
    const small = testEngine({ role: "server", onEvent: () => {} });
    small.receiveData(cframe(2, bytesOf(10_000, 3)).subarray(0, 100));
    assert.equal(small.readTarget(), null);
  });

  it("receiveLent answers how many bytes at its end began the payload whose rest readTarget offers", () => {
    const engine = testEngine({ role: "server", onEvent: () => {} });
    const big = cframe(2, bytesOf(100_000, 7)); // a 14-byte header (64-bit length, mask)
    const small = concat([cframe(1, "a"), cframe(2, bytesOf(300, 5)), cframe(9, "p")]);
    // Small frames, then the large frame's header and its payload's first 20,000 bytes.
    assert.equal(engine.receiveLent(Uint8Array.from(concat([small, big.subarray(0, 14 + 20_000)]))), 20_000);
    assert.equal(engine.readTarget()?.length, 80_000);
    // Read wholly inside that payload (its rest still offered): all of it.
    assert.equal(engine.receiveLent(Uint8Array.from(big.subarray(14 + 20_000, 14 + 40_000))), 20_000);
    // Its last bytes and the next large frame's header alone: a target is offered, no payload began.
    assert.equal(engine.receiveLent(Uint8Array.from(concat([big.subarray(14 + 40_000), big.subarray(0, 14)]))), 0);
    assert.equal(engine.readTarget()?.length, 100_000);
    // A payload whose rest is short (below 16 KiB: read anywhere, no target): 0.
    assert.equal(engine.receiveLent(Uint8Array.from(big.subarray(14, 14 + 90_000))), 0);
    assert.equal(engine.readTarget(), null);
    // Input held before open(): copied, no target, 0.
    const held = testEngine({ role: "client", startConnecting: true, onEvent: () => {} });
    assert.equal(held.receiveLent(Uint8Array.from(frame(2, bytesOf(50_000, 3)).subarray(0, 1000))), 0);
  });

  it("a frame announcing far more than was sent gets at most FIRST_RESERVE beyond what arrived", () => {
    const engine = testEngine({ role: "server", maxPayload: 0, onEvent: () => {} });
    const huge = frame(2, bytesOf(100, 1), { mask: true, announce: 512 * 1024 * 1024 });
    engine.receiveLent(huge.subarray(0, huge.length));
    const target = engine.readTarget();
    assert.ok(target !== null);
    assert.ok(
      target.byteOffset + target.length <= 2 * 100 + FIRST_RESERVE,
      `reserved ${target.byteOffset + target.length}`,
    );
    // Filling it grows the buffer geometrically: still bounded by twice what arrived plus FIRST_RESERVE.
    target.fill(1);
    engine.receiveData(target);
    const next = engine.readTarget();
    assert.ok(next !== null);
    const received = 100 + target.length;
    assert.ok(next.byteOffset + next.length <= 2 * received + FIRST_RESERVE);
  });

  it("rejects a length outside the lent chunk (RangeError): nothing is taken, nothing sent", () => {
    const events: Plain[] = [];
    const out: Uint8Array[] = [];
    const engine = testEngine({ role: "server", onEvent: (e) => events.push(plain(e)), onOutput: (c) => out.push(c) });
    const lent = Uint8Array.from(cframe(1, "hi"));
    for (const length of [-3, lent.length + 1, 2.5, Number.NaN]) {
      assert.throws(() => engine.receiveLent(lent, length), RangeError, String(length));
    }
    assert.deepEqual([events, out], [[], []]);
    engine.receiveLent(lent, lent.length);
    assert.deepEqual(events, [{ type: "text", data: "hi" }]);
  });

  it("lent input before open() is kept as a copy", () => {
    const events: Plain[] = [];
    const engine = testEngine({ role: "client", startConnecting: true, onEvent: (e) => events.push(plain(e)) });
    const lent = Uint8Array.from(frame(1, "held"));
    engine.receiveLent(lent);
    lent.fill(0);
    engine.open();
    assert.deepEqual(events.slice(-1), [{ type: "text", data: "held" }]);
  });

  it("a long text echoed from lent input goes out as its own bytes", () => {
    const text = "x".repeat(5000);
    const out: Uint8Array[] = [];
    const engine = testEngine({
      role: "server",
      onOutput: (chunk) => out.push(chunk),
      onEvent: (e) => {
        if (e.type === "text") engine.send(e.data);
      },
    });
    const lent = Uint8Array.from(cframe(1, text));
    engine.receiveLent(lent);
    lent.fill(0x21);
    assert.equal(Buffer.from(concat(out)).subarray(4).toString(), text);
  });
});
