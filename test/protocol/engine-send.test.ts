/** Sending: text/binary, fragmentation, streaming, CONNECTING queue, masking, large payloads, prepared frames. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Engine } from "../../src/protocol/engine.js";
import type { ExtensionMessage, ExtensionSession } from "../../src/protocol/extensions/extension.js";
import { COPY_THRESHOLD } from "../../src/protocol/frames/frame-sender.js";
import { prepareMessage } from "../../src/protocol/prepared-message.js";
import { ReadyState } from "../../src/protocol/types.js";
import { concat, hex, utf8 } from "../helpers/bytes.js";
import { cframe, decodeFrames } from "../helpers/frames.js";
import { fixedKeyFill, plain, RecordingHost, type TestEngine, testEngine } from "./helpers/engine-run.js";

const frames = (e: TestEngine) => decodeFrames(concat(e.takeOutput()));
const summary = (e: TestEngine) => frames(e).map((f) => [f.opcode, f.fin, Buffer.from(f.payload).toString()]);

describe("sending", () => {
  it("strings as text, bytes as binary, `binary` option overrides", () => {
    const e = testEngine({ role: "server" });
    e.send("héllo");
    e.send(utf8("raw"));
    e.send("as binary", { binary: true });
    e.sendText("");
    assert.deepEqual(summary(e), [
      [1, true, "héllo"],
      [2, true, "raw"],
      [2, true, "as binary"],
      [1, true, ""],
    ]);
  });

  it("encodes short and long strings (16-bit and 64-bit lengths) exactly", () => {
    for (const s of [
      "a".repeat(125),
      "a".repeat(126),
      "é".repeat(40),
      "€".repeat(1000),
      "x".repeat(70000),
      "😀".repeat(20),
    ]) {
      const e = testEngine({ role: "server" });
      e.sendText(s);
      const [f] = frames(e);
      assert.equal(Buffer.from(f.payload).toString(), s);
      const c = testEngine({ role: "client", randomFill: fixedKeyFill() });
      c.sendText(s);
      const [g] = frames(c);
      assert.equal(g.masked, true);
      assert.equal(Buffer.from(g.payload).toString(), s);
    }
  });

  it("client frames are masked with keys from randomFill; the caller's bytes are not modified", () => {
    let calls = 0;
    const c = testEngine({
      role: "client",
      randomFill: (b) => {
        calls++;
        b.fill(0x11);
      },
    });
    const data = new Uint8Array(100).fill(0x22);
    c.sendBinary(data);
    c.sendBinary(data);
    assert.deepEqual(data, new Uint8Array(100).fill(0x22));
    const out = concat(c.takeOutput());
    assert.equal(hex(out.subarray(0, 6)), "82e4" + "11111111");
    assert.equal(out[6], 0x22 ^ 0x11);
    assert.equal(calls, 1, "keys come from a pool");
  });

  it("default mask keys come from crypto.getRandomValues and differ", () => {
    const c = testEngine({ role: "client" });
    for (let i = 0; i < 4; i++) c.sendText("x");
    const keys = new Set(c.takeOutput().map((f) => hex(f.subarray(2, 6))));
    assert.equal(keys.size, 4);
  });

  it("server: small frames are one buffer; large payloads header + the caller's bytes (no copy)", () => {
    const e = testEngine({ role: "server", alloc: (n) => new Uint8Array(n) });
    const small = new Uint8Array(COPY_THRESHOLD);
    const large = new Uint8Array(COPY_THRESHOLD + 1);
    e.sendBinary(small);
    assert.equal(e.takeOutput().length, 1);
    e.sendBinary(large);
    const chunks = e.takeOutput();
    assert.equal(chunks.length, 2);
    assert.equal(chunks[0].length, 4);
    assert.equal(chunks[1], large);
  });

  it("uses options.alloc for output buffers", () => {
    let allocated = 0;
    const e = testEngine({
      role: "server",
      alloc: (n) => {
        allocated += n;
        return new Uint8Array(n);
      },
    });
    e.sendBinary(new Uint8Array(10));
    assert.equal(allocated, 12);
  });

  it("auto-fragments messages above fragmentSize", () => {
    const e = testEngine({ role: "server", fragmentSize: 4 });
    e.sendText("0123456789");
    e.sendBinary(utf8("abcd"));
    assert.deepEqual(summary(e), [
      [1, false, "0123"],
      [0, false, "4567"],
      [0, true, "89"],
      [2, true, "abcd"],
    ]);
  });

  it("streams a message with startMessage(): first, middle, last fragments", () => {
    const e = testEngine({ role: "server" });
    const w = e.startMessage("text");
    assert.throws(() => e.startMessage("binary"), { name: "InvalidStateError" });
    w.write("Hel");
    w.write("");
    w.write(utf8("l"));
    e.ping("p"); // control frames may be interleaved (RFC 6455 5.4)
    assert.equal(e.send("queued"), true); // held until the stream ends
    w.end("o");
    assert.throws(() => w.write("again"), { name: "InvalidStateError" });
    assert.deepEqual(summary(e), [
      [1, false, "Hel"],
      [0, false, "l"],
      [9, true, "p"],
      [0, true, "o"],
      [1, true, "queued"],
    ]);
    const v = e.startMessage("binary");
    v.end();
    assert.deepEqual(summary(e), [[2, true, ""]]);
  });

  it("streamed fragments are split further by fragmentSize", () => {
    const e = testEngine({ role: "server", fragmentSize: 2 });
    const w = e.startMessage("binary");
    w.write(utf8("abcde"));
    w.end(utf8("f"));
    assert.deepEqual(summary(e), [
      [2, false, "ab"],
      [0, false, "cd"],
      [0, false, "e"],
      [0, true, "f"],
    ]);
  });

  it("a writer refuses once the connection closes", () => {
    const e = testEngine({ role: "server" });
    const w = e.startMessage("text");
    w.write("a");
    e.close();
    assert.equal(w.write("b"), false);
    assert.equal(w.end("c"), false);
    const closed = e.startMessage("text");
    assert.equal(closed.write("x"), false);
  });

  it("CONNECTING: sends are queued and flushed on open(), input waits too; open event once", () => {
    const e = testEngine({ role: "server", startConnecting: true, protocol: "chat", extensionsHeader: "" });
    assert.equal(e.readyState, ReadyState.CONNECTING);
    assert.equal(e.send("early"), true);
    e.receiveData(cframe(1, "in"));
    assert.deepEqual(e.takeOutput(), []);
    assert.deepEqual(e.takeEvents(), []);
    e.open();
    assert.equal(e.readyState, ReadyState.OPEN);
    assert.deepEqual(summary(e), [[1, true, "early"]]);
    assert.deepEqual(e.takeEvents().map(plain), [
      { type: "open", protocol: "chat", extensions: "" },
      { type: "text", data: "in" },
    ]);
    e.open();
    assert.deepEqual(e.takeEvents(), []);
  });

  it("an engine created open emits no `open`, and open() does nothing for it", () => {
    const e = testEngine({ role: "client" });
    e.open();
    assert.deepEqual(e.takeEvents(), []);
    assert.equal(e.readyState, ReadyState.OPEN);
  });

  it("ping(payload, onPong): callback on the matching pong; unsolicited pongs are events only", () => {
    const e = testEngine({ role: "server" });
    const got: string[] = [];
    e.ping("a", () => got.push("a"));
    e.ping("b", () => got.push("b"));
    e.receiveData(cframe(10, "zzz"));
    assert.deepEqual(got, []);
    e.receiveData(cframe(10, "b")); // answers "b" and the earlier "a"
    assert.deepEqual(got, ["a", "b"]);
    assert.deepEqual(e.takeEvents().map(plain), [
      { type: "pong", data: hex(utf8("zzz")) },
      { type: "pong", data: hex(utf8("b")) },
    ]);
    assert.throws(() => e.ping(new Uint8Array(126)), RangeError);
  });

  it("prepareMessage + sendPrepared: a server writes the shared bytes; a client re-masks", () => {
    const p = prepareMessage("broadcast");
    const s1 = testEngine({ role: "server" });
    const s2 = testEngine({ role: "server" });
    s1.sendPrepared(p);
    s2.sendPrepared(p);
    assert.equal(s1.takeOutput()[0], p.frame);
    assert.equal(s2.takeOutput()[0], p.frame);
    const c = testEngine({ role: "client", randomFill: fixedKeyFill() });
    c.sendPrepared(prepareMessage(utf8("bin")));
    const [f] = frames(c);
    assert.deepEqual([f.opcode, f.masked, Buffer.from(f.payload).toString()], [2, true, "bin"]);
    // With an extension the payload goes through it, as a send would (never the shared frame).
    const reversing: ExtensionSession = {
      name: "x-reverse",
      rsv1: true,
      processIncoming: (m) => m,
      processOutgoing: (m: ExtensionMessage) => ({ ...m, rsv1: true, data: m.data.slice().reverse() }),
    };
    const x = testEngine({ role: "server", extensions: [reversing] });
    x.sendPrepared(p);
    const [g] = frames(x);
    assert.deepEqual([g.opcode, g.rsv, Buffer.from(g.payload).toString()], [1, 4, "tsacdaorb"]);
  });

  it("a server's prepared frame reaches the host as `output(frame, true)`, in order with the other output", () => {
    const p = prepareMessage("shared");
    const order: string[] = [];
    class SharingHost extends RecordingHost {
      override output(chunk: Uint8Array, shared?: boolean): void {
        if (shared === true) assert.equal(chunk, p.frame, "the prepared frame itself");
        order.push(`${shared === true ? "shared" : "own"} ${Buffer.from(chunk.subarray(2)).toString()}`);
      }
    }
    const server = new Engine(new SharingHost(), { role: "server" });
    server.send("before");
    server.sendPrepared(p);
    server.send("after");
    assert.deepEqual(order, ["own before", "shared shared", "own after"]);
    // A client masks and an extension transforms: never the shared frame.
    order.length = 0;
    new Engine(new SharingHost(), { role: "client", randomFill: fixedKeyFill() }).sendPrepared(p);
    assert.equal(order.length, 1);
    assert.match(order[0]!, /^own /);
  });
});
