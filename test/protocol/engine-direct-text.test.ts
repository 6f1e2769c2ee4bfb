/**
 * EngineOptions `directText`: a text message dispatched at once goes to the host's `dispatchText`
 * as its string (no event object); everything else, and a text message that must wait behind
 * another event, comes to `dispatch` as before, in the same order. The echo shortcut holds for it.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Engine } from "../../src/protocol/engine.js";
import type { ExtensionMessage, ExtensionSession } from "../../src/protocol/extensions/extension.js";
import type { EngineEvent, EngineOptions } from "../../src/protocol/types.js";
import { concat, hex } from "../helpers/bytes.js";
import { cframe } from "../helpers/frames.js";
import { RecordingHost } from "./helpers/engine-run.js";

/** A host that records `dispatch` and `dispatchText` calls in one list, in order (and the events). */
class TextHost extends RecordingHost {
  readonly log: string[] = [];
  readonly events: EngineEvent[] = [];
  onText: ((data: string) => void) | null = null;
  constructor() {
    super({
      onEvent: (ev) => {
        this.events.push(ev);
        this.log.push(ev.type === "text" ? `event:${ev.data}` : `event:${ev.type}`);
      },
    });
  }
  dispatchText(data: string): void {
    this.log.push(`string:${data}`);
    this.onText?.(data);
  }
}

function directEngine(options: Partial<EngineOptions> = {}): { engine: Engine; host: TextHost } {
  const host = new TextHost();
  const engine = new Engine(host, { role: "server", directText: true, ...options });
  return { engine, host };
}

function textFrameHex(bytes: Uint8Array): string {
  return hex(new Uint8Array([0x81, bytes.length, ...bytes]));
}

/**
 * A server engine with directText whose decoders do not give the bytes' text ("LIE"): what it
 * frames shows which bytes an echo took. `onText` is its host's dispatchText; `out` the frames, in hex.
 */
function lyingEcho(onText: (engine: Engine, data: string) => void): { engine: Engine; out: string[] } {
  const lie = () => "LIE";
  const out: string[] = [];
  const engine: Engine = new Engine(
    {
      output: (c: Uint8Array) => out.push(hex(c)),
      outputRange: (b: Uint8Array, start: number, end: number) => out.push(hex(b.subarray(start, end))),
      dispatch: () => {},
      awaitClose() {},
      closeTransport() {},
      dispatchText: (data: string) => onText(engine, data),
    },
    { role: "server", directText: true, decodeUtf8: lie, decodeAscii: lie },
  );
  return { engine, out };
}

describe("directText", () => {
  it("text messages (whole, fragmented, split across chunks, UTF-8) come as strings; binary and control as events", () => {
    const { engine, host } = directEngine();
    const frames = concat([
      cframe(1, "one"),
      cframe(2, new Uint8Array([1, 2])),
      cframe(1, "hé", { fin: false }),
      cframe(9, "p"),
      cframe(0, "llo ✓"),
      cframe(1, "x".repeat(300)),
    ]);
    const cut = 9;
    engine.receiveData(frames.slice(0, cut));
    engine.receiveData(frames.slice(cut));
    assert.deepEqual(host.log, [
      "string:one",
      "event:binary",
      "event:ping",
      "string:héllo ✓",
      `string:${"x".repeat(300)}`,
    ]);
  });

  it("is off without the option, and with it for a host without dispatchText", () => {
    const host = new TextHost();
    new Engine(host, { role: "server" }).receiveData(cframe(1, "a"));
    assert.deepEqual(host.log, ["event:a"]);
    const events: EngineEvent[] = [];
    const plainHost = new RecordingHost({ onEvent: (ev) => events.push(ev) });
    new Engine(plainHost, { role: "server", directText: true }).receiveData(cframe(1, "b"));
    assert.deepEqual(
      events.map((ev) => ev.type === "text" && ev.data),
      ["b"],
    );
  });

  it("with an extension, text comes as events (the flow transforms whole messages)", () => {
    // A synchronous extension that claims RSV1 and passes messages through.
    const session: ExtensionSession = {
      name: "x-pass",
      rsv1: true,
      processIncoming: (m: ExtensionMessage) => ({ ...m, rsv1: false }),
      processOutgoing: (m: ExtensionMessage) => m,
      close() {},
    };
    const { engine, host } = directEngine({ extensions: [session] });
    engine.receiveData(concat([cframe(1, "plain"), cframe(1, "claimed", { rsv: 4 })]));
    assert.deepEqual(host.log, ["event:plain", "event:claimed"]);
  });

  it("input fed from inside dispatchText is parsed after it returns, in stream order", () => {
    const { engine, host } = directEngine();
    host.onText = (data) => {
      if (data === "first") engine.receiveData(concat([cframe(1, "third"), cframe(2, new Uint8Array([7]))]));
      host.log.push(`end:${data}`);
    };
    engine.receiveData(concat([cframe(1, "first"), cframe(1, "second")]));
    assert.deepEqual(host.log, [
      "string:first",
      "end:first",
      "string:second",
      "end:second",
      "string:third",
      "end:third",
      "event:binary",
    ]);
  });

  it("a text message that must wait behind another event (fed from a closing listener) comes as a text event", () => {
    const { engine, host } = directEngine();
    host.dispatch = (ev) => {
      host.log.push(ev.type === "text" ? `event:${ev.data}` : `event:${ev.type}`);
      if (ev.type === "closing") {
        engine.receiveData(cframe(1, "late"));
        host.log.push("end:closing");
      }
    };
    engine.close(1000, "");
    assert.deepEqual(host.log.slice(0, 3), ["event:closing", "end:closing", "event:late"]);
  });

  it("a throwing dispatchText fails the connection with 1011, as a throwing dispatch does", () => {
    const { engine, host } = directEngine();
    const boom = new Error("boom");
    host.onText = () => {
      throw boom;
    };
    engine.receiveData(concat([cframe(1, "x"), cframe(1, "not delivered")]));
    assert.deepEqual(host.log, ["string:x", "event:error", "event:closing", "event:close"]);
    const close = host.events.at(-1);
    assert.ok(close?.type === "close" && close.code === 1011 && close.error === boom);
    assert.ok(host.events[0].type === "error" && host.events[0].error === boom);
  });

  it("a decoder that throws (a string too long for the VM) fails the connection with 1011, nothing thrown", () => {
    const tooLong = new RangeError("Invalid string length");
    const { engine, host } = directEngine({
      decodeAscii: () => {
        throw tooLong;
      },
    });
    engine.receiveData(cframe(1, "x"));
    assert.deepEqual(host.log, ["event:error", "event:closing", "event:close"]);
    const close = host.events.at(-1);
    assert.ok(close?.type === "close" && close.code === 1011 && close.error === tooLong);
  });

  it("echo shortcut: sending the string being dispatched frames the received bytes, not the string's encoding", () => {
    const { engine, out } = lyingEcho((engine, data) => engine.sendText(data));
    engine.receiveData(concat([cframe(1, "abc"), cframe(1, "héllo")]));
    engine.sendText("LIE"); // after the dispatch: encoded
    const enc = new TextEncoder();
    assert.deepEqual(out, [
      textFrameHex(enc.encode("abc")),
      textFrameHex(enc.encode("héllo")),
      textFrameHex(enc.encode("LIE")),
    ]);
  });

  it("echo shortcut: input fed from inside the handler does not disturb it; each message echoes its own bytes", () => {
    let fed = false;
    const { engine, out } = lyingEcho((engine, data) => {
      if (!fed) {
        fed = true;
        engine.receiveData(cframe(1, "zzzzzzzz"));
      }
      engine.sendText(data);
    });
    engine.receiveData(cframe(1, "abc"));
    const enc = new TextEncoder();
    assert.deepEqual(out, [textFrameHex(enc.encode("abc")), textFrameHex(enc.encode("zzzzzzzz"))]);
  });
});
