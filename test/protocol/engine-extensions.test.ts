/** The extension pipeline: RSV claims, sync/async transforms in order both ways, failures, session close. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ProtocolError } from "../../src/protocol/errors.js";
import type { ExtensionMessage, ExtensionSession } from "../../src/protocol/extensions/extension.js";
import { concat, utf8 } from "../helpers/bytes.js";
import { cframe, decodeFrames } from "../helpers/frames.js";
import { sleep } from "../helpers/time.js";
import { plain, testEngine } from "./helpers/engine-run.js";

const tick = () => sleep(5);

/**
 * A toy extension claiming RSV1: payloads with RSV1 are reversed. Messages whose text starts
 * with "slow" are transformed asynchronously (resolved after a delay), others synchronously.
 */
function reverser(log: string[] = []): ExtensionSession & { closed: number; limits: number[] } {
  const session = {
    name: "x-reverse",
    rsv1: true,
    closed: 0,
    limits: [] as number[],
    processIncoming(m: ExtensionMessage, maxPayload: number) {
      session.limits.push(maxPayload);
      if (!m.rsv1) return m;
      const out = { ...m, rsv1: false, data: m.data.slice().reverse() };
      const text = Buffer.from(out.data).toString();
      if (text === "boom") throw new ProtocolError("EXTENSION_ERROR", "bad data");
      if (text === "huge") throw new ProtocolError("MESSAGE_TOO_BIG", "too big");
      if (text === "oops") throw new Error("secret internal detail");
      if (text.startsWith("slow")) return new Promise<ExtensionMessage>((r) => setTimeout(() => r(out), 3));
      return out;
    },
    processOutgoing(m: ExtensionMessage) {
      log.push(Buffer.from(m.data).toString());
      const out = { ...m, rsv1: m.compress !== false, data: m.compress === false ? m.data : m.data.slice().reverse() };
      if (Buffer.from(m.data).toString().startsWith("slow")) {
        return new Promise<ExtensionMessage>((r) => setTimeout(() => r(out), 3));
      }
      return out;
    },
    close() {
      session.closed++;
    },
  };
  return session;
}

const rev = (s: string) => utf8([...s].reverse().join(""));

describe("extensions", () => {
  it("RSV1 is accepted only when claimed; RSV2 is still refused", () => {
    const e = testEngine({ role: "server", extensions: [reverser()] });
    e.receiveData(cframe(1, rev("hello"), { rsv: 4 }));
    assert.deepEqual(e.takeEvents().map(plain), [{ type: "text", data: "hello" }]);
    e.receiveData(cframe(1, "x", { rsv: 2 }));
    assert.equal(e.takeEvents().map(plain)[0].code, "BAD_RSV");
  });

  it("passes maxPayload to processIncoming", () => {
    const x = reverser();
    const e = testEngine({ role: "server", extensions: [x], maxPayload: 1234 });
    e.receiveData(cframe(2, "ab"));
    assert.deepEqual(x.limits, [1234]);
  });

  it("inbound order is kept: a sync result never overtakes a pending async one", async () => {
    const e = testEngine({ role: "server", extensions: [reverser()] });
    e.receiveData(concat([cframe(1, rev("slow 1"), { rsv: 4 }), cframe(1, rev("fast 2"), { rsv: 4 }), cframe(9, "p")]));
    e.receiveData(cframe(2, "plain 3"));
    assert.deepEqual(e.takeEvents(), [], "everything waits behind the pending message");
    assert.equal(decodeFrames(concat(e.takeOutput()))[0].opcode, 10, "the pong leaves at once");
    await tick();
    assert.deepEqual(e.takeEvents().map(plain), [
      { type: "text", data: "slow 1" },
      { type: "text", data: "fast 2" },
      { type: "ping", data: "70" },
      { type: "binary", data: Buffer.from("plain 3").toString("hex") },
    ]);
  });

  it("outbound order is kept, and a close waits behind pending messages", async () => {
    const e = testEngine({ role: "server", extensions: [reverser()] });
    e.send("slow A");
    e.send("fast B");
    e.send("secret", { compress: false });
    e.close(1000);
    assert.equal(e.send("after close"), false);
    assert.deepEqual(e.takeOutput(), []);
    await tick();
    const frames = decodeFrames(concat(e.takeOutput()));
    assert.deepEqual(
      frames.map((f) => [f.opcode, f.rsv, Buffer.from(f.payload).toString("latin1")]),
      [
        [1, 4, "A wols"],
        [1, 4, "B tsaf"],
        [1, 0, "secret"],
        [8, 0, "\u0003\u00e8"],
      ],
    );
  });

  it("with events delivered through onEvent, async completions are dispatched by themselves", async () => {
    const seen: string[] = [];
    const e = testEngine({
      role: "server",
      extensions: [reverser()],
      onEvent: (ev) => seen.push(ev.type === "text" ? ev.data : ev.type),
    });
    e.receiveData(cframe(1, rev("slow x"), { rsv: 4 }));
    assert.deepEqual(seen, []);
    await tick();
    assert.deepEqual(seen, ["slow x"]);
  });

  for (const [text, code, reason] of [
    ["boom", 1007, "bad data"],
    ["huge", 1009, "too big"],
    ["oops", 1011, ""],
  ] as const) {
    it(`an extension failure "${text}" closes with ${code}`, () => {
      const x = reverser();
      const e = testEngine({ role: "server", extensions: [x] });
      e.receiveData(cframe(1, rev(text), { rsv: 4 }));
      const events = e.takeEvents();
      const close = events.at(-1);
      assert.ok(close?.type === "close");
      assert.equal(close.code, code);
      assert.equal(close.reason, reason);
      const [f] = decodeFrames(concat(e.takeOutput()));
      assert.equal((f.payload[0] << 8) | f.payload[1], code);
      assert.equal(f.payload.length, 2 + Buffer.byteLength(reason), "internal details never reach the wire");
      if (text === "oops") assert.equal(close.error?.message, "secret internal detail");
      assert.equal(x.closed, 1, "session closed once");
    });
  }

  it("an async failure after earlier messages: those are delivered, then error, closing, close", async () => {
    const e = testEngine({ role: "server", extensions: [reverser()] });
    e.receiveData(concat([cframe(1, rev("slow ok"), { rsv: 4 }), cframe(1, rev("boom"), { rsv: 4 })]));
    await tick();
    assert.deepEqual(
      e.takeEvents().map((x) => x.type),
      ["text", "error", "closing", "close"],
    );
  });

  it("text after the extension is validated as UTF-8 (1007)", () => {
    const e = testEngine({ role: "server", extensions: [reverser()] });
    e.receiveData(cframe(1, Uint8Array.of(0x80, 0xe2), { rsv: 4 })); // reversed: e2 80 (incomplete)
    assert.equal(e.takeEvents().at(-1)?.type, "close");
    const f = decodeFrames(concat(e.takeOutput()))[0];
    assert.equal((f.payload[0] << 8) | f.payload[1], 1007);
  });

  it("sessions are closed exactly once when the connection ends (EOF after pending work)", async () => {
    const x = reverser();
    const e = testEngine({ role: "server", extensions: [x] });
    e.receiveData(cframe(1, rev("slow z"), { rsv: 4 }));
    e.receiveEof();
    assert.equal(x.closed, 0, "not while a message is being transformed");
    await tick();
    assert.deepEqual(
      e.takeEvents().map((x) => x.type),
      ["text", "close"],
    );
    assert.equal(x.closed, 1);
  });
});

describe("extension ordering, property", () => {
  it("any mix of sync and async transforms keeps message order in both directions", async () => {
    const fc = (await import("fast-check")).default;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.boolean(), fc.nat(3)), { minLength: 1, maxLength: 12 }), async (plan) => {
        // Message i is transformed synchronously or after plan[i][1] ms, in both directions.
        const delayOf = (m: ExtensionMessage) => {
          const [async, ms] = plan[Number(Buffer.from(m.data).toString())];
          return async ? ms + 1 : -1;
        };
        const later = (m: ExtensionMessage, ms: number) =>
          ms < 0 ? m : new Promise<ExtensionMessage>((r) => setTimeout(() => r(m), ms));
        const session: ExtensionSession = {
          name: "x-mixed",
          processIncoming: (m) => later(m, delayOf(m)),
          processOutgoing: (m) => later(m, delayOf(m)),
        };
        const e = testEngine({ role: "server", extensions: [session] });
        const frames = plan.map((_, i) => cframe(2, String(i)));
        e.receiveData(concat(frames));
        for (let i = 0; i < plan.length; i++) e.send(utf8(String(i)));
        await sleep(20);
        const expected = plan.map((_, i) => String(i));
        assert.deepEqual(
          e.takeEvents().map((ev) => (ev.type === "binary" ? Buffer.from(ev.data).toString() : ev.type)),
          expected,
        );
        assert.deepEqual(
          decodeFrames(concat(e.takeOutput())).map((f) => Buffer.from(f.payload).toString()),
          expected,
        );
      }),
      { numRuns: 40 },
    );
  });
});
