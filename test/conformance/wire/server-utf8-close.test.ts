/**
 * Autobahn sections 6 (UTF-8, incl. fail-fast) and 7 (closing handshake) over real TCP against
 * the CLI echo server, every case of both sections as autobahntestsuite/case/case6_*.py and
 * case7_*.py send it. Invalid text must end in close 1007; the fail-fast cases (6.4.x) check the
 * server closed before we sent the rest of the message (Autobahn waits 1 s there; we wait for
 * the close, at most 2 s).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { autobahnFragments, utf8Vectors } from "../../helpers/autobahn-cases.js";
import { closeBody, frame, OP } from "../../helpers/frames.js";
import type { RawClient } from "../../helpers/raw-client.js";
import { sleep } from "../../helpers/time.js";
import { binary, type EchoTarget, echoCase, failCase, pong, startCliEcho, text } from "./harness.js";

const F = (op: number, payload: Uint8Array | string = "", o: { fin?: boolean; rsv?: number } = {}) =>
  frame(op, payload, { ...o, mask: "random" });
const hex = (h: string) => Buffer.from(h.replace(/\s/g, ""), "hex");

let echo: EchoTarget;
before(async () => {
  echo = await startCliEcho();
});
after(async () => {
  await echo?.stop();
});

describe("Autobahn 6.1-6.3: valid and invalid text, whole and fragmented", { timeout: 60_000 }, () => {
  const HELLO = "Hello-µ@ßöäüàá-UTF-8!!";
  const INVALID = hex("cebae1bdb9cf83cebcceb5eda080656469746564");
  it("6.1.1: empty text message", async () => {
    await echoCase(echo, (c) => c.send(F(OP.TEXT)), [text("")]);
  });
  it("6.1.2: 3 empty fragments", async () => {
    await echoCase(echo, (c) => c.send([F(OP.TEXT, "", { fin: false }), F(OP.CONT, "", { fin: false }), F(OP.CONT)]), [
      text(""),
    ]);
  });
  it("6.1.3: empty, empty, non-empty fragment", async () => {
    await echoCase(
      echo,
      (c) =>
        c.send([F(OP.TEXT, "", { fin: false }), F(OP.CONT, "", { fin: false }), F(OP.CONT, "middle frame payload")]),
      [text("middle frame payload")],
    );
  });
  it("6.2.1: valid UTF-8 in one fragment", async () => {
    await echoCase(echo, (c) => c.send(F(OP.TEXT, HELLO)), [text(HELLO)]);
  });
  it("6.2.2: valid UTF-8 in 2 fragments, split on a code point boundary", async () => {
    const first = Buffer.from("Hello-µ@ßöä");
    const second = Buffer.from("üàá-UTF-8!!");
    await echoCase(echo, (c) => c.send([F(OP.TEXT, first, { fin: false }), F(OP.CONT, second)]), [text(HELLO)]);
  });
  // Autobahn's sendMessage with 1-octet fragments: one frame per octet, then an empty final frame.
  it("6.2.3: valid UTF-8 in 1-octet fragments", async () => {
    await echoCase(echo, (c) => c.send(autobahnFragments(OP.TEXT, HELLO, 1, { mask: "random" })), [text(HELLO)]);
  });
  it("6.2.4: valid UTF-8 (κόσμε) in 1-octet fragments", async () => {
    const b = hex("cebae1bdb9cf83cebcceb5");
    await echoCase(echo, (c) => c.send(autobahnFragments(OP.TEXT, b, 1, { mask: "random" })), [text(b)]);
  });
  it("6.3.1: invalid UTF-8 text -> 1007", async () => {
    await failCase(echo, (c) => c.send(F(OP.TEXT, INVALID)), [1007]);
  });
  it("6.3.2: invalid UTF-8 text in 1-octet fragments -> 1007", async () => {
    await failCase(echo, (c) => c.send(autobahnFragments(OP.TEXT, INVALID, 1, { mask: "random" })), [1007]);
  });
});

describe("Autobahn 6.4: fail fast on invalid UTF-8", { timeout: 60_000 }, () => {
  const PART1 = hex("cebae1bdb9cf83cebcceb5");
  const PART3 = hex("656469746564");

  /** Send `first`, check the close is already pending, then send `rest` (Autobahn sends it anyway). */
  const closedBefore = (first: Buffer[], rest: Buffer) => async (c: RawClient) => {
    for (const b of first) {
      await c.send(b);
      await sleep(20);
    }
    assert.ok(await c.waitAny(2000), "no close before the rest of the message was sent (not fail-fast)");
    await c.send(rest);
  };
  it("6.4.1: 3 fragments, the 2nd invalid (U+110000): 1007 before the 3rd", async () => {
    await failCase(
      echo,
      closedBefore([F(OP.TEXT, PART1, { fin: false }), F(OP.CONT, hex("f4908080"), { fin: false })], F(OP.CONT, PART3)),
      [1007],
    );
  });
  it("6.4.2: 3 fragments, the invalid byte 0x90 after a 0xf4 lead: 1007 before the 3rd", async () => {
    await failCase(
      echo,
      closedBefore(
        [F(OP.TEXT, Buffer.concat([PART1, hex("f4")]), { fin: false }), F(OP.CONT, hex("90"), { fin: false })],
        F(OP.CONT, Buffer.concat([hex("8080"), PART3])),
      ),
      [1007],
    );
  });
  /** One frame of 6.4.1's payload written in 3 chops, cut after payload octets `a` and `b`. */
  const midFrame = (a: number, b: number) => {
    const payload = Buffer.concat([PART1, hex("f4908080"), PART3]);
    const frame = F(OP.TEXT, payload);
    const head = frame.length - payload.length;
    return closedBefore([frame.subarray(0, head + a), frame.subarray(head + a, head + b)], frame.subarray(head + b));
  };
  it("6.4.3: 1 frame in 3 chops, the 2nd holding f4 90 80 80: 1007 before the 3rd chop", async () => {
    await failCase(echo, midFrame(11, 15), [1007]);
  });
  it("6.4.4: 1 frame in 3 chops, the 2nd only the octet 0x90 that makes it invalid: 1007 before the 3rd", async () => {
    await failCase(echo, midFrame(12, 13), [1007]);
  });
});

describe("Autobahn 6.5-6.23: UTF-8 test vectors, one text frame each (invalid -> 1007)", { timeout: 60_000 }, () => {
  const vectors = utf8Vectors();
  for (const v of vectors) {
    it(`${v.id}: ${v.group}: ${v.payload.toString("hex")} (${v.valid ? "valid" : "invalid"})`, async () => {
      if (v.valid) await echoCase(echo, (c) => c.send(F(OP.TEXT, v.payload)), [text(v.payload)]);
      else await failCase(echo, (c) => c.send(F(OP.TEXT, v.payload)), [1007]);
    });
  }
  it("not an Autobahn case: every vector of 2+ octets again, one octet per frame", async () => {
    for (const v of vectors.filter((x) => x.payload.length > 1)) {
      const frames = autobahnFragments(OP.TEXT, v.payload, 1, { mask: "random" });
      if (v.valid) await echoCase(echo, (c) => c.send(frames), [text(v.payload)]);
      else await failCase(echo, (c) => c.send(frames), [1007]);
    }
  });
});

describe("Autobahn 7: closing handshake", { timeout: 60_000 }, () => {
  /** We send a close (and maybe more); the server answers with one close and closes TCP. */
  const closing = (frames: Buffer[], codes: number[], before: Parameters<typeof failCase>[3] = []) =>
    failCase(echo, (c) => c.send(frames), codes, before, { reply: false });

  it("7.1.1: text, then close 1000: echo, then close 1000", async () => {
    await echoCase(echo, (c) => c.send(F(OP.TEXT, "Hello World!")), [text("Hello World!")]);
  });
  it("7.1.2: close twice: one close back", async () => {
    await closing([F(OP.CLOSE, closeBody(1000)), F(OP.CLOSE, closeBody(1000))], [1000]);
  });
  it("7.1.3: close, then ping: no pong", async () => {
    await closing([F(OP.CLOSE, closeBody(1000)), F(OP.PING, "Hello World!")], [1000]);
  });
  it("7.1.4: close, then text: no echo", async () => {
    await closing([F(OP.CLOSE, closeBody(1000)), F(OP.TEXT, "Hello World!")], [1000]);
  });
  it("7.1.5: text fragment, close, then the last fragment: no echo", async () => {
    await closing(
      [F(OP.TEXT, "fragment1", { fin: false }), F(OP.CLOSE, closeBody(1000)), F(OP.CONT, "fragment2")],
      [1000],
    );
  });
  it("7.1.6: 256 KiB text, a short text, close, then ping: both echoed, close, no pong", async () => {
    const big = "BAsd7&jh23".repeat(26215).slice(0, 256 * 1024);
    const frames = [F(OP.TEXT, big), F(OP.TEXT, "Hello World!"), F(OP.CLOSE, closeBody(1000)), F(OP.PING)];
    await closing(frames, [1000], [text(big), text("Hello World!")]);
  });
  it("7.3.1: close without payload: empty close back", async () => {
    await closing([F(OP.CLOSE)], [1000, 1005]);
  });
  it("7.3.2: close with 1-octet payload -> 1002", async () => {
    await closing([F(OP.CLOSE, Buffer.from([0x03]))], [1002]);
  });
  it("7.3.3: close 1000 without reason", async () => {
    await closing([F(OP.CLOSE, closeBody(1000))], [1000]);
  });
  it("7.3.4: close 1000 with reason", async () => {
    await closing([F(OP.CLOSE, closeBody(1000, "Hello World!"))], [1000]);
  });
  it("7.3.5: close 1000 with a 123-octet reason (payload 125)", async () => {
    await closing([F(OP.CLOSE, closeBody(1000, "*".repeat(123)))], [1000]);
  });
  it("7.3.6: close 1000 with a 124-octet reason (payload 126) -> 1002", async () => {
    await closing([F(OP.CLOSE, closeBody(1000, "*".repeat(124)))], [1002]);
  });
  it("7.5.1: close 1000 with an invalid UTF-8 reason -> 1007", async () => {
    await closing([F(OP.CLOSE, closeBody(1000, hex("cebae1bdb9cf83cebcceb5eda080656469746564")))], [1007]);
  });
  const valid = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999];
  valid.forEach((code, i) => {
    it(`7.7.${i + 1}: valid close code ${code}: close back (1000 or ${code})`, async () => {
      await closing([F(OP.CLOSE, closeBody(code))], [1000, code]);
    });
  });
  const invalid = [0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999];
  invalid.forEach((code, i) => {
    it(`7.9.${i + 1}: invalid close code ${code} -> 1002`, async () => {
      await closing([F(OP.CLOSE, closeBody(code))], [1002]);
    });
  });
  it("not an Autobahn case: reserved close code 1015 on the wire -> 1002", async () => {
    await closing([F(OP.CLOSE, closeBody(1015))], [1002]);
  });
  it("7.13.1: close code 5000 -> 1002", async () => {
    await closing([F(OP.CLOSE, closeBody(5000))], [1002]);
  });
  it("7.13.2: close code 65535 -> 1002", async () => {
    await closing([F(OP.CLOSE, closeBody(65535))], [1002]);
  });
  it("the server still serves a normal case after all failures (binary echo + ping)", async () => {
    const p = Buffer.from([0, 1, 2, 0xff]);
    await echoCase(echo, (c) => c.send([F(OP.BINARY, p), F(OP.PING, "x")]), [binary(p), pong("x")]);
  });
});
