/**
 * RFC 6455 section 5.7's example frames, byte-exact, both directions, fed whole, split at
 * every index and one byte at a time.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { encodeFrame } from "../../src/protocol/frames/frame-encoder.js";
import { concat, fromHex, hex } from "../helpers/bytes.js";
import { RFC_KEY } from "../helpers/frames.js";
import { fixedKeyFill, runAllSplits, testEngine } from "./helpers/engine-run.js";

const HELLO = new TextEncoder().encode("Hello");

const examples = {
  unmaskedText: "81 05 48 65 6c 6c 6f",
  maskedText: "81 85 37 fa 21 3d 7f 9f 4d 51 58",
  fragmentedText: "01 03 48 65 6c 80 02 6c 6f",
  unmaskedPing: "89 05 48 65 6c 6c 6f",
  maskedPong: "8a 85 37 fa 21 3d 7f 9f 4d 51 58",
  binary256Header: "82 7e 01 00",
  binary64KiBHeader: "82 7f 00 00 00 00 00 01 00 00",
};

describe("RFC 6455 5.7 examples: encoding", () => {
  it("a single-frame unmasked text message", () => {
    assert.equal(hex(encodeFrame(1, HELLO)), examples.unmaskedText.replaceAll(" ", ""));
  });
  it("a single-frame masked text message (key 37 fa 21 3d)", () => {
    assert.equal(hex(encodeFrame(1, HELLO, { maskKey: RFC_KEY })), examples.maskedText.replaceAll(" ", ""));
  });
  it("a fragmented unmasked text message", () => {
    const f1 = encodeFrame(1, HELLO.subarray(0, 3), { fin: false });
    const f2 = encodeFrame(0, HELLO.subarray(3));
    assert.equal(hex(concat([f1, f2])), examples.fragmentedText.replaceAll(" ", ""));
  });
  it("unmasked ping and masked pong", () => {
    assert.equal(hex(encodeFrame(9, HELLO)), examples.unmaskedPing.replaceAll(" ", ""));
    assert.equal(hex(encodeFrame(10, HELLO, { maskKey: RFC_KEY })), examples.maskedPong.replaceAll(" ", ""));
  });
  it("256 bytes binary in a single unmasked frame: 16-bit length", () => {
    const f = encodeFrame(2, new Uint8Array(256).fill(7));
    assert.equal(hex(f.subarray(0, 4)), examples.binary256Header.replaceAll(" ", ""));
    assert.equal(f.length, 4 + 256);
  });
  it("64 KiB binary in a single unmasked frame: 64-bit length", () => {
    const f = encodeFrame(2, new Uint8Array(65536).fill(9));
    assert.equal(hex(f.subarray(0, 10)), examples.binary64KiBHeader.replaceAll(" ", ""));
    assert.equal(f.length, 10 + 65536);
  });
  it("the engine sends the same bytes (server unmasked, client masked)", () => {
    const server = testEngine({ role: "server" });
    server.sendText("Hello");
    server.ping("Hello");
    assert.equal(hex(concat(server.takeOutput())), (examples.unmaskedText + examples.unmaskedPing).replaceAll(" ", ""));
    const client = testEngine({ role: "client", randomFill: fixedKeyFill() });
    client.sendText("Hello");
    client.pong("Hello");
    assert.equal(hex(concat(client.takeOutput())), (examples.maskedText + examples.maskedPong).replaceAll(" ", ""));
  });
  it("the engine frames 256 B and 64 KiB binary messages with 16- and 64-bit lengths", () => {
    const server = testEngine({ role: "server" });
    server.sendBinary(new Uint8Array(256));
    server.sendBinary(new Uint8Array(65536));
    const out = concat(server.takeOutput());
    assert.equal(hex(out.subarray(0, 4)), examples.binary256Header.replaceAll(" ", ""));
    assert.equal(hex(out.subarray(260, 270)), examples.binary64KiBHeader.replaceAll(" ", ""));
    assert.equal(out.length, 260 + 10 + 65536);
  });
});

describe("RFC 6455 5.7 examples: parsing, whatever the chunking", () => {
  function agree(bytesHex: string, role: "server" | "client") {
    const results = runAllSplits(fromHex(bytesHex), { role });
    for (const r of results.slice(1)) {
      assert.deepEqual(r.events, results[0].events);
      assert.equal(r.output, results[0].output);
    }
    return results[0];
  }
  it("client receives the unmasked text", () => {
    assert.deepEqual(agree(examples.unmaskedText, "client").events, [{ type: "text", data: "Hello" }]);
  });
  it("server receives the masked text", () => {
    assert.deepEqual(agree(examples.maskedText, "server").events, [{ type: "text", data: "Hello" }]);
  });
  it("client receives the fragmented text as one message", () => {
    assert.deepEqual(agree(examples.fragmentedText, "client").events, [{ type: "text", data: "Hello" }]);
  });
  it("client answers the unmasked ping with a masked pong of the same payload", () => {
    const r = agree(examples.unmaskedPing, "client");
    assert.deepEqual(r.events, [{ type: "ping", data: hex(HELLO) }]);
    assert.equal(r.output, examples.maskedPong.replaceAll(" ", ""));
  });
  it("server reports the masked pong (unsolicited) and sends nothing", () => {
    const r = agree(examples.maskedPong, "server");
    assert.deepEqual(r.events, [{ type: "pong", data: hex(HELLO) }]);
    assert.equal(r.output, "");
  });
  it("client receives 256 B and 64 KiB binary messages", () => {
    const small = concat([fromHex(examples.binary256Header), new Uint8Array(256).fill(1)]);
    const big = concat([fromHex(examples.binary64KiBHeader), new Uint8Array(65536).fill(2)]);
    const client = testEngine({ role: "client" });
    client.receiveData(concat([small, big]));
    const events = client.takeEvents();
    assert.equal(events.length, 2);
    assert.equal(events[0].type === "binary" && events[0].data.length, 256);
    assert.equal(events[1].type === "binary" && events[1].data.length, 65536);
  });
});
