/** The echo shortcut: a handler sending back the string it just received reuses the validated bytes. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { EngineEvent } from "../../src/protocol/types.js";
import { concat, hex } from "../helpers/bytes.js";
import { cframe } from "../helpers/frames.js";
import { type TestEngine, testEngine } from "./helpers/engine-run.js";

function echoServer(onText: (ev: Extract<EngineEvent, { type: "text" }>, e: TestEngine) => void, fragmentSize = 0) {
  const out: string[] = [];
  const e: TestEngine = testEngine({
    role: "server",
    fragmentSize,
    onOutput: (c) => out.push(hex(c)),
    onEvent: (ev) => {
      if (ev.type === "text") onText(ev, e);
    },
  });
  return { e, out };
}

function textFrameHex(text: string): string {
  const bytes = new TextEncoder().encode(text);
  return hex(new Uint8Array([0x81, bytes.length, ...bytes]));
}

describe("echo shortcut", () => {
  it("frames the received bytes when the handler sends back the same string (ASCII, multi-byte, empty)", () => {
    for (const text of ["hello", "héllo wörld ✓ 𝄞", "", "x".repeat(125)]) {
      const { e, out } = echoServer((ev, engine) => engine.sendText(ev.data));
      e.receiveData(cframe(1, text));
      assert.deepEqual(out, [textFrameHex(text)], text);
    }
  });

  it("several messages in one chunk are each echoed with their own bytes", () => {
    const { e, out } = echoServer((ev, engine) => engine.sendText(ev.data));
    e.receiveData(concat([cframe(1, "one"), cframe(1, "two"), cframe(1, "three")]));
    assert.deepEqual(out, ["one", "two", "three"].map(textFrameHex));
  });

  it("is not used once the app took (and may have modified) the bytes", () => {
    const { e, out } = echoServer((ev, engine) => {
      const text = ev.data;
      ev.bytes[0] = 0x41;
      engine.sendText(text);
    });
    e.receiveData(cframe(1, "abc"));
    assert.deepEqual(out, [textFrameHex("abc")]);
  });

  it("a different string, a binary send, a later send and fragmentation still encode normally", () => {
    let saved = "";
    const { e, out } = echoServer((ev, engine) => {
      saved = ev.data;
      engine.sendText(`${ev.data}!`);
      engine.send(ev.data, { binary: true });
    }, 2);
    e.receiveData(cframe(1, "ab"));
    e.sendText(saved);
    // fragmentSize 2: "ab!" -> "ab" + "!"; binary "ab"; the later "ab" is one frame of 2 bytes.
    assert.deepEqual(out, ["01026162", "800121", "82026162", "81026162"]);
  });
});
