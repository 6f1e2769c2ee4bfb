/**
 * Autobahn sections 9 (limits/performance) and 10 (auto-fragmentation) over real TCP against the
 * CLI echo server, every case at the suite's own sizes, counts and framing (the parameters come
 * from test/helpers/autobahn-cases.ts, which mirrors autobahntestsuite/case/case9_*.py):
 * 9.1/9.2 one frame of 64 KiB-16 MiB; 9.3/9.4 4 MiB framed by Autobahn's sendMessage in
 * 64 B-4 MiB fragments, which ends a message whose length is a multiple of the fragment size with
 * an EMPTY final frame (9.3.1 and 9.4.1 are 65,537 frames); 9.5/9.6 1 MiB in one frame written in
 * 64-2048 octet chops; 9.7/9.8 1000 messages of 0-4096 octets, each sent when the previous echo
 * came back; 10.1.1 65,536 octets in 1300-octet frames. They pass because `wirecable echo`
 * accepts what the suite sends (16 MiB, 65,537 frames); with the library's default of 4096
 * frames, 9.3.1 ends in 1009 (checked last).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { autobahnFragments, limitCases, roundTripCases } from "../../helpers/autobahn-cases.js";
import { frame, OP } from "../../helpers/frames.js";
import { binary, type EchoTarget, echoCase, failCase, startCliEcho, text } from "./harness.js";

const F = (op: number, payload: Uint8Array | string = "", o: { fin?: boolean } = {}) =>
  frame(op, payload, { ...o, mask: "random" });
const MiB = 1024 * 1024;

let echo: EchoTarget;
before(async () => {
  echo = await startCliEcho();
});
after(async () => {
  await echo?.stop();
});

describe("Autobahn 9.1-9.6: large messages, fragmented or chopped", { timeout: 240_000 }, () => {
  it("the framing: 4 MiB in 64-octet fragments is 65,537 frames, the last one empty", () => {
    const frames = autobahnFragments(OP.TEXT, Buffer.alloc(4 * MiB, 0x2a), 64);
    assert.equal(frames.length, 65_537);
    assert.deepEqual([...frames.at(-1)!], [0x80, 0x00]); // FIN, continuation, no payload
    assert.equal(autobahnFragments(OP.TEXT, Buffer.alloc(4 * MiB), 4 * MiB).length, 1);
  });
  for (const c of limitCases()) {
    it(`${c.id}: ${c.description}`, async () => {
      const p = c.payload();
      const op = c.binary ? OP.BINARY : OP.TEXT;
      const frames = c.fragmentSize ? autobahnFragments(op, p, c.fragmentSize, { mask: "random" }) : [F(op, p)];
      const expected = c.binary ? binary(p) : text(p);
      await echoCase(echo, (client) => client.send(frames, c.chop ?? 0), [expected], { timeoutMs: 60_000 });
    });
  }
});

describe("Autobahn 9.7/9.8: 1000 round trips each", { timeout: 120_000 }, () => {
  for (const c of roundTripCases()) {
    const kind = c.binary ? "binary" : "text";
    it(`${c.id}: ${c.count} ${kind} messages of ${c.size} octets, one at a time`, async () => {
      const p = Buffer.alloc(c.size, c.binary ? 0xfe : 0x2a);
      const frame = F(c.binary ? OP.BINARY : OP.TEXT, p);
      // Each echo is awaited before the next message goes; then Autobahn's close 1000.
      await echoCase(
        echo,
        async (client) => {
          for (let k = 0; k < c.count; k++) {
            await client.send(frame);
            const got = await client.next(10_000);
            assert.ok(got, `message ${k + 1}: the server closed TCP`);
            assert.equal(got.kind, kind, `message ${k + 1}: kind`);
            assert.ok(got.data.equals(p), `message ${k + 1}: payload differs`);
          }
        },
        [],
      );
    });
  }
});

describe("Autobahn 10: auto-fragmentation", { timeout: 30_000 }, () => {
  it("10.1.1: 65536-octet text auto-fragmented in 1300-octet frames (51 frames)", async () => {
    const p = Buffer.alloc(65536, 0x2a);
    const frames = autobahnFragments(OP.TEXT, p, 1300, { mask: "random" });
    assert.equal(frames.length, 51);
    await echoCase(echo, (c) => c.send(frames), [text(p)]);
  });
});

describe("the library's default limit instead of the echo command's", { timeout: 60_000 }, () => {
  it("--max-fragments 4096: 4096 frames pass, 9.3.1's 65,537 end in 1009", async () => {
    const limited = await startCliEcho(false, ["--max-fragments", "4096"]);
    try {
      const p = Buffer.alloc(4096 * 64, 0x2a);
      const frames = autobahnFragments(OP.TEXT, p, 64, { mask: "random" }).slice(0, -1);
      frames[frames.length - 1] = F(OP.CONT, p.subarray(-64)); // 4096 frames, FIN on the last
      await echoCase(limited, (c) => c.send(frames), [text(p)]);
      const big = autobahnFragments(OP.TEXT, Buffer.alloc(4 * MiB, 0x2a), 64, { mask: "random" });
      await failCase(limited, (c) => c.send(big), [1009]);
    } finally {
      await limited.stop();
    }
  });
});
