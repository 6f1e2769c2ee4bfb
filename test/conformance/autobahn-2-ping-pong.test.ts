/** Autobahn section 2: pings and pongs. */
import { describe, it } from "node:test";
import { concat, utf8 } from "../helpers/bytes.js";
import { cframe, frame } from "../helpers/frames.js";
import { expectCase } from "./harness.js";

describe("Autobahn 2 ping/pong", () => {
  it("2.1: ping without payload gets a pong without payload", () => {
    expectCase([cframe(9)], frame(10));
  });
  it("2.2: ping with a small text payload", () => {
    expectCase([cframe(9, "Hello, world!")], frame(10, "Hello, world!"));
  });
  it("2.3: ping with a small binary payload", () => {
    const p = Uint8Array.of(0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff);
    expectCase([cframe(9, p)], frame(10, p));
  });
  it("2.4: ping with a 125-byte payload", () => {
    const p = new Uint8Array(125).fill(0xfe);
    expectCase([cframe(9, p)], frame(10, p));
  });
  it("2.5: ping with a 126-byte payload fails with 1002", () => {
    expectCase([cframe(9, new Uint8Array(126).fill(0xfe))], new Uint8Array(0), 1002);
  });
  it("2.6: ping with a 125-byte payload sent one octet at a time", () => {
    const p = new Uint8Array(125).fill(0xfe);
    expectCase([cframe(9, p)], frame(10, p)); // expectCase also runs the octet chop
  });
  it("2.7: unsolicited pong without payload: nothing is sent", () => {
    expectCase([cframe(10)], new Uint8Array(0));
  });
  it("2.8: unsolicited pong with payload: nothing is sent", () => {
    expectCase([cframe(10, "unsolicited pong payload")], new Uint8Array(0));
  });
  it("2.9: unsolicited pong, then ping: only the ping is answered", () => {
    expectCase([cframe(10, "unsolicited pong payload"), cframe(9, "ping payload")], frame(10, "ping payload"));
  });
  it("2.10: 10 pings are answered by 10 pongs, in order", () => {
    const frames = Array.from({ length: 10 }, (_, i) => cframe(9, `payload-${i}`));
    expectCase(frames, concat(Array.from({ length: 10 }, (_, i) => frame(10, utf8(`payload-${i}`)))));
  });
  it("2.11: 10 pings sent one octet at a time", () => {
    const frames = Array.from({ length: 10 }, (_, i) => cframe(9, `payload-${i}`));
    expectCase(frames, concat(Array.from({ length: 10 }, (_, i) => frame(10, `payload-${i}`))));
  });
});
