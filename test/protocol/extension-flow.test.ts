/**
 * ExtensionFlow on its own, with a hand-made session whose transforms finish when the test says
 * (deferred promises): order kept both ways, events and frames waiting behind a transform,
 * afterFramed callbacks, a failing transform, abandon and close. Through the engine with
 * permessage-deflate: engine-extensions.test.ts.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ExtensionFlow, type FlowTarget } from "../../src/protocol/extension-flow.js";
import type { ExtensionMessage, ExtensionSession } from "../../src/protocol/extensions/extension.js";
import type { OutgoingMessage } from "../../src/protocol/extensions/extension-pipeline.js";
import { decodeUtf8 } from "../../src/protocol/text-message.js";
import type { EngineEvent } from "../../src/protocol/types.js";
import { isValidUtf8 } from "../../src/protocol/utf8.js";

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A session whose transforms wait for `release()` when the payload starts with "slow". */
function session(): { session: ExtensionSession; release: () => void; closed: () => number; fail: boolean } {
  const waiting: Array<() => void> = [];
  let closed = 0;
  const state = {
    fail: false,
    release: () => {
      for (const go of waiting.splice(0)) go();
    },
    closed: () => closed,
    session: {
      name: "test",
      rsv1: true,
      processIncoming: (m: ExtensionMessage) => transform(m),
      processOutgoing: (m: ExtensionMessage) => transform(m),
      close: () => {
        closed++;
      },
    } as ExtensionSession,
  };
  function transform(m: ExtensionMessage): ExtensionMessage | Promise<ExtensionMessage> {
    if (state.fail) throw new Error("transform failed");
    if (new TextDecoder().decode(m.data).startsWith("slow")) {
      return new Promise((resolve) => waiting.push(() => resolve({ ...m, rsv1: false })));
    }
    return { ...m, rsv1: false };
  }
  return state;
}

function recordingTarget(): FlowTarget & { log: string[]; failures: unknown[]; settles: number } {
  const target = {
    log: [] as string[],
    failures: [] as unknown[],
    settles: 0,
    commit(event: EngineEvent) {
      const data = "data" in event && event.data instanceof Uint8Array ? new TextDecoder().decode(event.data) : "";
      target.log.push(`event ${event.type}${"text" in event ? ` ${String(event.text)}` : data ? ` ${data}` : ""}`);
    },
    frame(o: OutgoingMessage) {
      target.log.push(`frame ${o.opcode} ${new TextDecoder().decode(o.data)}`);
    },
    fail(error: unknown) {
      target.failures.push(error);
    },
    settled() {
      target.settles++;
    },
  };
  return target;
}

const options = { maxPayload: 1 << 20, isUtf8: isValidUtf8, decode: decodeUtf8, validateUtf8: true };

function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

describe("ExtensionFlow", () => {
  it("synchronous transforms pass straight through, in order", () => {
    const s = session();
    const target = recordingTarget();
    const flow = new ExtensionFlow([s.session], options, target);
    flow.send(1, text("a"), undefined);
    flow.frame({ message: false, opcode: 0x9, fin: true, rsv: 0, data: text("ping") });
    assert.deepEqual(target.log, ["frame 1 a", "frame 9 ping"]);
    assert.equal(flow.outbound.idle, true);
  });

  it("frames and afterFramed callbacks wait behind a message being transformed", async () => {
    const s = session();
    const target = recordingTarget();
    const flow = new ExtensionFlow([s.session], options, target);
    flow.send(1, text("slow one"), undefined);
    flow.send(1, text("fast"), undefined);
    flow.frame({ message: false, opcode: 0x8, fin: true, rsv: 0, data: text("bye") });
    let framed = false;
    flow.afterFramed(() => {
      framed = true;
    });
    assert.deepEqual(target.log, []);
    assert.equal(framed, false);
    s.release();
    await tick();
    assert.deepEqual(target.log, ["frame 1 slow one", "frame 1 fast", "frame 8 bye"]);
    assert.equal(framed, true);
    assert.ok(target.settles > 0);
  });

  it("events wait behind a received message being transformed", async () => {
    const s = session();
    const target = recordingTarget();
    const flow = new ExtensionFlow([s.session], options, target);
    flow.receive(2, 4, text("slow payload"));
    flow.event({ type: "ping", data: text("p") });
    assert.deepEqual(target.log, []);
    s.release();
    await tick();
    assert.equal(target.log.length, 2);
    assert.match(target.log[0]!, /^event binary/);
    assert.equal(target.log[1], "event ping p");
  });

  it("afterFramed runs at once when nothing waits", () => {
    const flow = new ExtensionFlow([session().session], options, recordingTarget());
    let ran = false;
    flow.afterFramed(() => {
      ran = true;
    });
    assert.equal(ran, true);
  });

  it("a transform that throws fails the connection in its turn", async () => {
    const s = session();
    const target = recordingTarget();
    const flow = new ExtensionFlow([s.session], options, target);
    flow.send(1, text("slow first"), undefined);
    s.fail = true;
    flow.send(1, text("then this"), undefined);
    assert.deepEqual(target.failures, []);
    s.release();
    await tick();
    assert.deepEqual(target.log, ["frame 1 slow first"]);
    assert.equal((target.failures[0] as Error).message, "transform failed");
  });

  it("abandon drops what waits and runs the waiting callbacks; close releases the sessions once", async () => {
    const s = session();
    const target = recordingTarget();
    const flow = new ExtensionFlow([s.session], options, target);
    flow.send(1, text("slow never framed"), undefined);
    let ran = 0;
    flow.afterFramed(() => ran++);
    flow.abandon();
    assert.equal(ran, 1);
    assert.equal(flow.outbound.idle, true);
    s.release();
    await tick();
    assert.deepEqual(target.log, []);
    assert.equal(ran, 1);
    flow.close();
    assert.equal(s.closed(), 1);
  });
});
