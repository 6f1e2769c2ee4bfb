/** Autobahn section 3: reserved bits without a negotiated extension fail with 1002. */
import { describe, it } from "node:test";
import { cframe, closeBody, frame } from "../helpers/frames.js";
import { expectCase } from "./harness.js";

describe("Autobahn 3 reserved bits", () => {
  it("3.1: text with RSV = 1", () => {
    expectCase([cframe(1, "Hello, world!", { rsv: 1 })], new Uint8Array(0), 1002);
  });
  it("3.2: text, then text with RSV = 2, then ping: the first is echoed, then 1002", () => {
    expectCase(
      [cframe(1, "Hello, world!"), cframe(1, "Hello, world!", { rsv: 2 }), cframe(9, "Hello, world!")],
      frame(1, "Hello, world!"),
      1002,
    );
  });
  it("3.3: same with RSV = 3, frame by frame", () => {
    expectCase(
      [cframe(1, "Hello, world!"), cframe(1, "Hello, world!", { rsv: 3 }), cframe(9, "Hello, world!")],
      frame(1, "Hello, world!"),
      1002,
    );
  });
  it("3.4: same with RSV = 4, octet by octet", () => {
    expectCase(
      [cframe(1, "Hello, world!"), cframe(1, "Hello, world!", { rsv: 4 }), cframe(9, "Hello, world!")],
      frame(1, "Hello, world!"),
      1002,
    );
  });
  it("3.5: binary with RSV = 5", () => {
    expectCase([cframe(2, Uint8Array.of(0, 0xff, 0xfe), { rsv: 5 })], new Uint8Array(0), 1002);
  });
  it("3.6: ping with RSV = 6", () => {
    expectCase([cframe(9, "Hello, world!", { rsv: 6 })], new Uint8Array(0), 1002);
  });
  it("3.7: close with RSV = 7", () => {
    expectCase([cframe(8, closeBody(1000), { rsv: 7 })], new Uint8Array(0), 1002);
  });
});
