/**
 * Autobahn sections 9 (limits/performance, reduced sizes and counts) and 10 (auto-fragmentation)
 * over real TCP against the CLI echo server. 9.3.1/9.4.1 send 65536 fragments: they pass
 * because `wirecable echo` defaults to --max-fragments 65536 (Autobahn's most); with the
 * library's default (4096) they end in 1009, which the official suite grades FAILED.
 */
import { after, before, describe, it } from "node:test";
import { frame, OP } from "../../helpers/frames.js";
import { binary, type EchoTarget, echoCase, failCase, startCliEcho, text } from "./harness.js";

const F = (op: number, payload: Uint8Array | string = "", o: { fin?: boolean } = {}) =>
  frame(op, payload, { ...o, mask: "random" });
const KiB = 1024;
const MiB = 1024 * KiB;

/** A message as `size`-octet fragments. */
function fragments(op: number, payload: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < payload.length; i += size) {
    out.push(F(i === 0 ? op : OP.CONT, payload.subarray(i, i + size), { fin: i + size >= payload.length }));
  }
  return out;
}
const textPayload = (n: number) => Buffer.alloc(n, "*");
const binPayload = (n: number) => Buffer.alloc(n, 0xfe);

let echo: EchoTarget;
before(async () => {
  echo = await startCliEcho();
});
after(async () => {
  await echo?.stop();
});

describe("Autobahn 9.1/9.2: large messages in one frame", { timeout: 60_000 }, () => {
  [64 * KiB, 256 * KiB, MiB].forEach((n, i) => {
    it(`9.1.${i + 1}: text message of ${n / KiB} KiB`, async () => {
      const p = textPayload(n);
      await echoCase(echo, (c) => c.send(F(OP.TEXT, p)), [text(p)], { timeoutMs: 10000 });
    });
    it(`9.2.${i + 1}: binary message of ${n / KiB} KiB`, async () => {
      const p = binPayload(n);
      await echoCase(echo, (c) => c.send(F(OP.BINARY, p)), [binary(p)], { timeoutMs: 10000 });
    });
  });
});

describe("Autobahn 9.3/9.4: a large message in fragments", { timeout: 120_000 }, () => {
  // 9.3.1-9.3.3 keep Autobahn's 4 MiB; the larger fragment sizes use 1 MiB (reduced).
  const cases: Array<[number, number, number]> = [
    [3, 4 * MiB, KiB],
    [4, MiB, 4 * KiB],
    [5, MiB, 16 * KiB],
    [6, MiB, 64 * KiB],
    [7, MiB, 256 * KiB],
    [8, MiB, MiB],
  ];
  for (const [n, total, size] of cases) {
    it(`9.3.${n}: ${total / KiB} KiB text in ${size / KiB} KiB fragments (${total / size} frames)`, async () => {
      const p = textPayload(total);
      await echoCase(echo, (c) => c.send(fragments(OP.TEXT, p, size)), [text(p)], { timeoutMs: 15000 });
    });
  }
  for (const [n, total, size] of [cases[0], cases[3]]) {
    it(`9.4.${n}: ${total / KiB} KiB binary in ${size / KiB} KiB fragments (${total / size} frames)`, async () => {
      const p = binPayload(total);
      await echoCase(echo, (c) => c.send(fragments(OP.BINARY, p, size)), [binary(p)], { timeoutMs: 15000 });
    });
  }
  it("9.3.1: 4 MiB text in 64 B fragments (65536 frames, the echo command's --max-fragments default)", async () => {
    const p = textPayload(4 * MiB);
    await echoCase(echo, (c) => c.send(fragments(OP.TEXT, p, 64)), [text(p)], { timeoutMs: 20000 });
  });
  it("9.4.1: 4 MiB binary in 64 B fragments (65536 frames)", async () => {
    const p = binPayload(4 * MiB);
    await echoCase(echo, (c) => c.send(fragments(OP.BINARY, p, 64)), [binary(p)], { timeoutMs: 20000 });
  });
  it("9.3.2: 4 MiB text in 256 B fragments (16384 frames)", async () => {
    const p = textPayload(4 * MiB);
    await echoCase(echo, (c) => c.send(fragments(OP.TEXT, p, 256)), [text(p)], { timeoutMs: 20000 });
  });
  it("with the library's default limit (--max-fragments 4096): 9.3.1 ends in 1009, 4096 frames still pass", async () => {
    const limited = await startCliEcho(false, ["--max-fragments", "4096"]);
    try {
      const p = textPayload(256 * KiB);
      await echoCase(limited, (c) => c.send(fragments(OP.TEXT, p, 64)), [text(p)]);
      await failCase(limited, (c) => c.send(fragments(OP.TEXT, textPayload(4 * MiB), 64)), [1009]);
    } finally {
      await limited.stop();
    }
  });
});

describe("Autobahn 9.5/9.6: a message sent in small chops (reduced sizes)", { timeout: 60_000 }, () => {
  it("9.5.1 (reduced): 128 KiB text in 64-octet chops", async () => {
    const p = textPayload(128 * KiB);
    await echoCase(echo, (c) => c.send(F(OP.TEXT, p), 64), [text(p)], { timeoutMs: 15000 });
  });
  it("9.5.6: 1 MiB text in 2048-octet chops", async () => {
    const p = textPayload(MiB);
    await echoCase(echo, (c) => c.send(F(OP.TEXT, p), 2048), [text(p)], { timeoutMs: 15000 });
  });
  it("9.6.1 (reduced): 128 KiB binary in 64-octet chops", async () => {
    const p = binPayload(128 * KiB);
    await echoCase(echo, (c) => c.send(F(OP.BINARY, p), 64), [binary(p)], { timeoutMs: 15000 });
  });
  it("9.6.6: 1 MiB binary in 2048-octet chops", async () => {
    const p = binPayload(MiB);
    await echoCase(echo, (c) => c.send(F(OP.BINARY, p), 2048), [binary(p)], { timeoutMs: 15000 });
  });
});

describe("Autobahn 9.7/9.8: 1000 messages back to back", { timeout: 60_000 }, () => {
  [0, 16, 64, 256, 1024, 4096].forEach((n, i) => {
    it(`9.7.${i + 1}: 1000 text messages of ${n} octets, in order`, async () => {
      const msgs = Array.from({ length: 1000 }, (_, k) => Buffer.from(`${k}:`.padEnd(n, "*").slice(0, n)));
      await echoCase(
        echo,
        (c) => c.send(msgs.map((m) => F(OP.TEXT, m))),
        msgs.map((m) => text(m)),
        { timeoutMs: 10000 },
      );
    });
    it(`9.8.${i + 1}: 1000 binary messages of ${n} octets, in order`, async () => {
      const msgs = Array.from({ length: 1000 }, (_, k) => Buffer.alloc(n, k & 0xff));
      await echoCase(
        echo,
        (c) => c.send(msgs.map((m) => F(OP.BINARY, m))),
        msgs.map((m) => binary(m)),
        { timeoutMs: 10000 },
      );
    });
  });
});

describe("Autobahn 10: auto-fragmentation", { timeout: 30_000 }, () => {
  it("10.1.1: 65536-octet text auto-fragmented in 1300-octet frames", async () => {
    const p = textPayload(65536);
    await echoCase(echo, (c) => c.send(fragments(OP.TEXT, p, 1300)), [text(p)]);
  });
});
