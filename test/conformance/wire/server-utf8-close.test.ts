/**
 * Autobahn sections 6 (UTF-8, incl. fail-fast) and 7 (closing handshake) over real TCP against
 * the CLI echo server. Invalid text must end in close 1007; the fail-fast cases (6.4.x) check
 * the server closed before we sent the rest of the message.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
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

/** [case, description, hex payload, valid] — the Markus Kuhn-based vectors of 6.5-6.23 (a subset). */
const VECTORS: Array<[string, string, string, boolean]> = [
  ["6.5.1", "κόσμε", "cebae1bdb9cf83cebcceb5", true],
  ["6.6.1", "κόσμε prefix: lone lead byte", "ce", false],
  ["6.6.2", "κόσμε prefix: κ", "ceba", true],
  ["6.6.3", "κόσμε prefix: κ + lead byte", "cebae1", false],
  ["6.6.4", "κόσμε prefix: κ + 2 of 3 bytes", "cebae1bd", false],
  ["6.6.5", "κόσμε prefix: κό", "cebae1bdb9", true],
  ["6.7.1", "first 1-byte sequence U+0000", "00", true],
  ["6.7.2", "first 2-byte sequence U+0080", "c280", true],
  ["6.7.3", "first 3-byte sequence U+0800", "e0a080", true],
  ["6.7.4", "first 4-byte sequence U+10000", "f0908080", true],
  ["6.8.1", "5-byte sequence", "f888808080", false],
  ["6.8.2", "6-byte sequence", "fc8480808080", false],
  ["6.9.1", "last 1-byte sequence U+007F", "7f", true],
  ["6.9.2", "last 2-byte sequence U+07FF", "dfbf", true],
  ["6.9.3", "last 3-byte sequence U+FFFF", "efbfbf", true],
  ["6.9.4", "last 4-byte sequence U+10FFFF", "f48fbfbf", true],
  ["6.10.1", "4-byte beyond U+10FFFF", "f7bfbfbf", false],
  ["6.10.2", "5-byte beyond", "fbbfbfbfbf", false],
  ["6.10.3", "6-byte beyond", "fdbfbfbfbfbf", false],
  ["6.11.1", "U+D7FF", "ed9fbf", true],
  ["6.11.2", "U+E000", "ee8080", true],
  ["6.11.3", "U+FFFD", "efbfbd", true],
  ["6.11.4", "U+10FFFF", "f48fbfbf", true],
  ["6.11.5", "U+110000", "f4908080", false],
  ["6.12.1", "lone continuation 0x80", "80", false],
  ["6.12.2", "lone continuation 0xbf", "bf", false],
  [
    "6.12.8",
    "all 64 continuation bytes",
    Buffer.from(Array.from({ length: 64 }, (_, i) => 0x80 + i)).toString("hex"),
    false,
  ],
  ["6.13.1", "lonely 2-byte leads followed by spaces", "c020c120c220", false],
  ["6.13.2", "lonely 3-byte leads followed by spaces", "e020e120", false],
  ["6.14.1", "2-byte sequence without its last byte", "c0", false],
  ["6.14.3", "4-byte sequence without its last byte", "f08080", false],
  ["6.14.6", "U+07FF without its last byte", "df", false],
  ["6.14.8", "U+10FFFF-ish without its last byte", "f7bfbf", false],
  ["6.15.1", "concatenation of incomplete sequences", "c0e080f08080f8808080fc80808080dfefbff7bfbf", false],
  ["6.16.1", "impossible byte 0xfe", "fe", false],
  ["6.16.2", "impossible byte 0xff", "ff", false],
  ["6.16.3", "impossible bytes fe fe ff ff", "fefeffff", false],
  ["6.17.1", "overlong '/' in 2 bytes", "c0af", false],
  ["6.17.2", "overlong '/' in 3 bytes", "e080af", false],
  ["6.17.3", "overlong '/' in 4 bytes", "f08080af", false],
  ["6.18.1", "maximum overlong 2 bytes", "c1bf", false],
  ["6.18.2", "maximum overlong 3 bytes", "e09fbf", false],
  ["6.18.3", "maximum overlong 4 bytes", "f08fbfbf", false],
  ["6.19.1", "overlong NUL in 2 bytes", "c080", false],
  ["6.19.2", "overlong NUL in 3 bytes", "e08080", false],
  ["6.20.1", "single surrogate U+D800", "eda080", false],
  ["6.20.4", "single surrogate U+DB80", "edae80", false],
  ["6.20.7", "single surrogate U+DFFF", "edbfbf", false],
  ["6.21.1", "paired surrogates U+D800 U+DC00", "eda080edb080", false],
  ["6.21.8", "paired surrogates U+DBFF U+DFFF", "edafbfedbfbf", false],
  ["6.22.1", "noncharacter U+FFFE (valid)", "efbfbe", true],
  ["6.22.2", "noncharacter U+FFFF (valid)", "efbfbf", true],
  ["6.22.34", "noncharacter U+10FFFE (valid)", "f48fbfbe", true],
  ["6.23.1", "U+FFFD", "efbfbd", true],
  ["6.23.7", "U+FFFD x3 after ASCII", "61efbfbd62efbfbd63efbfbd", true],
];

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
    const b = Buffer.from(HELLO);
    await echoCase(echo, (c) => c.send([F(OP.TEXT, b.subarray(0, 6), { fin: false }), F(OP.CONT, b.subarray(6))]), [
      text(HELLO),
    ]);
  });
  it("6.2.3: valid UTF-8 in 1-octet fragments", async () => {
    const b = Buffer.from(HELLO);
    const frames = Array.from(b, (_, i) =>
      F(i === 0 ? OP.TEXT : OP.CONT, b.subarray(i, i + 1), { fin: i === b.length - 1 }),
    );
    await echoCase(echo, (c) => c.send(frames), [text(HELLO)]);
  });
  it("6.2.4: valid UTF-8 (κόσμε) in 1-octet fragments, 1-octet chops", async () => {
    const b = hex("cebae1bdb9cf83cebcceb5");
    const frames = Array.from(b, (_, i) =>
      F(i === 0 ? OP.TEXT : OP.CONT, b.subarray(i, i + 1), { fin: i === b.length - 1 }),
    );
    await echoCase(echo, (c) => c.send(frames, 1), [text(b)]);
  });
  it("6.3.1: invalid UTF-8 text -> 1007", async () => {
    await failCase(echo, (c) => c.send(F(OP.TEXT, INVALID)), [1007]);
  });
  it("6.3.2: invalid UTF-8 text in 1-octet fragments -> 1007", async () => {
    const frames = Array.from(INVALID, (_, i) =>
      F(i === 0 ? OP.TEXT : OP.CONT, INVALID.subarray(i, i + 1), { fin: i === INVALID.length - 1 }),
    );
    await failCase(echo, (c) => c.send(frames, 1), [1007]);
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
  /** One frame whose payload arrives in 3 chops; the 2nd chop holds the invalid bytes. */
  const midFrame = (bad: Buffer, tail: Buffer) => {
    const payload = Buffer.concat([PART1, bad, tail]);
    const frame = F(OP.TEXT, payload);
    const head = frame.length - payload.length;
    return closedBefore(
      [frame.subarray(0, head + PART1.length), frame.subarray(head + PART1.length, head + PART1.length + bad.length)],
      frame.subarray(head + PART1.length + bad.length),
    );
  };
  it("6.4.3: 1 frame, payload in 3 chops, the 2nd invalid: 1007 before the 3rd chop", async () => {
    await failCase(echo, midFrame(hex("f4908080"), PART3), [1007]);
  });
  it("6.4.4: 1 frame, payload in 3 chops, the 2nd only 0xf4 0x90: 1007 before the 3rd chop", async () => {
    await failCase(echo, midFrame(hex("f490"), Buffer.concat([hex("8080"), PART3])), [1007]);
  });
});

describe("Autobahn 6.5-6.23: UTF-8 test vectors, one text frame each (invalid -> 1007)", { timeout: 60_000 }, () => {
  for (const [id, what, h, valid] of VECTORS) {
    it(`${id}: ${what} (${valid ? "valid" : "invalid"})`, async () => {
      const p = hex(h);
      if (valid) await echoCase(echo, (c) => c.send(F(OP.TEXT, p)), [text(p)]);
      else await failCase(echo, (c) => c.send(F(OP.TEXT, p)), [1007]);
    });
  }
  it("6.x (1-octet fragments): every vector again, one octet per frame", async () => {
    for (const [, , h, valid] of VECTORS.filter((v) => hex(v[2]).length > 1)) {
      const p = hex(h);
      const frames = Array.from(p, (_, i) =>
        F(i === 0 ? OP.TEXT : OP.CONT, p.subarray(i, i + 1), { fin: i === p.length - 1 }),
      );
      if (valid) await echoCase(echo, (c) => c.send(frames), [text(p)]);
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
  it("7.1.6: 256 KiB text, close, then ping: echo, close, no pong", async () => {
    const big = "BAsd7&jh23".repeat(26215).slice(0, 256 * 1024);
    await closing([F(OP.TEXT, big), F(OP.CLOSE, closeBody(1000)), F(OP.PING, "Hello World!")], [1000], [text(big)]);
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
  it("7.9.x (extra): reserved close code 1015 on the wire -> 1002", async () => {
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
