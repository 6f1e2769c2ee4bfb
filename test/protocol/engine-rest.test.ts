/** atRest: an engine holding nothing a new one would not (a host may then drop it; see WebSocketEngine.atRest). */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ExtensionMessage, ExtensionSession } from "../../src/protocol/extensions/extension.js";
import { concat } from "../helpers/bytes.js";
import { cframe, closeBody } from "../helpers/frames.js";
import { testEngine } from "./helpers/engine-run.js";

/** Frame ends of `frames` back to back, and which of them leave the engine at rest. */
function boundaries(frames: Array<{ bytes: Uint8Array; rest: boolean }>): {
  stream: Uint8Array;
  rest: Map<number, boolean>;
} {
  const rest = new Map<number, boolean>();
  let at = 0;
  for (const f of frames) {
    at += f.bytes.length;
    rest.set(at, f.rest);
  }
  return { stream: concat(frames.map((f) => f.bytes)), rest };
}

describe("atRest", () => {
  it("is true for a new server engine and false once it closed or is closing", () => {
    const e = testEngine({ role: "server" });
    assert.equal(e.atRest(), true);
    e.close(1000);
    assert.equal(e.atRest(), false);
    const f = testEngine({ role: "server" });
    f.receiveEof();
    assert.equal(f.atRest(), false);
  });

  it("at every byte of the input: true exactly between frames outside a fragmented message", () => {
    const { stream, rest } = boundaries([
      { bytes: cframe(0xa, ""), rest: true }, // a heartbeat's pong
      { bytes: cframe(0x1, "hello"), rest: true },
      { bytes: cframe(0x9, "are you there"), rest: true }, // answered at once
      { bytes: cframe(0x1, "frag", { fin: false }), rest: false },
      { bytes: cframe(0xa, "in between"), rest: false }, // a control frame inside a fragmented message
      { bytes: cframe(0x0, "ment", { fin: true }), rest: true },
      { bytes: cframe(0x2, new Uint8Array(300)), rest: true }, // 16-bit length
      { bytes: cframe(0xa, ""), rest: true },
    ]);
    const e = testEngine({ role: "server" });
    for (let i = 0; i < stream.length; i++) {
      e.receiveData(stream.slice(i, i + 1));
      assert.equal(e.atRest(), rest.get(i + 1) ?? false, `after byte ${i + 1}`);
    }
    const types = e.takeEvents().map((ev) => ev.type);
    assert.deepEqual(types, ["pong", "text", "ping", "pong", "text", "binary", "pong"]);
  });

  it("is false while a ping of ours awaits its pong, and true once answered", () => {
    const e = testEngine({ role: "server" });
    let answered = 0;
    e.ping("p1", () => answered++);
    assert.equal(e.atRest(), false);
    e.receiveData(cframe(0xa, "other"));
    assert.equal(e.atRest(), false, "an unsolicited pong answers nothing");
    e.receiveData(cframe(0xa, "p1"));
    assert.equal(answered, 1);
    assert.equal(e.atRest(), true);
  });

  it("is false while pongs are held or one is owed, and while a message is sent in pieces", () => {
    const e = testEngine({ role: "server" });
    e.holdPongs(true);
    assert.equal(e.atRest(), false);
    e.receiveData(cframe(0x9, "x"));
    e.holdPongs(false);
    assert.equal(e.atRest(), true);
    const writer = e.startMessage("text");
    writer.write("a");
    assert.equal(e.atRest(), false);
    writer.end("b");
    assert.equal(e.atRest(), true);
  });

  it("is false inside a dispatch and with extensions", () => {
    let inside: boolean | undefined;
    const e = testEngine({ role: "server", onEvent: () => (inside = e.atRest()) });
    e.receiveData(cframe(0x1, "hi"));
    assert.equal(inside, false);
    assert.equal(e.atRest(), true);
    const identity: ExtensionSession = {
      name: "x-identity",
      processIncoming: (m: ExtensionMessage) => m,
      processOutgoing: (m: ExtensionMessage) => m,
      close() {},
    } as ExtensionSession;
    assert.equal(testEngine({ role: "server", extensions: [identity] }).atRest(), false);
  });

  it("after a close frame from the peer: not at rest", () => {
    const e = testEngine({ role: "server" });
    e.receiveData(cframe(0x8, closeBody(1000)));
    assert.equal(e.atRest(), false);
  });
});
