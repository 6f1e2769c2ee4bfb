/**
 * Autobahn sections 1-5 over real TCP against the CLI echo server (`wirecable echo`):
 * framing, ping/pong, reserved bits, reserved opcodes, fragmentation. Every case of these
 * sections, named after it, with the frames, payloads and chops of autobahntestsuite/case/
 * case1_*.py-case5_*.py (pauses between frames are shorter), asserting that case's verdict.
 */
import { after, before, describe, it } from "node:test";
import { frame, OP } from "../../helpers/frames.js";
import { sleep } from "../../helpers/time.js";
import { binary, type EchoTarget, echoCase, failCase, pong, startCliEcho, text } from "./harness.js";

/** A masked client frame. */
const F = (op: number, payload: Uint8Array | string = "", o: { fin?: boolean; rsv?: number } = {}) =>
  frame(op, payload, { ...o, mask: "random" });
const frag = (op: number, payload: Buffer | string) => F(op, payload, { fin: false });

let echo: EchoTarget;
before(async () => {
  echo = await startCliEcho();
});
after(async () => {
  await echo?.stop();
});

describe("Autobahn 1: framing (text and binary, lengths 0-65536)", { timeout: 60_000 }, () => {
  const sizes = [0, 125, 126, 127, 128, 65535, 65536];
  sizes.forEach((n, i) => {
    it(`1.1.${i + 1}: text message of ${n} octets`, async () => {
      const p = "*".repeat(n);
      await echoCase(echo, (c) => c.send(F(OP.TEXT, p)), [text(p)]);
    });
  });
  it("1.1.8: text message of 65536 octets, sent in chops of 997 octets", async () => {
    const p = "*".repeat(65536);
    await echoCase(echo, (c) => c.send(F(OP.TEXT, p), 997), [text(p)]);
  });
  sizes.forEach((n, i) => {
    it(`1.2.${i + 1}: binary message of ${n} octets`, async () => {
      const p = Buffer.alloc(n, 0xfe);
      await echoCase(echo, (c) => c.send(F(OP.BINARY, p)), [binary(p)]);
    });
  });
  it("1.2.8: binary message of 65536 octets, sent in chops of 997 octets", async () => {
    const p = Buffer.alloc(65536, 0xfe);
    await echoCase(echo, (c) => c.send(F(OP.BINARY, p), 997), [binary(p)]);
  });
});

describe("Autobahn 2: ping/pong", { timeout: 60_000 }, () => {
  it("2.1: ping without payload -> pong without payload", async () => {
    await echoCase(echo, (c) => c.send(F(OP.PING)), [pong()]);
  });
  it("2.2: ping with small text payload", async () => {
    await echoCase(echo, (c) => c.send(F(OP.PING, "Hello, world!")), [pong("Hello, world!")]);
  });
  it("2.3: ping with small binary (non UTF-8) payload", async () => {
    const p = Buffer.from([0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff]);
    await echoCase(echo, (c) => c.send(F(OP.PING, p)), [pong(p)]);
  });
  it("2.4: ping with 125-octet payload", async () => {
    const p = Buffer.alloc(125, 0xfe);
    await echoCase(echo, (c) => c.send(F(OP.PING, p)), [pong(p)]);
  });
  it("2.5: ping with 126-octet payload -> 1002", async () => {
    await failCase(echo, (c) => c.send(F(OP.PING, Buffer.alloc(126, 0xfe))), [1002]);
  });
  it("2.6: ping with 125-octet payload, sent in 1-octet chops", async () => {
    const p = Buffer.alloc(125, 0xfe);
    await echoCase(echo, (c) => c.send(F(OP.PING, p), 1), [pong(p)]);
  });
  it("2.7: unsolicited pong without payload -> nothing", async () => {
    await echoCase(echo, (c) => c.send(F(OP.PONG)), []);
  });
  it("2.8: unsolicited pong with payload -> nothing", async () => {
    await echoCase(echo, (c) => c.send(F(OP.PONG, "unsolicited pong payload")), []);
  });
  it("2.9: unsolicited pong, then ping -> one pong with the ping's payload", async () => {
    await echoCase(echo, (c) => c.send([F(OP.PONG, "unsolicited pong payload"), F(OP.PING, "ping payload")]), [
      pong("ping payload"),
    ]);
  });
  const tenPings = Array.from({ length: 10 }, (_, i) => `payload-${i}`);
  it("2.10: 10 pings -> 10 pongs in order", async () => {
    await echoCase(
      echo,
      (c) => c.send(tenPings.map((p) => F(OP.PING, p))),
      tenPings.map((p) => pong(p)),
    );
  });
  it("2.11: 10 pings in 1-octet chops -> 10 pongs in order", async () => {
    await echoCase(
      echo,
      (c) =>
        c.send(
          tenPings.map((p) => F(OP.PING, p)),
          1,
        ),
      tenPings.map((p) => pong(p)),
    );
  });
});

describe("Autobahn 3: reserved bits -> 1002, TCP closed", { timeout: 60_000 }, () => {
  const hello = "Hello, world!";
  it("3.1: text with RSV = 1", async () => {
    await failCase(echo, (c) => c.send(F(OP.TEXT, hello, { rsv: 1 })), [1002]);
  });
  it("3.2: text, then text with RSV = 2, then ping: echo, then 1002 (no pong)", async () => {
    await failCase(
      echo,
      (c) => c.send([F(OP.TEXT, hello), F(OP.TEXT, hello, { rsv: 2 }), F(OP.PING)]),
      [1002],
      [text(hello)],
    );
  });
  it("3.3: same with RSV = 3, frame by frame", async () => {
    await failCase(
      echo,
      async (c) => {
        for (const f of [F(OP.TEXT, hello), F(OP.TEXT, hello, { rsv: 3 }), F(OP.PING)]) {
          await c.send(f);
          await sleep(5);
        }
      },
      [1002],
      [text(hello)],
    );
  });
  it("3.4: same with RSV = 4, in 1-octet chops", async () => {
    await failCase(
      echo,
      (c) => c.send([F(OP.TEXT, hello), F(OP.TEXT, hello, { rsv: 4 }), F(OP.PING)], 1),
      [1002],
      [text(hello)],
    );
  });
  it("3.5: binary with RSV = 5", async () => {
    const p = Buffer.from([0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff]);
    await failCase(echo, (c) => c.send(F(OP.BINARY, p, { rsv: 5 })), [1002]);
  });
  it("3.6: ping with RSV = 6", async () => {
    await failCase(echo, (c) => c.send(F(OP.PING, hello, { rsv: 6 })), [1002]);
  });
  it("3.7: close with RSV = 7", async () => {
    await failCase(echo, (c) => c.send(F(OP.CLOSE, Buffer.from([0x03, 0xe8]), { rsv: 7 })), [1002]);
  });
});

describe("Autobahn 4: reserved opcodes -> 1002", { timeout: 60_000 }, () => {
  const hello = "Hello, world!";
  const sets = [
    ["4.1", [3, 4, 5, 6, 7]],
    ["4.2", [11, 12, 13, 14, 15]],
  ] as const;
  for (const [section, ops] of sets) {
    it(`${section}.1: opcode ${ops[0]}, empty`, async () => {
      await failCase(echo, (c) => c.send(F(ops[0])), [1002]);
    });
    it(`${section}.2: opcode ${ops[1]} with payload`, async () => {
      await failCase(echo, (c) => c.send(F(ops[1], "reserved opcode payload")), [1002]);
    });
    it(`${section}.3: text, opcode ${ops[2]}, ping: echo, then 1002`, async () => {
      await failCase(echo, (c) => c.send([F(OP.TEXT, hello), F(ops[2]), F(OP.PING)]), [1002], [text(hello)]);
    });
    it(`${section}.4: text, opcode ${ops[3]} with payload, ping: echo, then 1002`, async () => {
      await failCase(echo, (c) => c.send([F(OP.TEXT, hello), F(ops[3], hello), F(OP.PING)]), [1002], [text(hello)]);
    });
    it(`${section}.5: same with opcode ${ops[4]}, in 1-octet chops`, async () => {
      await failCase(echo, (c) => c.send([F(OP.TEXT, hello), F(ops[4], hello), F(OP.PING)], 1), [1002], [text(hello)]);
    });
  }
});

describe("Autobahn 5: fragmentation", { timeout: 60_000 }, () => {
  it("5.1: fragmented ping -> 1002", async () => {
    await failCase(echo, (c) => c.send([frag(OP.PING, "fragment1"), F(OP.CONT, "fragment2")]), [1002]);
  });
  it("5.2: fragmented pong -> 1002", async () => {
    await failCase(echo, (c) => c.send([frag(OP.PONG, "fragment1"), F(OP.CONT, "fragment2")]), [1002]);
  });
  const two = [frag(OP.TEXT, "fragment1"), F(OP.CONT, "fragment2")];
  it("5.3: text in 2 fragments", async () => {
    await echoCase(echo, (c) => c.send(two), [text("fragment1fragment2")]);
  });
  it("5.4: text in 2 fragments, frame by frame", async () => {
    await echoCase(
      echo,
      async (c) => {
        await c.send(two[0]);
        await sleep(20);
        await c.send(two[1]);
      },
      [text("fragment1fragment2")],
    );
  });
  it("5.5: text in 2 fragments, 1-octet chops", async () => {
    await echoCase(echo, (c) => c.send(two, 1), [text("fragment1fragment2")]);
  });
  const withPing = [frag(OP.TEXT, "fragment1"), F(OP.PING, "ping payload"), F(OP.CONT, "fragment2")];
  const pingExpect = [pong("ping payload"), text("fragment1fragment2")];
  it("5.6: text in 2 fragments with a ping in between", async () => {
    await echoCase(echo, (c) => c.send(withPing), pingExpect);
  });
  it("5.7: same, frame by frame", async () => {
    await echoCase(
      echo,
      async (c) => {
        for (const f of withPing) {
          await c.send(f);
          await sleep(10);
        }
      },
      pingExpect,
    );
  });
  it("5.8: same, 1-octet chops", async () => {
    await echoCase(echo, (c) => c.send(withPing, 1), pingExpect);
  });
  const contFirst = (fin: boolean) => [F(OP.CONT, "non-continuation payload", { fin }), F(OP.TEXT, "Hello, world!")];
  for (const [id, fin, chop] of [
    ["5.9", true, 0],
    ["5.10", true, -1],
    ["5.11", true, 1],
    ["5.12", false, 0],
    ["5.13", false, -1],
    ["5.14", false, 1],
  ] as const) {
    const how = chop === 0 ? "in one chop" : chop === 1 ? "1-octet chops" : "frame by frame";
    it(`${id}: continuation (FIN=${fin}) with nothing to continue, ${how} -> 1002`, async () => {
      await failCase(
        echo,
        async (c) => {
          if (chop >= 0) return c.send(contFirst(fin), chop);
          for (const f of contFirst(fin)) {
            await c.send(f);
            await sleep(5);
          }
        },
        [1002],
      );
    });
  }
  it("5.15: text in 2 fragments, then continuation (FIN=false) with nothing to continue -> echo, 1002", async () => {
    await failCase(
      echo,
      (c) =>
        c.send([
          frag(OP.TEXT, "fragment1"),
          F(OP.CONT, "fragment2"),
          F(OP.CONT, "fragment3", { fin: false }),
          F(OP.TEXT, "fragment4"),
        ]),
      [1002],
      [text("fragment1fragment2")],
    );
  });
  it("5.16: (continuation FIN=false, text in 2 fragments) x2 -> 1002", async () => {
    const seq = [F(OP.CONT, "fragment1", { fin: false }), frag(OP.TEXT, "fragment2"), F(OP.CONT, "fragment3")];
    await failCase(echo, (c) => c.send([...seq, ...seq]), [1002]);
  });
  it("5.17: (continuation FIN=true, text in 2 fragments) x2 -> 1002", async () => {
    const seq = [F(OP.CONT, "fragment1"), frag(OP.TEXT, "fragment2"), F(OP.CONT, "fragment3")];
    await failCase(echo, (c) => c.send([...seq, ...seq]), [1002]);
  });
  it("5.18: text fragment, then a new text frame instead of a continuation -> 1002", async () => {
    await failCase(echo, (c) => c.send([frag(OP.TEXT, "fragment1"), F(OP.TEXT, "fragment2")]), [1002]);
  });
  const five = async (c: Parameters<Parameters<typeof echoCase>[1]>[0], chop: number) => {
    await c.send(frag(OP.TEXT, "fragment1"), chop);
    await c.send(F(OP.CONT, "fragment2", { fin: false }), chop);
    await c.send(F(OP.PING, "pongme 1!"), chop);
    await sleep(100);
    await c.send(F(OP.CONT, "fragment3", { fin: false }), chop);
    await c.send(F(OP.CONT, "fragment4", { fin: false }), chop);
    await c.send(F(OP.PING, "pongme 2!"), chop);
    await sleep(100);
    await c.send(F(OP.CONT, "fragment5"), chop);
  };
  const fiveExpect = [pong("pongme 1!"), pong("pongme 2!"), text("fragment1fragment2fragment3fragment4fragment5")];
  it("5.19: text in 5 fragments with 2 pings in between, delays", async () => {
    await echoCase(echo, (c) => five(c, 0), fiveExpect);
  });
  it("5.20: same, 1-octet chops", async () => {
    await echoCase(echo, (c) => five(c, 1), fiveExpect);
  });
});
