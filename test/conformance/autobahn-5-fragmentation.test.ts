/** Autobahn section 5: fragmentation. */
import { describe, it } from "node:test";
import { concat } from "../helpers/bytes.js";
import { cframe, frame } from "../helpers/frames.js";
import { expectCase } from "./harness.js";

const nothing = new Uint8Array(0);
const frag = (op: number, s: string, fin: boolean) => cframe(op, s, { fin });

describe("Autobahn 5 fragmentation", () => {
  it("5.1: ping fragmented into 2 fragments fails with 1002", () => {
    expectCase([frag(9, "fragment1", false), frag(0, "fragment2", true)], nothing, 1002);
  });
  it("5.2: pong fragmented into 2 fragments fails with 1002", () => {
    expectCase([frag(10, "fragment1", false), frag(0, "fragment2", true)], nothing, 1002);
  });
  for (const n of ["5.3", "5.4", "5.5"]) {
    it(`${n}: text in 2 fragments is echoed as one message (whole, frame-wise, octet-wise)`, () => {
      expectCase([frag(1, "fragment1", false), frag(0, "fragment2", true)], frame(1, "fragment1fragment2"));
    });
  }
  for (const n of ["5.6", "5.7", "5.8"]) {
    it(`${n}: text in 2 fragments with a ping in between: pong first, then the echo`, () => {
      expectCase(
        [frag(1, "fragment1", false), cframe(9, "ping payload"), frag(0, "fragment2", true)],
        concat([frame(10, "ping payload"), frame(1, "fragment1fragment2")]),
      );
    });
  }
  for (const n of ["5.9", "5.10", "5.11"]) {
    it(`${n}: continuation (FIN) with nothing to continue, then text: 1002`, () => {
      expectCase([frag(0, "non-continuation payload", true), cframe(1, "Hello, world!")], nothing, 1002);
    });
  }
  for (const n of ["5.12", "5.13", "5.14"]) {
    it(`${n}: continuation (no FIN) with nothing to continue, then text: 1002`, () => {
      expectCase([frag(0, "non-continuation payload", false), cframe(1, "Hello, world!")], nothing, 1002);
    });
  }
  it("5.15: text in 2 fragments, then continuation (no FIN), then text: echo, then 1002", () => {
    expectCase(
      [
        frag(1, "fragment1", false),
        frag(0, "fragment2", true),
        frag(0, "fragment3", false),
        frag(1, "fragment4", true),
      ],
      frame(1, "fragment1fragment2"),
      1002,
    );
  });
  it("5.16: twice (continuation no FIN, text no FIN, continuation FIN): 1002", () => {
    const round = [frag(0, "fragment1", false), frag(1, "fragment2", false), frag(0, "fragment3", true)];
    expectCase([...round, ...round], nothing, 1002);
  });
  it("5.17: twice (continuation FIN, text no FIN, continuation FIN): 1002", () => {
    const round = [frag(0, "fragment1", true), frag(1, "fragment2", false), frag(0, "fragment3", true)];
    expectCase([...round, ...round], nothing, 1002);
  });
  it("5.18: text in 2 fragments, both with the text opcode: 1002", () => {
    expectCase([frag(1, "fragment1", false), frag(1, "fragment2", true)], nothing, 1002);
  });
  for (const n of ["5.19", "5.20"]) {
    it(`${n}: text in 5 fragments with pings in between: pongs as they come, then the echo`, () => {
      expectCase(
        [
          frag(1, "fragment1", false),
          frag(0, "fragment2", false),
          cframe(9, "pongme 1!"),
          frag(0, "fragment3", false),
          frag(0, "fragment4", false),
          cframe(9, "pongme 2!"),
          frag(0, "fragment5", true),
        ],
        concat([
          frame(10, "pongme 1!"),
          frame(10, "pongme 2!"),
          frame(1, "fragment1fragment2fragment3fragment4fragment5"),
        ]),
      );
    });
  }
});
