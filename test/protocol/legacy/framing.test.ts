import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import type { HixieDriverOptions } from "../../../src/protocol/legacy/index.js";
import { ReadyState } from "../../../src/protocol/types.js";
import { concat } from "../../helpers/bytes.js";
import {
  DRAFT75_REQUEST,
  DRAFT76_REQUEST,
  driver75,
  driver76,
  latin1,
  parseRequest,
  splitAt,
  summary,
  text,
} from "./helpers.js";

const utf8 = (s: string) => new TextEncoder().encode(s);
const textFrame = (s: string) => concat([Uint8Array.of(0x00), utf8(s), Uint8Array.of(0xff)]);

/** An open driver with its handshake output and open event drained. */
function open(draft: "hixie-75" | "hixie-76", options: HixieDriverOptions = {}) {
  const { request, head } = parseRequest(latin1(draft === "hixie-76" ? DRAFT76_REQUEST : DRAFT75_REQUEST));
  const driver =
    draft === "hixie-76" ? driver76(request, { head, ...options }) : driver75(request, { head, ...options });
  driver.takeOutput();
  assert.equal(driver.takeEvents()[0]?.type, "open");
  return driver;
}

/** Feed the chunks and return the events and output as comparable data. */
function run(draft: "hixie-75" | "hixie-76", chunks: readonly Uint8Array[], options?: HixieDriverOptions) {
  const driver = open(draft, options);
  for (const chunk of chunks) driver.receiveData(chunk);
  return { events: summary(driver.takeEvents()), output: text(concat(driver.takeOutput())), driver };
}

/** Whole, split at every index, split at every pair of indices (short streams), byte by byte: all alike. */
function assertChunkingInvariant(draft: "hixie-75" | "hixie-76", stream: Uint8Array, options?: HixieDriverOptions) {
  const whole = run(draft, [stream], options);
  for (let i = 0; i <= stream.length; i++) {
    const split = run(draft, splitAt(stream, [i]), options);
    assert.deepEqual(split.events, whole.events, `split at ${i}`);
    assert.equal(split.output, whole.output, `split at ${i}`);
  }
  if (stream.length <= 40) {
    for (let i = 0; i <= stream.length; i++) {
      for (let j = i; j <= stream.length; j++) {
        assert.deepEqual(run(draft, splitAt(stream, [i, j]), options).events, whole.events, `split at ${i},${j}`);
      }
    }
  }
  const bytewise = run(
    draft,
    Array.from(stream, (b) => Uint8Array.of(b)),
    options,
  );
  assert.deepEqual(bytewise.events, whole.events, "byte by byte");
  return whole;
}

const MIXED = concat([
  textFrame("hello"),
  textFrame(""),
  Uint8Array.of(0x80, 0x03, 1, 2, 3), // length frame: discarded
  Uint8Array.of(0x81, 0x81, 0x00), // length 128 across two digits ...
  new Uint8Array(128).fill(0xff), // ... its payload (0xFF bytes included) skipped
  Uint8Array.of(0x01, 0x61, 0xff), // text-type frame other than 0x00: discarded
  textFrame("héllo € 𝄞"),
]);

test("frames: text, empty, discarded length and typed frames; same events however the bytes are split", () => {
  for (const draft of ["hixie-75", "hixie-76"] as const) {
    const { events } = assertChunkingInvariant(draft, MIXED);
    assert.deepEqual(events, [
      { type: "text", data: "hello" },
      { type: "text", data: "" },
      { type: "text", data: "héllo € 𝄞" },
    ]);
  }
});

test("frames: text events expose the validated UTF-8 bytes", () => {
  const driver = open("hixie-76");
  driver.receiveData(textFrame("€"));
  const [event] = driver.takeEvents();
  assert.ok(event.type === "text");
  assert.deepEqual([...event.bytes], [0xe2, 0x82, 0xac]);
});

test("CVE-2026-54466 regression: 0x80 then 100 bytes of 0xFF is refused at once, whatever the chunking", () => {
  const attack = concat([Uint8Array.of(0x80), new Uint8Array(100).fill(0xff)]);
  for (const draft of ["hixie-75", "hixie-76"] as const) {
    // Default limit (64 MiB): refused at the 4th digit (2^28-1 > 2^26).
    const capped = assertChunkingInvariant(draft, attack);
    assert.deepEqual(capped.events, [
      { type: "error", error: "MESSAGE_TOO_BIG" },
      { type: "close", code: 1009, wasClean: false, error: "MESSAGE_TOO_BIG" },
    ]);
    assert.equal(capped.driver.host.closeTransportCalls, 1);
    assert.equal(capped.driver.readyState, ReadyState.CLOSED);
    // No limit: the digit cap still refuses it before 2^53 (no precision loss, no endless read).
    const unlimited = assertChunkingInvariant(draft, attack, { maxPayload: 0 });
    assert.deepEqual(unlimited.events, [
      { type: "error", error: "LENGTH_TOO_LARGE" },
      { type: "close", code: 1009, wasClean: false, error: "LENGTH_TOO_LARGE" },
    ]);
  }
  // draft-76 tells the client with 0xFF 0x00 before closing; draft-75 has nothing to send.
  assert.equal(run("hixie-76", [attack]).output, "\xff\x00");
  assert.equal(run("hixie-75", [attack]).output, "");
});

test("length digits: zero-valued digits count too (0x80 0x80 ... never ends otherwise)", () => {
  const zeros = concat([Uint8Array.of(0x80), new Uint8Array(100).fill(0x80)]);
  assert.deepEqual(run("hixie-76", [zeros], { maxPayload: 0 }).events[0], { type: "error", error: "LENGTH_TOO_LARGE" });
  // 8 digits are allowed: 0x80 x7 then 0x00 is a zero-length frame (draft-75) / a closing frame (draft-76).
  const eight = concat([Uint8Array.of(0x80), new Uint8Array(7).fill(0x80), Uint8Array.of(0x00), textFrame("ok")]);
  assert.deepEqual(run("hixie-75", [eight]).events, [{ type: "text", data: "ok" }]);
});

test("length boundary: 2^53-1 is read exactly (then skipped), 2^53 is refused", () => {
  // 2^53-1 in base 128: 8 digits, the first holding 4 bits (0x0F).
  const maxSafe = Uint8Array.of(0x80, 0x8f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f);
  const ok = run("hixie-75", [maxSafe, new Uint8Array(1000)], { maxPayload: 0 });
  assert.deepEqual(ok.events, []);
  assert.equal(ok.driver.readyState, ReadyState.OPEN);
  const twoTo53 = Uint8Array.of(0x80, 0x90, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00);
  assert.deepEqual(run("hixie-75", [twoTo53], { maxPayload: 0 }).events[0], {
    type: "error",
    error: "LENGTH_TOO_LARGE",
  });
});

test("maxPayload: a text frame of exactly the limit passes; one byte more (terminated or not) closes with 1009", () => {
  const limit = 10;
  assert.deepEqual(run("hixie-76", [textFrame("x".repeat(limit))], { maxPayload: limit }).events, [
    { type: "text", data: "x".repeat(limit) },
  ]);
  const over = assertChunkingInvariant("hixie-76", textFrame("x".repeat(limit + 1)), { maxPayload: limit });
  assert.deepEqual(over.events, [
    { type: "error", error: "MESSAGE_TOO_BIG" },
    { type: "close", code: 1009, wasClean: false, error: "MESSAGE_TOO_BIG" },
  ]);
  // Never terminated: refused once the buffered bytes pass the limit, not at the (absent) 0xFF.
  const endless = run("hixie-75", [Uint8Array.of(0x00), new Uint8Array(limit + 1).fill(0x61)], { maxPayload: limit });
  assert.equal(endless.events[0] && (endless.events[0] as { error: string }).error, "MESSAGE_TOO_BIG");
  // A length frame over the limit is refused from its header, before any payload.
  const lengthy = run("hixie-76", [Uint8Array.of(0x80, 0x0b)], { maxPayload: limit });
  assert.equal((lengthy.events[0] as { error: string }).error, "MESSAGE_TOO_BIG");
  // A discarded typed frame over the limit too.
  const typed = run("hixie-76", [Uint8Array.of(0x05), new Uint8Array(limit + 1).fill(0x61)], { maxPayload: limit });
  assert.equal((typed.events[0] as { error: string }).error, "MESSAGE_TOO_BIG");
});

test("invalid UTF-8 closes with 1007, detected however the bytes are split", () => {
  const cases = [
    [0xc0, 0xaf], // overlong
    [0xed, 0xa0, 0x80], // surrogate
    [0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
    [0xe2, 0x82], // truncated by the terminator
    [0x80], // lone continuation
  ];
  for (const bad of cases) {
    const stream = concat([textFrame("ok"), Uint8Array.of(0x00, ...bad, 0xff), textFrame("never")]);
    for (const draft of ["hixie-75", "hixie-76"] as const) {
      const { events } = assertChunkingInvariant(draft, stream);
      assert.deepEqual(events, [
        { type: "text", data: "ok" },
        { type: "error", error: "INVALID_UTF8" },
        { type: "close", code: 1007, wasClean: false, error: "INVALID_UTF8" },
      ]);
    }
  }
});

test("input after a close or an error is ignored", () => {
  const { driver } = run("hixie-76", [Uint8Array.of(0xff, 0x00)]);
  driver.takeEvents();
  driver.receiveData(textFrame("late"));
  driver.receiveEof();
  assert.deepEqual(driver.takeEvents(), []);
});

test("property: arbitrary byte streams never throw and give the same events however they are chunked", () => {
  const byteArb = fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0x00, 0xff, 0x80, 0x7f, 0xc3, 0xa9, 0x61));
  fc.assert(
    fc.property(
      fc.array(byteArb, { maxLength: 64 }).map((a) => Uint8Array.from(a)),
      fc.array(fc.nat(64), { maxLength: 6 }),
      fc.constantFrom("hixie-75" as const, "hixie-76" as const),
      fc.constantFrom(0, 8, 1024),
      (stream, cuts, draft, maxPayload) => {
        const offsets = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
        const whole = run(draft, [stream], { maxPayload });
        const split = run(draft, splitAt(stream, offsets), { maxPayload });
        assert.deepEqual(split.events, whole.events);
        assert.equal(split.output, whole.output);
      },
    ),
    { numRuns: 3000 },
  );
});

test("property: valid text frames round-trip against an independent model", () => {
  fc.assert(
    fc.property(fc.array(fc.string({ unit: "grapheme", maxLength: 20 }), { maxLength: 8 }), (messages) => {
      const stream = concat(messages.map(textFrame));
      const { events } = run("hixie-76", splitAt(stream, [Math.floor(stream.length / 3)]));
      assert.deepEqual(
        events,
        messages.map((data) => ({ type: "text", data })),
      );
    }),
  );
});

test("regression (found by fast-check): the first offending byte decides between INVALID_UTF8 and MESSAGE_TOO_BIG", () => {
  // 0x80 is the 7th payload byte (invalid), the 9th exceeds maxPayload 8: UTF-8 wins, however split.
  const stream = Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 128, 0, 0]);
  const { events } = assertChunkingInvariant("hixie-75", stream, { maxPayload: 8 });
  assert.deepEqual(events[0], { type: "error", error: "INVALID_UTF8" });
  // And the other way round: too big before an invalid byte.
  const big = Uint8Array.from([0, 0x61, 0x61, 0x61, 0x80]);
  assert.deepEqual(assertChunkingInvariant("hixie-76", big, { maxPayload: 2 }).events[0], {
    type: "error",
    error: "MESSAGE_TOO_BIG",
  });
});
