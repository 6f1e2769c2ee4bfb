/** Autobahn section 1: framing. Text and binary messages of boundary lengths, echoed. */
import { describe, it } from "node:test";
import { concat } from "../helpers/bytes.js";
import { cframe, frame } from "../helpers/frames.js";
import { expectCase } from "./harness.js";

const LENGTHS: Array<[string, number]> = [
  ["1", 0],
  ["2", 125],
  ["3", 126],
  ["4", 127],
  ["5", 128],
  ["6", 65535],
  ["7", 65536],
];

describe("Autobahn 1.1 text messages", () => {
  for (const [n, len] of LENGTHS) {
    it(`1.1.${n}: text message of ${len} bytes is echoed`, () => {
      const payload = new Uint8Array(len).fill(0x2a); // '*'
      expectCase([cframe(1, payload)], frame(1, payload));
    });
  }
  it("1.1.8: text message of 65535 bytes sent in chops of 997 octets", () => {
    const payload = new Uint8Array(65535).fill(0x2a);
    const f = cframe(1, payload);
    const chops = [];
    for (let i = 0; i < f.length; i += 997) chops.push(f.subarray(i, i + 997));
    expectCase(chops, frame(1, payload));
  });
});

describe("Autobahn 1.2 binary messages", () => {
  for (const [n, len] of LENGTHS) {
    it(`1.2.${n}: binary message of ${len} bytes is echoed`, () => {
      const payload = new Uint8Array(len).fill(0xfe);
      expectCase([cframe(2, payload)], frame(2, payload));
    });
  }
  it("1.2.8: binary message of 65535 bytes sent in chops of 997 octets", () => {
    const payload = new Uint8Array(65535).fill(0xfe);
    const f = cframe(2, payload);
    const chops = [];
    for (let i = 0; i < f.length; i += 997) chops.push(f.subarray(i, i + 997));
    expectCase(chops, concat([frame(2, payload)]));
  });
});
