/**
 * The output arena (EngineOptions `arena`, host.outputRange): short frames written straight into
 * a shared slab and reported as ranges must produce exactly the bytes, in exactly the order, of
 * the chunk path, interleaved correctly with long frames that still come as chunks.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { OutputArena } from "../../src/protocol/types.js";
import { concat, hex } from "../helpers/bytes.js";
import { frame } from "../helpers/frames.js";
import { fixedKeyFill, testEngine } from "./helpers/engine-run.js";

/** A small arena (slab of `size` bytes) that records how often it started a new slab. */
class TestArena implements OutputArena {
  bytes: Uint8Array;
  readonly maxReserve: number;
  slabs = 1;
  #used = 0;
  readonly #size: number;
  constructor(size: number, maxReserve: number) {
    this.#size = size;
    this.maxReserve = maxReserve;
    this.bytes = new Uint8Array(size);
  }
  reserve(n: number): number {
    assert.ok(n <= this.maxReserve, `reserve(${n}) above maxReserve`);
    if (this.#used + n > this.#size) {
      this.bytes = new Uint8Array(this.#size);
      this.#used = 0;
      this.slabs++;
    }
    const at = this.#used;
    this.#used += n;
    return at;
  }
}

type Op = { kind: "text"; s: string } | { kind: "binary"; n: number } | { kind: "ping" };

/** Run the same operations on an engine with and without an arena; return both outputs. */
function runBoth(role: "server" | "client", ops: Op[], arena: TestArena) {
  const plain: Uint8Array[] = [];
  const ranged: Uint8Array[] = [];
  const make = (withArena: boolean) =>
    testEngine({
      role,
      randomFill: fixedKeyFill(Uint8Array.of(1, 2, 3, 4)),
      onOutput: (chunk) => (withArena ? ranged : plain).push(chunk.slice()),
      onOutputRange: (bytes, start, end) => {
        assert.ok(withArena, "a range without an arena");
        ranged.push(bytes.slice(start, end));
      },
      arena: withArena ? arena : undefined,
      onEvent: () => {},
    });
  for (const engine of [make(false), make(true)]) {
    for (const op of ops) {
      if (op.kind === "text") engine.send(op.s);
      else if (op.kind === "binary") engine.send(new Uint8Array(op.n).fill(op.n & 0xff));
      else engine.ping("p");
    }
  }
  return { plain: concat(plain), ranged: concat(ranged) };
}

describe("output arena", () => {
  it("gives the same bytes as the chunk path for any mix of short and long frames (server and client)", () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant("text" as const), s: fc.string({ maxLength: 200 }) }),
      fc.record({ kind: fc.constant("text" as const), s: fc.string({ unit: "grapheme", maxLength: 50 }) }),
      fc.record({
        kind: fc.constant("binary" as const),
        n: fc.oneof(fc.nat(300), fc.integer({ min: 1000, max: 9000 })),
      }),
      fc.record({ kind: fc.constant("ping" as const) }),
    );
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 30 }),
        fc.constantFrom("server" as const, "client" as const),
        (ops, role) => {
          const { plain, ranged } = runBoth(role, ops, new TestArena(512, 256));
          assert.deepEqual(ranged, plain);
        },
      ),
    );
  });

  it("writes a turn's short frames back to back in the slab, starting a new slab when one is full", () => {
    const arena = new TestArena(64, 32);
    const ranges: Array<[Uint8Array, number, number]> = [];
    const e = testEngine({
      role: "server",
      arena,
      onOutput: () => assert.fail("short frames must use the arena"),
      onOutputRange: (bytes, start, end) => ranges.push([bytes, start, end]),
    });
    for (let i = 0; i < 10; i++) e.send(`message ${i}`); // 2 + 9 bytes each
    assert.equal(ranges.length, 10);
    for (let i = 1; i < ranges.length; i++) {
      const [prev, , prevEnd] = ranges[i - 1]!;
      const [bytes, start] = ranges[i]!;
      if (bytes === prev) assert.equal(start, prevEnd, "adjacent in the same slab");
      else assert.equal(start, 0, "a new slab starts at 0");
    }
    assert.ok(arena.slabs > 1);
    const text = ranges.map(([b, s, t]) => Buffer.from(b.subarray(s + 2, t)).toString());
    assert.deepEqual(
      text,
      Array.from({ length: 10 }, (_, i) => `message ${i}`),
    );
  });

  it("echoes a received text through the arena (the echo shortcut) byte-exact", () => {
    const arena = new TestArena(4096, 1024);
    const out: Uint8Array[] = [];
    const e = testEngine({
      role: "server",
      arena,
      onOutput: (chunk) => out.push(chunk.slice()),
      onOutputRange: (bytes, start, end) => out.push(bytes.slice(start, end)),
      onEvent(event) {
        if (event.type === "text") e.send(event.data);
      },
    });
    e.receiveData(concat([frame(1, "héllo wörld", { mask: true }), frame(1, "ascii only", { mask: true })]));
    assert.deepEqual(concat(out), concat([frame(1, "héllo wörld"), frame(1, "ascii only")]));
  });

  it("keeps output sent while CONNECTING (copied out of the arena) until open()", () => {
    const arena = new TestArena(64, 32);
    const out: Uint8Array[] = [];
    const e = testEngine({
      role: "server",
      startConnecting: true,
      arena,
      onOutput: (chunk) => out.push(chunk.slice()),
      onOutputRange: (bytes, start, end) => out.push(bytes.slice(start, end)),
    });
    e.send("early");
    assert.equal(out.length, 0);
    arena.bytes.fill(0); // the slab's bytes may be reused by the host once handed over
    e.open();
    assert.equal(hex(concat(out)), hex(frame(1, "early")));
  });

  it("without an arena every frame comes as a chunk", () => {
    const e = testEngine({ role: "server", arena: new TestArena(64, 32) });
    e.send("queued");
    assert.equal(hex(concat(e.takeOutput())), hex(frame(1, "queued")));
  });
});
