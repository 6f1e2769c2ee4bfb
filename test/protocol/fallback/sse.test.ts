/**
 * The text/event-stream encoder and parser (src/protocol/fallback/sse.ts): the standard's
 * parsing rules, round trips split at every character, and the length bound.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { encodeEvent, type SseEvent, SseParser } from "../../../src/protocol/fallback/sse.js";

function parseAll(chunks: string[], max?: number): SseEvent[] {
  const parser = new SseParser(max);
  const out: SseEvent[] = [];
  for (const chunk of chunks) out.push(...parser.push(chunk));
  return out;
}

describe("SseParser: the standard's rules (HTML 9.2.6)", () => {
  it("joins data lines with LF, names the type, defaults to message", () => {
    assert.deepEqual(parseAll(["data: a\ndata: b\n\nevent: ping\ndata:\n\n"]), [
      { type: "message", data: "a\nb" },
      { type: "ping", data: "" },
    ]);
  });

  it("ends lines with CRLF, LF or CR, a CRLF split between chunks included", () => {
    assert.deepEqual(parseAll(["data: x\r\n\r\ndata: y\r\rdata: z\r", "\n\r", "\n"]), [
      { type: "message", data: "x" },
      { type: "message", data: "y" },
      { type: "message", data: "z" },
    ]);
  });

  it("skips comments, unknown fields, id and retry; strips one space after the colon only", () => {
    assert.deepEqual(parseAll([": hello\nid: 7\nretry: 10\nfoo: bar\ndata:  two spaces\ndata\n\n"]), [
      { type: "message", data: " two spaces\n" },
    ]);
  });

  it("does not dispatch an event without data, nor an unfinished one at the end", () => {
    assert.deepEqual(parseAll(["event: x\n\n", "data: unfinished\n"]), []);
  });

  it("drops a leading byte order mark only", () => {
    assert.deepEqual(parseAll(["\uFEFFdata: \uFEFFa\n\n"]), [{ type: "message", data: "\uFEFFa" }]);
  });

  it("refuses an event longer than maxEventLength, in one line or many", () => {
    assert.throws(() => parseAll([`data: ${"x".repeat(100)}`], 50), RangeError);
    assert.throws(() => parseAll(["data: 1234567890\n".repeat(10)], 50), RangeError);
    assert.deepEqual(parseAll([`data: ${"x".repeat(40)}\n\n`], 50), [{ type: "message", data: "x".repeat(40) }]);
  });
});

describe("encodeEvent + SseParser", () => {
  const event = fc
    .record({
      type: fc.constantFrom("message", "text", "binary", "ping", "close", "open"),
      data: fc.string({ unit: "grapheme", maxLength: 40 }).map((s) => s.replaceAll("\r", "")),
    })
    .map(({ type, data }) => ({ type, data }));

  it("round-trips any events without CR, split at every position", () => {
    fc.assert(
      fc.property(fc.array(event, { maxLength: 6 }), (events) => {
        const stream = events.map((e) => encodeEvent(e.data, e.type)).join("");
        for (let cut = 0; cut <= stream.length; cut++) {
          assert.deepEqual(parseAll([stream.slice(0, cut), stream.slice(cut)]), events);
        }
      }),
      { numRuns: 200 },
    );
  });

  it("round-trips with CRLF or CR line endings too, one character at a time", () => {
    fc.assert(
      fc.property(fc.array(event, { maxLength: 4 }), fc.constantFrom("\r\n", "\r"), (events, eol) => {
        const stream = events.map((e) => encodeEvent(e.data, e.type).replaceAll("\n", eol)).join("");
        assert.deepEqual(parseAll([...stream]), events);
      }),
      { numRuns: 200 },
    );
  });
});
