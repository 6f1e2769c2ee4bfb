/**
 * Fuzzing the RFC 6455 frame parser (src/protocol/frames/frame-parser.ts) directly, both roles:
 * streams of random frames (every opcode, reserved ones included, RSV bits, masked or not,
 * lengths at the 7/16/64-bit boundaries, announced lengths that lie), then mutated (flipped,
 * inserted, deleted bytes, truncation), and plain random bytes. Properties: `push` never throws;
 * the calls it makes are the same whatever the split (every index and byte by byte for short
 * inputs, random cuts for longer ones; payload pieces joined per frame, a whole message
 * reported as the three calls it stands for); after `frameError` it makes no call at all; the
 * frames it accepts are the frames an independent reader written from RFC 6455 5.2 sees.
 * Run length: fuzz-config.ts.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { ProtocolError } from "../../src/protocol/errors.js";
import { FrameParser, type FrameSink } from "../../src/protocol/frames/frame-parser.js";
import { hex } from "../helpers/bytes.js";
import { FrameReader, frame } from "../helpers/frames.js";
import { fuzzParams } from "./fuzz-config.js";

type Role = "server" | "client";

/** Records the sink's calls in a split-independent form. */
class Recorder implements FrameSink {
  readonly calls: string[] = [];
  #payload: string[] = [];
  #stopped = false;
  #after = 0;
  dataFrameStart(opcode: number, fin: boolean, rsv: number, length: number): void {
    this.#check();
    this.calls.push(`start ${opcode} ${fin} ${rsv} ${length}`);
    this.#payload = [];
  }
  dataFramePayload(chunk: Uint8Array, start: number, end: number): void {
    this.#check();
    assert.ok(end > start, "an empty payload piece");
    this.#payload.push(hex(chunk.subarray(start, end)));
  }
  dataFrameEnd(fin: boolean): void {
    this.#check();
    this.calls.push(`data ${this.#payload.join("")}`, `end ${fin}`);
    this.#payload = [];
  }
  dataMessage(opcode: number, chunk: Uint8Array, start: number, end: number): void {
    this.#check();
    // The contract: the same information as start + payload + end.
    this.calls.push(`start ${opcode} true 0 ${end - start}`, `data ${hex(chunk.subarray(start, end))}`, "end true");
  }
  controlFrame(opcode: number, payload: Uint8Array): void {
    this.#check();
    this.calls.push(`control ${opcode} ${hex(payload)}`);
  }
  frameError(error: ProtocolError): void {
    this.#check();
    this.calls.push(`error ${error.closeCode} ${error.code}`);
    this.#stopped = true;
  }
  #check(): void {
    if (this.#stopped) this.#after++;
    assert.equal(this.#after, 0, "a call after frameError");
  }
}

const LIMITS = { maxPayload: 70_000, maxFragments: 8 };

/** Parse `bytes` cut at `cuts` (a fresh copy: the parser unmasks in place). */
function parse(bytes: Uint8Array, cuts: readonly number[], role: Role, wholeMessages: boolean): string[] {
  const recorder = new Recorder();
  const parser = new FrameParser({ role, rsvAllowed: 0x40, wholeMessages, ...LIMITS }, recorder);
  let at = 0;
  for (const cut of [...cuts, bytes.length]) {
    if (cut <= at || cut > bytes.length) continue;
    parser.push(new Uint8Array(bytes.subarray(at, cut)));
    at = cut;
  }
  return recorder.calls;
}

const LENGTHS = [0, 1, 2, 3, 4, 5, 125, 126, 127, 128, 1000, 65535, 65536, 65537];

/** One frame from a spec: any opcode, flags, masking, a length near a boundary, maybe a lie. */
const frameArb = fc
  .record({
    opcode: fc.oneof(fc.constantFrom(0, 1, 2, 8, 9, 10), fc.integer({ min: 0, max: 15 })),
    fin: fc.boolean(),
    rsv: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, fc.integer({ min: 0, max: 7 })),
    masked: fc.boolean(),
    length: fc.oneof(fc.constantFrom(...LENGTHS), fc.nat(300)),
    lengthBits: fc.constantFrom<7 | 16 | 64 | undefined>(undefined, undefined, undefined, 16, 64),
    lie: fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, fc.integer({ min: 0, max: 2 ** 20 })),
    fill: fc.integer({ min: 0, max: 255 }),
  })
  .map((f) => {
    const payload = new Uint8Array(f.length).fill(f.fill);
    const lengthBits =
      f.lengthBits === 7 || (f.lengthBits === 16 && f.length > 65535) || f.lie !== undefined ? undefined : f.lengthBits;
    return frame(f.opcode, payload, {
      fin: f.fin,
      rsv: f.rsv,
      mask: f.masked ? true : undefined,
      lengthBits,
      announce: f.lie,
    });
  });

/** Mutations: flip, insert, delete bytes, truncate. */
const mutated = (base: fc.Arbitrary<Uint8Array>) =>
  fc
    .tuple(
      base,
      fc.array(fc.tuple(fc.constantFrom("flip", "insert", "delete"), fc.nat(), fc.integer({ min: 0, max: 255 })), {
        maxLength: 4,
      }),
      fc.option(fc.nat(), { nil: undefined }),
    )
    .map(([bytes, edits, cut]) => {
      const out = [...bytes];
      for (const [kind, at, value] of edits) {
        if (out.length === 0) break;
        const i = at % out.length;
        if (kind === "flip") out[i] = value;
        else if (kind === "insert") out.splice(i, 0, value);
        else out.splice(i, 1);
      }
      return Uint8Array.from(cut === undefined ? out : out.slice(0, cut % (out.length + 1)));
    });

const streamArb = fc.array(frameArb, { minLength: 1, maxLength: 6 }).map((frames) => {
  const total = frames.reduce((n, f) => n + f.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const f of frames) {
    out.set(f, at);
    at += f.length;
  }
  return out;
});

const inputArb = fc.oneof(streamArb, mutated(streamArb), fc.uint8Array({ maxLength: 400 }));

describe("fuzz: the frame parser", () => {
  it("never throws and makes the same calls whatever the split, in both roles", () => {
    fc.assert(
      fc.property(
        inputArb,
        fc.constantFrom<Role>("server", "client"),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 8 }),
        (bytes, role, whole, cuts) => {
          const reference = parse(bytes, [], role, whole);
          const sorted = cuts.map((c) => c % (bytes.length + 1)).sort((a, b) => a - b);
          assert.deepEqual(parse(bytes, sorted, role, whole), reference, "random cuts");
          if (bytes.length <= 200) {
            for (let i = 1; i < bytes.length; i++)
              assert.deepEqual(parse(bytes, [i], role, whole), reference, `split at ${i}`);
            const everyByte = Array.from({ length: bytes.length }, (_, i) => i);
            assert.deepEqual(parse(bytes, everyByte, role, whole), reference, "byte by byte");
          }
        },
      ),
      fuzzParams(300),
    );
  });

  it("accepts exactly the frames that an independent RFC 6455 reader sees, until its first error", () => {
    fc.assert(
      fc.property(streamArb, fc.constantFrom<Role>("server", "client"), (bytes, role) => {
        const calls = parse(bytes, [], role, false);
        const frames = new FrameReader().push(new Uint8Array(bytes));
        let f = 0;
        for (let i = 0; i < calls.length; i++) {
          const call = calls[i]!;
          if (call.startsWith("error")) return;
          const wire = frames[f++];
          // A data frame's start is reported from its header (payload streams after it): the
          // input may end inside that frame's payload (an announced length that lies), which
          // the reader does not count as a frame. Only the last call may be such a start.
          if (wire === undefined && call.startsWith("start") && i === calls.length - 1) return;
          assert.ok(wire, `a call without a frame: ${call}`);
          const payload = hex(wire.payload);
          if (call.startsWith("control")) {
            assert.equal(call, `control ${wire.opcode} ${payload}`);
          } else {
            assert.equal(call, `start ${wire.opcode} ${wire.fin} ${wire.rsv << 4} ${wire.payload.length}`);
            assert.equal(calls[++i], `data ${payload}`);
            assert.equal(calls[++i], `end ${wire.fin}`);
          }
        }
      }),
      fuzzParams(500),
    );
  });
});
