/** Autobahn section 7: the closing handshake. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { concat, fromHex } from "../helpers/bytes.js";
import { cframe, closeBody, frame } from "../helpers/frames.js";
import { closeEcho, echoServer, expectCase } from "./harness.js";

const nothing = new Uint8Array(0);

describe("Autobahn 7.1 basic close behaviour", () => {
  it("7.1.1: a message, then close: echo, then the close echo", () => {
    expectCase(
      [cframe(1, "Hello World!"), cframe(8, closeBody(1000))],
      concat([frame(1, "Hello World!"), closeEcho(1000)]),
    );
  });
  it("7.1.2: two close frames: only one reply", () => {
    expectCase([cframe(8, closeBody(1000)), cframe(8, closeBody(1000))], closeEcho(1000));
  });
  it("7.1.3: close, then ping: no pong", () => {
    expectCase([cframe(8, closeBody(1000)), cframe(9, "Hello World!")], closeEcho(1000));
  });
  it("7.1.4: close, then text: not echoed", () => {
    expectCase([cframe(8, closeBody(1000)), cframe(1, "Hello World!")], closeEcho(1000));
  });
  it("7.1.5: text fragment, close, then the rest: the message is dropped", () => {
    expectCase(
      [cframe(1, "fragment1", { fin: false }), cframe(8, closeBody(1000)), cframe(0, "fragment2")],
      closeEcho(1000),
    );
  });
  it("7.1.6: a large message, a ping, then close: all answered in order", () => {
    const big = new Uint8Array(256 * 1024).fill(0x2a);
    expectCase(
      [cframe(1, big), cframe(9, "Hello World!"), cframe(8, closeBody(1000))],
      concat([frame(1, big), frame(10, "Hello World!"), closeEcho(1000)]),
    );
  });
});

describe("Autobahn 7.3 close frame structure", () => {
  it("7.3.1: empty close payload: an empty close in reply", () => expectCase([cframe(8)], closeEcho()));
  it("7.3.2: 1-byte close payload: 1002", () => expectCase([cframe(8, Uint8Array.of(0x03))], nothing, 1002));
  it("7.3.3: close with 1000 and no reason", () => expectCase([cframe(8, closeBody(1000))], closeEcho(1000)));
  it("7.3.4: close with 1000 and a reason: the code is echoed", () => {
    expectCase([cframe(8, closeBody(1000, "Hello World!"))], closeEcho(1000));
  });
  it("7.3.5: close with a 123-byte reason", () => {
    expectCase([cframe(8, closeBody(1000, "*".repeat(123)))], closeEcho(1000));
  });
  it("7.3.6: close with a 124-byte reason (payload 126): 1002", () => {
    expectCase([cframe(8, closeBody(1000, "*".repeat(124)))], nothing, 1002);
  });
});

describe("Autobahn 7.5 invalid reason", () => {
  it("7.5.1: close reason with invalid UTF-8: 1007", () => {
    const body = concat([closeBody(1000), fromHex("cebae1bdb9cf83cebcceb5eda080656469746564")]);
    expectCase([cframe(8, body)], nothing, 1007);
  });
});

describe("Autobahn 7.7 valid close codes are echoed", () => {
  [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999].forEach((code, i) => {
    it(`7.7.${i + 1}: close code ${code}`, () => expectCase([cframe(8, closeBody(code))], closeEcho(code)));
  });
  [1012, 1013, 1014].forEach((code) => {
    it(`IANA-registered code ${code} is accepted too`, () => expectCase([cframe(8, closeBody(code))], closeEcho(code)));
  });
});

describe("Autobahn 7.9 and 7.13 invalid close codes fail with 1002", () => {
  [0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999].forEach((code, i) => {
    it(`7.9.${i + 1}: close code ${code}`, () => expectCase([cframe(8, closeBody(code))], nothing, 1002));
  });
  it("7.13.1: close code 5000", () => expectCase([cframe(8, closeBody(5000))], nothing, 1002));
  it("7.13.2: close code 65535", () => expectCase([cframe(8, closeBody(65535))], nothing, 1002));
  it("1015 (TLS handshake) may never appear on the wire", () =>
    expectCase([cframe(8, closeBody(1015))], nothing, 1002));
});

describe("closing initiated by the server", () => {
  it("the server closes, the client replies: clean, code reported, transport to close", () => {
    const s = echoServer();
    s.engine.close(1001, "going away");
    s.feed(cframe(8, closeBody(1001)));
    const last = s.events.at(-1);
    assert.ok(last?.type === "close" && last.wasClean && last.code === 1001);
    assert.equal(s.engine.host.closeTransportCalls, 1);
  });
});
