/**
 * Property tests: valid streams against an independent model, chunking invariance, mutated
 * input, and encode-then-parse round trips. Boundary lengths are generated explicitly.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { concat, hex, utf8 } from "../helpers/bytes.js";
import { cframe, closeBody, frame } from "../helpers/frames.js";
import { type Plain, plain, run, split, testEngine } from "./helpers/engine-run.js";

const BOUNDARY = [0, 1, 125, 126, 127, 65535, 65536];

type Message = { kind: "text"; text: string; cuts: number[] } | { kind: "binary"; data: Uint8Array; cuts: number[] };
type Item = Message | { kind: "ping" | "pong"; data: Uint8Array };

/** The payload of a message item and where it is cut into fragments. */
function pieces(m: Message): { data: Uint8Array; parts: Uint8Array[] } {
  const data = m.kind === "text" ? utf8(m.text) : m.data;
  const cuts = [...new Set(m.cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
  return { data, parts: split(data, cuts) };
}

const binaryData = fc.oneof(
  { weight: 4, arbitrary: fc.uint8Array({ maxLength: 300 }) },
  { weight: 1, arbitrary: fc.constantFrom(...BOUNDARY).map((n) => new Uint8Array(n).map((_, i) => i * 31)) },
);
const cuts = fc.array(fc.nat(70000), { maxLength: 4 });
const item: fc.Arbitrary<Item> = fc.oneof(
  fc.record({ kind: fc.constant("text" as const), text: fc.string({ unit: "binary", maxLength: 80 }), cuts }),
  fc.record({ kind: fc.constant("binary" as const), data: binaryData, cuts }),
  fc.record({ kind: fc.constantFrom("ping" as const, "pong" as const), data: fc.uint8Array({ maxLength: 125 }) }),
);

/** Bytes a client would send for the items (fragmented at `cuts`, a ping between fragments). */
function encodeItems(items: Item[]): Uint8Array {
  const out: Uint8Array[] = [];
  for (const it of items) {
    if (it.kind === "ping" || it.kind === "pong") {
      out.push(cframe(it.kind === "ping" ? 9 : 10, it.data));
      continue;
    }
    const { parts } = pieces(it as Message);
    parts.forEach((p, i) => {
      out.push(cframe(i === 0 ? (it.kind === "text" ? 1 : 2) : 0, p, { fin: i === parts.length - 1 }));
      if (i === 0 && parts.length > 1) out.push(cframe(9, "mid"));
    });
  }
  return concat(out);
}

/** What the engine must report and answer, written from the RFC, not from the engine. */
function model(items: Item[]): { events: Plain[]; output: string } {
  const events: Plain[] = [];
  const output: Uint8Array[] = [];
  for (const it of items) {
    if (it.kind === "ping" || it.kind === "pong") {
      events.push({ type: it.kind, data: hex(it.data) });
      if (it.kind === "ping") output.push(frame(10, it.data));
      continue;
    }
    const { data, parts } = pieces(it as Message);
    const n = parts.length;
    if (n > 1) {
      events.push({ type: "ping", data: hex(utf8("mid")) });
      output.push(frame(10, "mid"));
    }
    events.push(it.kind === "text" ? { type: "text", data: it.text } : { type: "binary", data: hex(data) });
  }
  return { events, output: hex(concat(output)) };
}

const chunking = (len: number) => fc.array(fc.nat(Math.max(len, 1)), { maxLength: 12 });

describe("properties", () => {
  it("valid streams match the model whatever the chunking", () => {
    fc.assert(
      fc.property(fc.array(item, { maxLength: 8 }), fc.array(fc.nat(200000), { maxLength: 12 }), (items, points) => {
        const bytes = encodeItems(items);
        const expected = model(items);
        const whole = run([bytes]);
        assert.deepEqual(whole.events, expected.events);
        assert.equal(whole.output, expected.output);
        const sorted = [...new Set(points.map((p) => p % (bytes.length + 1)))].sort((a, b) => a - b);
        const chunked = run(split(bytes, sorted));
        assert.deepEqual(chunked.events, expected.events);
        assert.equal(chunked.output, expected.output);
      }),
      { numRuns: 150 },
    );
  });

  it("small valid streams give identical results split at every index and one byte at a time", () => {
    fc.assert(
      fc.property(fc.array(item, { maxLength: 3 }), (items) => {
        const small = items.filter((i) => (i.kind === "binary" ? i.data.length < 200 : true));
        const bytes = encodeItems(small);
        const expected = model(small);
        for (let i = 0; i <= bytes.length; i++) {
          const r = run(split(bytes, [i]));
          assert.deepEqual(r.events, expected.events);
          assert.equal(r.output, expected.output);
        }
        const bytewise = run(Array.from(bytes, (_, i) => bytes.subarray(i, i + 1)));
        assert.deepEqual(bytewise.events, expected.events);
      }),
      { numRuns: 40 },
    );
  });

  it("random and mutated input never throws, gives one verdict whatever the chunking, ends with the right close", () => {
    const mutated = fc
      .tuple(
        fc.array(item, { maxLength: 4 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
      )
      .map(([items, flips]) => {
        const bytes = encodeItems(items.filter((i) => (i.kind === "binary" ? i.data.length < 1000 : true)));
        for (const [at, v] of flips) if (bytes.length > 0) bytes[at % bytes.length] = v;
        return bytes;
      });
    const input = fc.oneof(fc.uint8Array({ maxLength: 200 }), mutated);
    fc.assert(
      fc.property(input, chunking(400), fc.boolean(), (bytes, points, asClient) => {
        const role = asClient ? "client" : "server";
        const sorted = [...new Set(points.map((p) => p % (bytes.length + 1)))].sort((a, b) => a - b);
        const a = run([bytes], { role, maxPayload: 4096 }, true);
        const b = run(split(bytes, sorted), { role, maxPayload: 4096 }, true);
        const c = run(
          Array.from(bytes, (_, i) => bytes.subarray(i, i + 1)),
          { role, maxPayload: 4096 },
          true,
        );
        assert.deepEqual(b.events, a.events);
        assert.deepEqual(c.events, a.events);
        assert.equal(b.output, a.output);
        const closes = a.events.filter((e) => e.type === "close");
        assert.equal(closes.length, 1);
        assert.equal(a.events.at(-1)?.type, "close");
        const error = a.events.find((e) => e.type === "error");
        if (error) assert.ok([1002, 1007, 1009].includes(closes[0].code as number), String(closes[0].code));
      }),
      { numRuns: 300 },
    );
  });

  it("encode-then-parse round-trips (client -> server, any fragmentSize, boundary lengths)", () => {
    const message = fc.oneof(fc.string({ unit: "binary", maxLength: 200 }), binaryData);
    fc.assert(
      fc.property(
        fc.array(message, { maxLength: 6 }),
        fc.constantFrom(0, 1, 7, 125, 126, 1000),
        (messages, fragmentSize) => {
          const client = testEngine({ role: "client", fragmentSize });
          for (const m of messages) client.send(m);
          client.close(4000, "bye");
          const server = run([concat(client.takeOutput())], { maxFragments: 0 });
          const expected: Plain[] = messages.map((m) =>
            typeof m === "string" ? { type: "text", data: m } : { type: "binary", data: hex(m) },
          );
          expected.push(
            { type: "closing", code: 4000, reason: "bye", initiator: "remote" },
            { type: "close", code: 4000, reason: "bye", wasClean: true },
          );
          assert.deepEqual(server.events, expected);
        },
      ),
      { numRuns: 100 },
    );
  });

  it("server -> client round trip with the streaming writer", () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: "binary", maxLength: 30 }), { maxLength: 5 }), (parts) => {
        const server = testEngine({ role: "server" });
        const w = server.startMessage("text");
        for (const p of parts) w.write(p);
        w.end();
        const client = run([concat(server.takeOutput())], { role: "client" });
        assert.deepEqual(
          client.events.map((e) => e.data),
          [parts.join("")],
        );
      }),
    );
  });

  it("close frames with random codes: valid ones are echoed, invalid ones get 1002", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 65535 }), (code) => {
        const r = run([cframe(8, closeBody(code))]);
        const valid =
          (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
        const last = r.events.at(-1)!;
        if (valid) assert.deepEqual(last, { type: "close", code, reason: "", wasClean: true });
        else assert.deepEqual([last.code, r.events[0].code], [1002, "INVALID_CLOSE_CODE"]);
      }),
    );
  });
});

// plain() is re-exported so a failing case can be printed in the same form.
export { plain };
