/**
 * Frame parser: framing rules, each violation with its close code, and chunking invariance.
 * Driven through the engine (server role unless stated) with the independent frame builder.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { ProtocolError } from "../../../src/protocol/errors.js";
import { FrameParser, type FrameSink } from "../../../src/protocol/frames/frame-parser.js";
import { concat, fromHex } from "../../helpers/bytes.js";
import { cframe, closeBody, decodeFrames, frame } from "../../helpers/frames.js";
import { survivors } from "../../helpers/gc.js";
import { run, runAllSplits } from "../helpers/engine-run.js";

/** The close code the engine sent, with the error code reported. */
function verdict(bytes: Uint8Array, role: "server" | "client" = "server", options = {}) {
  const r = run([bytes], { role, ...options });
  const frames = decodeFrames(Buffer.from(r.output, "hex"));
  const close = frames.find((f) => f.opcode === 8);
  const code = close && close.payload.length >= 2 ? (close.payload[0] << 8) | close.payload[1] : undefined;
  const error = r.events.find((e) => e.type === "error")?.code;
  return { code, error, events: r.events };
}

describe("frame parser: violations (RFC 6455 5.2-5.5)", () => {
  const cases: Array<[string, Uint8Array, number, string, ("server" | "client")?]> = [
    ["reserved data opcode 3", cframe(3), 1002, "BAD_OPCODE"],
    ["reserved data opcode 7", cframe(7), 1002, "BAD_OPCODE"],
    ["reserved control opcode 0xB", cframe(0xb), 1002, "BAD_OPCODE"],
    ["reserved control opcode 0xF", cframe(0xf), 1002, "BAD_OPCODE"],
    ["unmasked frame to a server", frame(1, "hi"), 1002, "BAD_MASKING"],
    ["masked frame to a client", cframe(1, "hi"), 1002, "BAD_MASKING", "client"],
    ["RSV1 without an extension", cframe(1, "hi", { rsv: 4 }), 1002, "BAD_RSV"],
    ["RSV2 without an extension", cframe(2, "hi", { rsv: 2 }), 1002, "BAD_RSV"],
    ["RSV3 on a ping", cframe(9, "", { rsv: 1 }), 1002, "BAD_RSV"],
    ["fragmented ping", cframe(9, "x", { fin: false }), 1002, "CONTROL_FRAME_FRAGMENTED"],
    ["ping of 126 bytes", cframe(9, new Uint8Array(126)), 1002, "CONTROL_FRAME_TOO_LONG"],
    ["continuation with nothing to continue", cframe(0, "x"), 1002, "UNEXPECTED_CONTINUATION"],
    [
      "new text frame inside a fragmented message",
      concat([cframe(1, "a", { fin: false }), cframe(1, "b")]),
      1002,
      "EXPECTED_CONTINUATION",
    ],
    [
      "16-bit length below 126 (not minimal)",
      cframe(2, new Uint8Array(125), { lengthBits: 16 }),
      1002,
      "LENGTH_NOT_MINIMAL",
    ],
    [
      "64-bit length below 65536 (not minimal)",
      cframe(2, new Uint8Array(200), { lengthBits: 64 }),
      1002,
      "LENGTH_NOT_MINIMAL",
    ],
    ["64-bit length with the top bit set", fromHex("82ff8000000000000000 37fa213d"), 1009, "LENGTH_TOO_LARGE"],
    ["64-bit length of 2^53", fromHex("82ff0020000000000000 37fa213d"), 1009, "LENGTH_TOO_LARGE"],
    ["close body of one byte", cframe(8, Uint8Array.of(3)), 1002, "INVALID_CLOSE_PAYLOAD"],
    ["close code 1005", cframe(8, closeBody(1005)), 1002, "INVALID_CLOSE_CODE"],
    ["invalid UTF-8 text", cframe(1, fromHex("cebae1bdb9cf83cebcceb5eda080656469746564")), 1007, "INVALID_UTF8"],
    ["text ending mid-character", cframe(1, fromHex("e282")), 1007, "INVALID_UTF8"],
  ];
  for (const [name, bytes, code, error, role] of cases) {
    it(`${name}: ${code} ${error}`, () => {
      const v = verdict(bytes, role);
      assert.equal(v.code, code);
      assert.equal(v.error, error);
      const types = v.events.map((e) => e.type);
      assert.deepEqual(types, ["error", "closing", "close"]);
    });
  }

  it("reports the same verdict whatever the chunking", () => {
    for (const [, bytes, , error, role] of cases) {
      const results = runAllSplits(bytes, { role: role ?? "server" });
      for (const r of results) assert.deepEqual(r.events, results[0].events, error);
      for (const r of results) assert.equal(r.output, results[0].output, error);
    }
  });

  it("stops processing after a violation (RFC 6455 7.1.7)", () => {
    const r = run([concat([cframe(3), cframe(1, "after")])]);
    assert.equal(
      r.events.some((e) => e.type === "text"),
      false,
    );
  });
});

describe("frame parser: streaming and zero-copy", () => {
  class Recorder implements FrameSink {
    calls: unknown[] = [];
    pieces: Uint8Array[] = [];
    dataFrameStart(opcode: number, fin: boolean, rsv: number, length: number) {
      this.calls.push(["start", opcode, fin, rsv, length]);
    }
    asciiFlags: boolean[] = [];
    dataFramePayload(chunk: Uint8Array, start: number, end: number, last: boolean, ascii: boolean) {
      this.pieces.push(chunk.subarray(start, end));
      this.calls.push(["piece", end - start, last]);
      this.asciiFlags.push(ascii);
    }
    dataFrameEnd(fin: boolean) {
      this.calls.push(["end", fin]);
    }
    dataMessage(): void {
      throw new Error("not asked for (wholeMessages is off)");
    }
    controlFrame(opcode: number, payload: Uint8Array) {
      this.calls.push(["control", opcode, payload.length]);
    }
    frameError(error: ProtocolError) {
      this.calls.push(["error", error.code]);
    }
  }
  const options = { role: "client" as const, maxPayload: 0, maxFragments: 0, rsvAllowed: 0 };

  it("hands a payload that sits in one chunk as a view of that chunk (no copy)", () => {
    const sink = new Recorder();
    const parser = new FrameParser(options, sink);
    const input = frame(2, new Uint8Array(1000).fill(5));
    parser.push(input);
    assert.equal(sink.pieces.length, 1);
    assert.equal(sink.pieces[0].buffer, input.buffer);
    assert.deepEqual(sink.calls, [
      ["start", 2, true, 0, 1000],
      ["piece", 1000, true],
      ["end", true],
    ]);
  });

  it("flags short masked pieces that unmask to pure ASCII (and only those)", () => {
    const sink = new Recorder();
    const parser = new FrameParser({ ...options, role: "server" }, sink);
    parser.push(frame(1, "plain ascii text", { mask: true }));
    parser.push(frame(1, "caf\u00e9", { mask: true }));
    parser.push(frame(2, new Uint8Array(200).fill(0x41), { mask: true })); // long: not checked
    assert.deepEqual(sink.asciiFlags, [true, false, false]);
    const client = new Recorder();
    new FrameParser(options, client).push(frame(1, "unmasked"));
    assert.deepEqual(client.asciiFlags, [false]); // unmasked frames are not scanned
  });

  it("streams a payload split across chunks piece by piece, before the frame is complete", () => {
    const sink = new Recorder();
    const parser = new FrameParser(options, sink);
    const input = frame(2, new Uint8Array(300).fill(1));
    parser.push(input.subarray(0, 100));
    assert.deepEqual(sink.calls, [
      ["start", 2, true, 0, 300],
      ["piece", 96, false],
    ]);
    parser.push(input.subarray(100));
    assert.deepEqual(sink.calls.slice(2), [
      ["piece", 204, true],
      ["end", true],
    ]);
    assert.equal(parser.buffered, 0);
  });

  it("delivers a control frame whole even when split, and empty frames too", () => {
    const sink = new Recorder();
    const parser = new FrameParser(options, sink);
    const bytes = concat([frame(9, "abc"), frame(2), frame(10)]);
    for (let i = 0; i < bytes.length; i++) parser.push(bytes.subarray(i, i + 1));
    assert.deepEqual(sink.calls, [
      ["control", 9, 3],
      ["start", 2, true, 0, 0],
      ["end", true],
      ["control", 10, 0],
    ]);
  });
});

describe("frame parser: whole short messages in one call (FrameSink.dataMessage)", () => {
  class WholeRecorder implements FrameSink {
    calls: unknown[] = [];
    texts: string[] = [];
    dataFrameStart(opcode: number, fin: boolean) {
      this.calls.push(["start", opcode, fin]);
    }
    dataFramePayload(_chunk: Uint8Array, start: number, end: number, last: boolean) {
      this.calls.push(["piece", end - start, last]);
    }
    dataFrameEnd(fin: boolean) {
      this.calls.push(["end", fin]);
    }
    dataMessage(opcode: number, chunk: Uint8Array, start: number, end: number, ascii: boolean) {
      this.calls.push(["whole", opcode, end - start, ascii]);
      this.texts.push(Buffer.from(chunk.subarray(start, end)).toString());
    }
    controlFrame(opcode: number) {
      this.calls.push(["control", opcode]);
    }
    frameError(error: ProtocolError) {
      this.calls.push(["error", error.code]);
    }
  }
  const server = { role: "server" as const, maxPayload: 0, maxFragments: 0, rsvAllowed: 0, wholeMessages: true };

  it("takes unfragmented text and binary frames found whole in a chunk, unmasked, with the ASCII flag", () => {
    const sink = new WholeRecorder();
    const parser = new FrameParser(server, sink);
    parser.push(
      concat([cframe(1, "hello"), cframe(2, "bin"), cframe(1, "caf\u00e9"), cframe(1, ""), cframe(1, "x".repeat(125))]),
    );
    assert.deepEqual(sink.calls, [
      ["whole", 1, 5, true],
      ["whole", 2, 3, true],
      ["whole", 1, 5, false],
      ["whole", 1, 0, false],
      ["whole", 1, 125, true],
    ]);
    assert.deepEqual(sink.texts, ["hello", "bin", "caf\u00e9", "", "x".repeat(125)]);
    assert.equal(parser.buffered, 0);
  });

  it("leaves everything else to the general path: 16-bit lengths, fragments, RSV, control frames, splits", () => {
    const sink = new WholeRecorder();
    const parser = new FrameParser({ ...server, rsvAllowed: 0x40 }, sink);
    const long = cframe(1, "y".repeat(126));
    parser.push(
      concat([long, cframe(1, "frag", { fin: false }), cframe(0, "ment"), cframe(1, "z", { rsv: 4 }), cframe(9, "p")]),
    );
    const split = cframe(2, "split");
    parser.push(split.subarray(0, 4));
    parser.push(split.subarray(4));
    assert.deepEqual(sink.calls, [
      ["start", 1, true],
      ["piece", 126, true],
      ["end", true],
      ["start", 1, false],
      ["piece", 4, true],
      ["end", false],
      ["start", 0, true],
      ["piece", 4, true],
      ["end", true],
      ["start", 1, true],
      ["piece", 1, true],
      ["end", true],
      ["control", 9],
      ["start", 2, true],
      ["piece", 5, true],
      ["end", true],
    ]);
  });

  it("still applies maxPayload and masking rules (the general path reports them)", () => {
    const big = new WholeRecorder();
    new FrameParser({ ...server, maxPayload: 4 }, big).push(cframe(1, "hello"));
    assert.deepEqual(big.calls, [["error", "MESSAGE_TOO_BIG"]]);
    const unmasked = new WholeRecorder();
    new FrameParser(server, unmasked).push(frame(1, "hello"));
    assert.deepEqual(unmasked.calls, [["error", "BAD_MASKING"]]);
    const client = new WholeRecorder();
    new FrameParser({ ...server, role: "client" }, client).push(frame(1, "hi"));
    assert.deepEqual(client.calls, [["whole", 1, 2, false]]); // unmasked frames are not scanned for ASCII
  });
});

describe("frame parser: a chunk's first `length` bytes (push(chunk, length), the host's whole read buffer)", () => {
  /** Every call with the bytes it hands over (copied at once: the input is reused). */
  class ByteRecorder implements FrameSink {
    calls: unknown[] = [];
    dataFrameStart(opcode: number, fin: boolean, rsv: number, length: number) {
      this.calls.push(["start", opcode, fin, rsv, length]);
    }
    dataFramePayload(chunk: Uint8Array, start: number, end: number, last: boolean, ascii: boolean) {
      this.calls.push(["piece", Buffer.from(chunk.subarray(start, end)).toString("hex"), last, ascii]);
    }
    dataFrameEnd(fin: boolean) {
      this.calls.push(["end", fin]);
    }
    dataMessage(opcode: number, chunk: Uint8Array, start: number, end: number, ascii: boolean) {
      this.calls.push(["whole", opcode, Buffer.from(chunk.subarray(start, end)).toString("hex"), ascii]);
    }
    controlFrame(opcode: number, payload: Uint8Array) {
      this.calls.push(["control", opcode, Buffer.from(payload).toString("hex")]);
    }
    frameError(error: ProtocolError) {
      this.calls.push(["error", error.code]);
    }
  }
  const server = { role: "server" as const, maxPayload: 0, maxFragments: 0, rsvAllowed: 0, wholeMessages: true };
  // Short masked texts (the word-unmasking path at both alignments), a 16-bit length, a fragmented
  // message around a ping, binary, a close.
  const stream = concat([
    cframe(1, "x".repeat(64)),
    cframe(1, "y".repeat(40)),
    cframe(2, new Uint8Array(300).fill(7)),
    cframe(1, "frag", { fin: false }),
    cframe(9, "ping"),
    cframe(0, "ment"),
    cframe(1, "caf\u00e9 ".repeat(10)),
    cframe(8, closeBody(1000, "bye")),
  ]);
  /** `bytes` in a reused buffer larger than them, followed by bytes that look like frames. */
  const readBuffer = new Uint8Array(stream.length + 64);
  function pushAsRead(parser: FrameParser, bytes: Uint8Array): void {
    readBuffer.set(bytes, 0);
    readBuffer.fill(0x81, bytes.length);
    parser.push(readBuffer, bytes.length);
    parser.retain(); // as the engine does after lent input: what is left gets bytes of its own
    readBuffer.fill(0xee);
  }

  it("reports exactly what views of those bytes report, cut at every byte into one or two reads", () => {
    for (let i = 0; i <= stream.length; i++) {
      const reference = new ByteRecorder();
      const viewed = new FrameParser(server, reference);
      viewed.push(stream.slice(0, i));
      viewed.push(stream.slice(i));
      const sink = new ByteRecorder();
      const parser = new FrameParser(server, sink);
      pushAsRead(parser, stream.subarray(0, i));
      pushAsRead(parser, stream.subarray(i));
      assert.deepEqual(sink.calls, reference.calls, `cut at ${i}`);
      assert.equal(parser.buffered, 0);
    }
  });

  it("keeps each buffered chunk's own end when several wait (a header cut over three reads)", () => {
    const third = 64 + 6 + 40 + 6; // the 300-byte frame's header starts here (4 bytes, then its key)
    const cuts = [0, third + 1, third + 3, third + 6, stream.length];
    const reference = new ByteRecorder();
    const viewed = new FrameParser(server, reference);
    for (let i = 1; i < cuts.length; i++) viewed.push(stream.slice(cuts[i - 1], cuts[i]));
    const sink = new ByteRecorder();
    const parser = new FrameParser(server, sink);
    // Owned chunks, each followed by stale bytes past its length: none is parsed.
    const owned = (from: number, to: number) => {
      const chunk = new Uint8Array(to - from + 8).fill(0x82);
      chunk.set(stream.subarray(from, to), 0);
      parser.push(chunk, to - from);
    };
    for (let i = 1; i < cuts.length; i++) owned(cuts[i - 1], cuts[i]);
    assert.deepEqual(sink.calls, reference.calls);
    assert.equal(reference.calls.length, 14);
  });

  it("reports what fresh chunks report for random streams, cuts, alignments and stale bytes (property)", () => {
    // A frame: [kind, payload]; kinds 0-1 whole texts/binaries, 2 a fragmented message with a ping
    // inside, masked with random keys (short pieces at every phase: the word path and the byte path).
    const frameArb = fc.tuple(
      fc.nat(2),
      fc.uint8Array({ maxLength: 300 }),
      fc.uint8Array({ minLength: 4, maxLength: 4 }),
    );
    fc.assert(
      fc.property(
        fc.array(frameArb, { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        fc.nat(3),
        fc.uint8Array({ minLength: 64, maxLength: 64 }),
        (frames, cutSeeds, offset, stale) => {
          const parts: Uint8Array[] = [];
          for (const [kind, payload, key] of frames) {
            if (kind < 2) parts.push(cframe(kind + 1, payload, { mask: key }));
            else {
              const half = payload.length >> 1;
              parts.push(cframe(2, payload.subarray(0, half), { mask: key, fin: false }));
              parts.push(cframe(9, payload.subarray(0, Math.min(half, 125)), { mask: key }));
              parts.push(cframe(0, payload.subarray(half), { mask: key }));
            }
          }
          const bytes = concat(parts);
          const cuts = [...new Set(cutSeeds.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
          const bounds = [0, ...cuts, bytes.length];
          const reference = new ByteRecorder();
          const fresh = new FrameParser(server, reference);
          const sink = new ByteRecorder();
          const parser = new FrameParser(server, sink);
          // One read buffer for every read, at an offset (aligned or not), stale bytes past each read.
          const backing = new Uint8Array(offset + bytes.length + stale.length);
          const read = backing.subarray(offset);
          for (let i = 1; i < bounds.length; i++) {
            const piece = bytes.subarray(bounds[i - 1], bounds[i]);
            fresh.push(piece.slice());
            read.set(piece, 0);
            read.set(stale, piece.length);
            parser.push(read, piece.length);
            assert.deepEqual(read.subarray(piece.length, piece.length + stale.length), stale, "bytes past the length");
            parser.retain();
            read.fill(0xee);
          }
          assert.deepEqual(sink.calls, reference.calls);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("rejects a length outside the chunk (RangeError) before taking anything", () => {
    const sink = new ByteRecorder();
    const parser = new FrameParser(server, sink);
    const chunk = cframe(1, "y".repeat(40));
    for (const length of [-1, chunk.length + 1, 2.5, Number.NaN, 2 ** 32]) {
      assert.throws(() => parser.push(chunk, length), RangeError, String(length));
    }
    assert.equal(parser.buffered, 0);
    parser.push(chunk, chunk.length); // the parser is as before
    assert.deepEqual(sink.calls, [["whole", 1, Buffer.from("y".repeat(40)).toString("hex"), true]]);
  });

  it("keeps no large chunk alive after a short piece was unmasked in it (the shared word view)", async () => {
    // A short masked text (the word path: 16-127 bytes) at the start of 1 MiB of memory.
    let big: Uint8Array | null = new Uint8Array(1024 * 1024);
    const text = cframe(1, "z".repeat(64));
    big.set(text, 0);
    const sink = new ByteRecorder();
    new FrameParser(server, sink).push(big, text.length);
    assert.equal(sink.calls.length, 1);
    const memory = new WeakRef(big.buffer);
    big = null;
    assert.deepEqual(await survivors([memory]), [undefined]);
  });
});
