/** Edge paths: the internal-error choke point, extension output limits, prepared messages in queues, CONNECTING. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ExtensionMessage, ExtensionSession } from "../../src/protocol/extensions/extension.js";
import { prepareMessage } from "../../src/protocol/prepared-message.js";
import { concat } from "../helpers/bytes.js";
import { cframe, decodeFrames } from "../helpers/frames.js";
import { sleep } from "../helpers/time.js";
import { plain, type TestEngine, testEngine } from "./helpers/engine-run.js";

const codeOf = (e: TestEngine) => {
  const f = decodeFrames(concat(e.takeOutput())).find((x) => x.opcode === 8);
  return f ? (f.payload[0] << 8) | f.payload[1] : undefined;
};

describe("edge paths", () => {
  it("an exception from inside the engine (here a native masker) becomes 1011, empty reason, kept as error", () => {
    const boom = new Error("native failure");
    const e = testEngine({
      role: "server",
      masker: {
        mask: () => {},
        unmask: () => {
          throw boom;
        },
      },
    });
    assert.doesNotThrow(() => e.receiveData(cframe(2, new Uint8Array(1000))));
    const events = e.takeEvents();
    const close = events.at(-1);
    assert.ok(close?.type === "close" && close.code === 1011 && close.reason === "" && close.error === boom);
    const [f] = decodeFrames(concat(e.takeOutput()));
    assert.equal(f.payload.length, 2, "no reason on the wire");
  });

  it("an extension producing more than maxPayload fails with 1009, and a throwing session.close is not lost", () => {
    const scheduled: Array<() => void> = [];
    const original = globalThis.queueMicrotask;
    const inflater: ExtensionSession = {
      name: "x-inflate",
      rsv1: true,
      processIncoming: (m: ExtensionMessage) => ({ ...m, rsv1: false, data: new Uint8Array(5000) }),
      processOutgoing: (m: ExtensionMessage) => m,
      close: () => {
        throw new Error("close failed");
      },
    };
    const e = testEngine({ role: "server", extensions: [inflater], maxPayload: 1000 });
    globalThis.queueMicrotask = (fn) => void scheduled.push(fn);
    try {
      e.receiveData(cframe(2, "x", { rsv: 4 }));
    } finally {
      globalThis.queueMicrotask = original;
    }
    assert.equal(codeOf(e), 1009);
    assert.equal(scheduled.length, 1);
    assert.throws(scheduled[0], { message: "close failed" });
  });

  it("sendPrepared waits behind a streamed message and behind pending transforms", async () => {
    const e = testEngine({ role: "server" });
    const w = e.startMessage("text");
    w.write("a");
    e.sendPrepared(prepareMessage("P"));
    w.end("b");
    assert.deepEqual(
      decodeFrames(concat(e.takeOutput())).map((f) => [f.opcode, Buffer.from(f.payload).toString()]),
      [
        [1, "a"],
        [0, "b"],
        [1, "P"],
      ],
    );
    const slow: ExtensionSession = {
      name: "x-slow",
      processIncoming: (m) => m,
      processOutgoing: (m) => new Promise<ExtensionMessage>((r) => setTimeout(() => r(m), 2)),
    };
    const x = testEngine({ role: "server", extensions: [slow] });
    x.send("first");
    x.sendPrepared(prepareMessage("second"));
    await sleep(10);
    assert.deepEqual(
      decodeFrames(concat(x.takeOutput())).map((f) => Buffer.from(f.payload).toString()),
      ["first", "second"],
    );
  });

  it("close() while CONNECTING: no open event; the close frame leaves on open()", () => {
    const e = testEngine({ role: "server", startConnecting: true });
    e.close(1001);
    assert.deepEqual(e.takeOutput(), []);
    e.open();
    assert.equal(codeOf(e), 1001);
    assert.deepEqual(e.takeEvents().map(plain), [{ type: "closing", code: 1001, reason: "", initiator: "local" }]);
  });

  it("the text event decodes lazily, once, and serialises to JSON", () => {
    let calls = 0;
    const e = testEngine({
      role: "server",
      decodeUtf8: (b, s, e) => {
        calls++;
        return Buffer.from(b.buffer, b.byteOffset, b.length).toString("utf8", s, e);
      },
    });
    e.receiveData(cframe(1, "héllo"));
    const [ev] = e.takeEvents();
    assert.equal(calls, 0);
    assert.ok(ev.type === "text");
    assert.equal(ev.data, "héllo");
    assert.equal(ev.data, "héllo");
    assert.equal(calls, 1);
    assert.equal(JSON.stringify(ev), '{"type":"text","data":"héllo"}');
  });
});
