/**
 * The optional native hooks the Node layer may inject (masker = bufferutil's API, isUtf8 =
 * buffer.isUtf8, decodeUtf8, decodeAscii): results must be identical to the pure-JS paths, whatever the
 * chunking, including fail-fast UTF-8 on partial pieces.
 */
import assert from "node:assert/strict";
import { isUtf8 } from "node:buffer";
import { createRequire } from "node:module";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { Engine } from "../../src/protocol/engine.js";
import { concat, hex } from "../helpers/bytes.js";
import { cframe, decodeFrames } from "../helpers/frames.js";
import { fixedKeyFill, run, split, testEngine } from "./helpers/engine-run.js";

const require = createRequire(import.meta.url);
const bufferutil = require("bufferutil") as NonNullable<ConstructorParameters<typeof Engine>[1]["masker"]>;
const native = {
  masker: bufferutil,
  isUtf8: (b: Uint8Array) => isUtf8(b),
  decodeUtf8: (b: Uint8Array, s: number, e: number) =>
    Buffer.from(b.buffer, b.byteOffset, b.length).toString("utf8", s, e),
  // Latin-1: wrong for anything but ASCII, so a non-ASCII message decoded with it would show.
  decodeAscii: (b: Uint8Array, s: number, e: number) =>
    Buffer.from(b.buffer, b.byteOffset, b.length).toString("latin1", s, e),
};

const fatal = new TextDecoder("utf-8", { fatal: true });
const validUtf8 = (b: Uint8Array) => {
  try {
    fatal.decode(b);
    return true;
  } catch {
    return false;
  }
};

describe("native hooks", () => {
  it("text and binary of any size and chunking parse the same with and without the hooks", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ unit: "binary", maxLength: 400 }), fc.uint8Array({ maxLength: 400 })),
        fc.array(fc.nat(500), { maxLength: 6 }),
        (message, cuts) => {
          const bytes = cframe(typeof message === "string" ? 1 : 2, message, { fin: true });
          const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
          const plainRun = run(split(bytes, points));
          const nativeRun = run(split(bytes, points), native);
          assert.deepEqual(nativeRun.events, plainRun.events);
        },
      ),
    );
  });

  it("random bytes in text frames: same verdict as a fatal TextDecoder, any chunking, with the fast validator", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 60, maxLength: 300 }),
        fc.array(fc.nat(400), { maxLength: 6 }),
        fc.boolean(),
        (payload, cuts, fragmented) => {
          const bytes = fragmented
            ? concat([cframe(1, payload.subarray(0, 70), { fin: false }), cframe(0, payload.subarray(70))])
            : cframe(1, payload);
          const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
          const r = run(split(bytes, points), native);
          assert.equal(r.events[0].type === "text", validUtf8(payload));
          if (!validUtf8(payload)) assert.equal(r.events.at(-1)?.code, 1007);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("a long valid prefix split mid-character across chunks still validates (tail handling)", () => {
    const text = "é".repeat(100) + "€".repeat(100) + "😀".repeat(50);
    const bytes = cframe(1, text);
    for (let cut = 6; cut < bytes.length; cut += 7) {
      const r = run(split(bytes, [cut]), native);
      assert.deepEqual(r.events, [{ type: "text", data: text }]);
    }
  });

  it("client frames masked by the native masker decode to the same payload", () => {
    const c = testEngine({ role: "client", masker: bufferutil, randomFill: fixedKeyFill() });
    const payload = new Uint8Array(1000).map((_, i) => i * 13);
    c.sendBinary(payload);
    c.sendText("x".repeat(300));
    const [bin, text] = decodeFrames(concat(c.takeOutput()));
    assert.equal(hex(bin.payload), hex(payload));
    assert.equal(Buffer.from(text.payload).toString(), "x".repeat(300));
  });
});
