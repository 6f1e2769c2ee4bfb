/**
 * MessageReceiver on its own: data frames as the frame parser hands them over (whole short
 * messages, or start/payload/end per frame) become messages for the host, text validated as
 * UTF-8 on every path, split at every byte; lent input copied; `lastText` only while delivering.
 * Through the engine: engine-*.test.ts (engine-read-modes for lent input and read targets).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ProtocolError } from "../../src/protocol/errors.js";
import { MessageReceiver, type ReceiverHost } from "../../src/protocol/message-receiver.js";
import { type BinaryMessage, decodeUtf8, type TextMessage } from "../../src/protocol/text-message.js";
import { isValidUtf8 } from "../../src/protocol/utf8.js";

const options = {
  alloc: (n: number) => new Uint8Array(n),
  isUtf8: isValidUtf8,
  nativeIsUtf8: undefined,
  decode: decodeUtf8,
  decodeAscii: decodeUtf8,
  validateUtf8: true,
};

function receiver(validateUtf8 = true): {
  r: MessageReceiver;
  got: Array<TextMessage | BinaryMessage>;
  faults: ProtocolError[];
  seenLastText: Array<TextMessage | null>;
} {
  const got: Array<TextMessage | BinaryMessage> = [];
  const faults: ProtocolError[] = [];
  const seenLastText: Array<TextMessage | null> = [];
  const host: ReceiverHost = {
    deliver(message) {
      got.push(message);
      seenLastText.push(r.lastText);
    },
    fault(error) {
      faults.push(error);
    },
  };
  const r = new MessageReceiver(host, { ...options, validateUtf8 }, null);
  return { r, got, faults, seenLastText };
}

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/**
 * Feed `bytes` as one message of `opcode`, in frames cut at `cuts` (payload offsets), stopping
 * at the first fault as the engine does (it stops its parser).
 */
function feed(r: MessageReceiver, opcode: number, bytes: Uint8Array, cuts: number[], faults: unknown[] = []): void {
  const bounds = [0, ...cuts, bytes.length];
  for (let f = 0; f + 1 < bounds.length && faults.length === 0; f++) {
    const fin = f + 2 === bounds.length;
    r.start(f === 0 ? opcode : 0, fin, 0);
    r.payload(bytes, bounds[f]!, bounds[f + 1]!, true, false);
    if (faults.length === 0) r.end(fin);
  }
}

describe("MessageReceiver", () => {
  it("a whole short message: text decoded, binary as is; lastText only while delivering", () => {
    const { r, got, seenLastText } = receiver();
    const bytes = utf8("héllo");
    r.whole(1, bytes, 0, bytes.length, false);
    r.whole(2, bytes, 1, 3, false);
    assert.equal(got[0]!.type, "text");
    assert.equal((got[0] as TextMessage).data, "héllo");
    assert.deepEqual([...(got[1] as BinaryMessage).data], [...bytes.subarray(1, 3)]);
    assert.equal(seenLastText[0], got[0]);
    assert.equal(seenLastText[1], null);
    assert.equal(r.lastText, null);
  });

  it("text split into frames at every byte: the same message, or the same fault", () => {
    const good = utf8("añ€😀z");
    const bad = Uint8Array.from([...utf8("ok"), 0xc3, 0x28]);
    const truncated = Uint8Array.from([...utf8("ok"), 0xe2, 0x82]);
    for (let cut = 0; cut <= good.length; cut++) {
      const { r, got, faults } = receiver();
      feed(r, 1, good, cut === 0 || cut === good.length ? [] : [cut]);
      assert.deepEqual(faults, []);
      assert.equal((got[0] as TextMessage).data, "añ€😀z", `cut at ${cut}`);
    }
    for (const [bytes, reason] of [
      [bad, "invalid UTF-8 in a text message"],
      [truncated, "text message ends inside a UTF-8 sequence"],
    ] as const) {
      for (let cut = 1; cut < bytes.length; cut++) {
        const { r, got, faults } = receiver();
        feed(r, 1, bytes, [cut], faults);
        assert.equal(faults[0]?.code, "INVALID_UTF8", `cut at ${cut}`);
        assert.equal(faults[0]?.message, reason, `cut at ${cut}`);
        assert.deepEqual(got, []);
      }
      const whole = receiver();
      whole.r.whole(1, bytes, 0, bytes.length, false);
      assert.equal(whole.faults[0]?.message, reason, "whole message");
    }
  });

  it("validateUtf8 off: invalid text is delivered as it came", () => {
    const { r, got, faults } = receiver(false);
    const bad = Uint8Array.from([0xff, 0xfe]);
    r.whole(1, bad, 0, 2, false);
    feed(r, 1, bad, [1]);
    assert.deepEqual(faults, []);
    assert.equal(got.length, 2);
  });

  it("lent input: a delivered message gets bytes of its own", () => {
    const { r, got } = receiver();
    const lent = Uint8Array.from([1, 2, 3, 4]);
    r.lent = lent;
    r.whole(2, lent, 0, 4, false);
    r.lent = null;
    lent.fill(0);
    assert.deepEqual([...(got[0] as BinaryMessage).data], [1, 2, 3, 4]);
  });

  it("decodeAscii decodes whole messages the parser found ASCII; decode the rest", () => {
    const used: string[] = [];
    const tagged = (tag: string) => (bytes: Uint8Array, start: number, end: number) => {
      used.push(tag);
      return decodeUtf8(bytes, start, end);
    };
    const got: TextMessage[] = [];
    const host: ReceiverHost = { deliver: (m) => got.push(m as TextMessage), fault: assert.fail };
    const r = new MessageReceiver(host, { ...options, decode: tagged("utf8"), decodeAscii: tagged("ascii") }, null);
    const ascii = utf8("plain");
    const accented = utf8("é!");
    r.whole(1, ascii, 0, ascii.length, true); // the parser saw every byte below 0x80
    r.whole(1, accented, 0, accented.length, false);
    r.whole(1, ascii, 0, ascii.length, false); // not known to be ASCII (e.g. unmasked input)
    feed(r, 1, ascii, [2]); // assembled: not known either
    assert.deepEqual(
      got.map((m) => m.data),
      ["plain", "é!", "plain", "plain"],
    );
    assert.deepEqual(used, ["ascii", "utf8", "utf8", "utf8"]);
  });

  it("copy: a range into a buffer from alloc", () => {
    const { r } = receiver();
    const copy = r.copy(Uint8Array.from([9, 8, 7, 6]), 1, 3);
    assert.deepEqual([...copy], [8, 7]);
  });
});
