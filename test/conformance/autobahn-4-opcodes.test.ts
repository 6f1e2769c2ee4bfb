/** Autobahn section 4: reserved opcodes fail with 1002 (after echoing what came before). */
import { describe, it } from "node:test";
import { cframe, frame } from "../helpers/frames.js";
import { expectCase } from "./harness.js";

const nothing = new Uint8Array(0);

describe("Autobahn 4.1 reserved non-control opcodes", () => {
  it("4.1.1: opcode 3", () => expectCase([cframe(3)], nothing, 1002));
  it("4.1.2: opcode 4 with payload", () => expectCase([cframe(4, "reserved opcode payload")], nothing, 1002));
  for (const [n, op] of [
    ["3", 5],
    ["4", 6],
    ["5", 7],
  ] as const) {
    it(`4.1.${n}: text, opcode ${op}, ping: text echoed, then 1002, no pong`, () => {
      expectCase([cframe(1, "Hello, world!"), cframe(op, "x"), cframe(9)], frame(1, "Hello, world!"), 1002);
    });
  }
});

describe("Autobahn 4.2 reserved control opcodes", () => {
  it("4.2.1: opcode 11", () => expectCase([cframe(11)], nothing, 1002));
  it("4.2.2: opcode 12 with payload", () => expectCase([cframe(12, "reserved opcode payload")], nothing, 1002));
  for (const [n, op] of [
    ["3", 13],
    ["4", 14],
    ["5", 15],
  ] as const) {
    it(`4.2.${n}: text, opcode ${op}, ping: text echoed, then 1002, no pong`, () => {
      expectCase([cframe(1, "Hello, world!"), cframe(op, "x"), cframe(9)], frame(1, "Hello, world!"), 1002);
    });
  }
});
