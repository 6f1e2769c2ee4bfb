/** The engine and its host: output before events, decisions pushed, throwing handlers, the 1011 choke point. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Engine } from "../../src/protocol/engine.js";
import type { EngineEvent, EngineHost } from "../../src/protocol/types.js";
import { concat, hex } from "../helpers/bytes.js";
import { cframe, closeBody, decodeFrames } from "../helpers/frames.js";
import { type TestEngine, testEngine } from "./helpers/engine-run.js";

describe("the engine's host", () => {
  it("per frame, the output it causes is handed over before its events; events come as frames complete", () => {
    const log: string[] = [];
    const e = testEngine({
      role: "server",
      onOutput: (c) => log.push(`out ${hex(c)}`),
      onEvent: (ev) => log.push(`event ${ev.type}`),
    });
    e.receiveData(concat([cframe(1, "a"), cframe(9, "p"), cframe(8, closeBody(1000))]));
    assert.deepEqual(log, ["event text", "out 8a0170", "event ping", "out 880203e8", "event closing", "event close"]);
    assert.deepEqual(e.takeOutput(), []);
    assert.deepEqual(e.takeEvents(), []);
  });

  it("decisions are pushed as they are taken: awaitClose when our close leaves, closeTransport once, before `close`", () => {
    const run = (act: (e: Engine) => void): string[] => {
      const log: string[] = [];
      const host: EngineHost = {
        output: (c) => log.push(`out ${hex(c)}`),
        outputRange: () => assert.fail("no arena"),
        dispatch: (ev) => log.push(ev.type),
        awaitClose: () => log.push("awaitClose"),
        closeTransport: () => log.push("closeTransport"),
      };
      act(new Engine(host, { role: "server" }));
      return log;
    };
    assert.deepEqual(
      run((e) => {
        e.close(1000);
        e.receiveData(cframe(8, closeBody(1000)));
        e.receiveEof();
      }),
      ["out 880203e8", "awaitClose", "closing", "closeTransport", "close"],
    );
    assert.deepEqual(
      run((e) => e.receiveData(cframe(8, closeBody(1001)))),
      ["out 880203e9", "closing", "closeTransport", "close"],
    );
    // A failure: our close frame (1002), then the events, the transport closed before `close`.
    assert.deepEqual(
      run((e) => e.receiveData(cframe(3))).map((l) => (l.startsWith("out 88") ? "out close" : l)),
      ["out close", "error", "closing", "closeTransport", "close"],
    );
    assert.deepEqual(
      run((e) => {
        e.receiveEof();
        e.receiveEof();
      }),
      ["closeTransport", "close"],
    );
  });

  it("a handler may call the engine re-entrantly (echo), order stays right", () => {
    const out: Uint8Array[] = [];
    const e: TestEngine = testEngine({
      role: "server",
      onOutput: (c) => out.push(c),
      onEvent: (ev) => {
        if (ev.type === "text") e.sendText(ev.data);
        if (ev.type === "binary") e.close(1000);
      },
    });
    e.receiveData(concat([cframe(1, "one"), cframe(1, "two"), cframe(2, "b")]));
    const frames = decodeFrames(concat(out)).map((f) => [f.opcode, Buffer.from(f.payload).toString("latin1")]);
    assert.deepEqual(frames, [
      [1, "one"],
      [1, "two"],
      [8, "\u0003\u00e8"],
    ]);
  });

  it("a throwing onEvent fails only this connection with 1011 and an empty reason; the error is reported", () => {
    const seen: EngineEvent[] = [];
    const out: Uint8Array[] = [];
    const boom = new Error("handler bug");
    const e = testEngine({
      role: "server",
      onOutput: (c) => out.push(c),
      onEvent: (ev) => {
        seen.push(ev);
        if (ev.type === "text") throw boom;
      },
    });
    assert.doesNotThrow(() => e.receiveData(cframe(1, "x")));
    assert.deepEqual(
      seen.map((x) => x.type),
      ["text", "error", "closing", "close"],
    );
    const error = seen[1];
    assert.ok(error.type === "error" && error.error === boom);
    const close = seen[3];
    assert.ok(close.type === "close" && close.code === 1011 && close.error === boom);
    assert.equal(hex(concat(out)), "880203f3");
  });

  it("a handler throwing on the close event is rethrown asynchronously (not lost, engine intact)", () => {
    const e = testEngine({
      role: "server",
      onEvent: (ev) => {
        if (ev.type === "close") throw new Error("late bug");
      },
    });
    const scheduled: Array<() => void> = [];
    const original = globalThis.queueMicrotask;
    globalThis.queueMicrotask = (fn) => void scheduled.push(fn);
    try {
      assert.doesNotThrow(() => e.receiveEof());
    } finally {
      globalThis.queueMicrotask = original;
    }
    assert.equal(scheduled.length, 1);
    assert.throws(scheduled[0], { message: "late bug" });
  });

  it("a throwing pong callback is handled like a throwing handler", () => {
    const e = testEngine({ role: "server" });
    e.ping("a", () => {
      throw new Error("cb bug");
    });
    e.takeOutput();
    e.receiveData(cframe(10, "a"));
    const types = e.takeEvents().map((x) => x.type);
    assert.deepEqual(types, ["pong", "error", "closing", "close"]);
  });

  it("receiveData never throws, even on garbage, and the close event comes exactly once, last", () => {
    const e = testEngine({ role: "server" });
    assert.doesNotThrow(() => {
      e.receiveData(Uint8Array.from([0xff, 0xff, 0xff, 0xff]));
      e.receiveData(Uint8Array.from([0x00, 0x00]));
      e.receiveEof();
    });
    const events = e.takeEvents();
    assert.equal(events.filter((x) => x.type === "close").length, 1);
    assert.equal(events.at(-1)?.type, "close");
  });

  it("rejects invalid options with OptionError", () => {
    assert.throws(() => testEngine({ role: "server", maxPayload: -1 }), { name: "OptionError" });
    assert.throws(() => testEngine({ role: "nope" as "server" }), { name: "OptionError" });
  });
});
