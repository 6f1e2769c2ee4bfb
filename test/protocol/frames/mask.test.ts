import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  applyMask,
  chunkWords,
  unmaskShort,
  unmaskWords,
  WASM_MASK_THRESHOLD,
  wasmMaskAvailable,
} from "../../../src/protocol/frames/mask.js";
import { survivors } from "../../helpers/gc.js";

function naive(data: Uint8Array, key: Uint8Array, phase: number): Uint8Array {
  return data.map((b, i) => b ^ key[(i + phase) & 3]);
}

describe("applyMask", () => {
  it("matches the byte-by-byte definition of RFC 6455 5.3 at any length, alignment and phase", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 300 }),
        fc.uint8Array({ minLength: 4, maxLength: 4 }),
        fc.integer({ min: 0, max: 7 }),
        fc.integer({ min: 0, max: 3 }),
        (bytes, key, offset, phase) => {
          const backing = new Uint8Array(bytes.length + offset);
          backing.set(bytes, offset);
          const view = backing.subarray(offset);
          applyMask(view, key, phase);
          assert.deepEqual(view, naive(bytes, key, phase));
        },
      ),
    );
  });
  it("masks a sub-range only", () => {
    const data = new Uint8Array(100).fill(0xaa);
    const key = Uint8Array.from([1, 2, 3, 4]);
    applyMask(data, key, 1, 10, 90);
    assert.equal(data[9], 0xaa);
    assert.equal(data[90], 0xaa);
    assert.equal(data[10], 0xaa ^ 2);
    assert.equal(data[89], 0xaa ^ key[(79 + 1) & 3]);
  });
  it("is its own inverse on large buffers (1 MiB)", () => {
    const data = new Uint8Array(1 << 20).map((_, i) => i * 7);
    const copy = data.slice();
    const key = Uint8Array.from([0x37, 0xfa, 0x21, 0x3d]);
    applyMask(data, key);
    assert.notDeepEqual(data.subarray(0, 16), copy.subarray(0, 16));
    applyMask(data, key);
    assert.deepEqual(data, copy);
  });
  it("unmasking piece by piece with a running phase equals unmasking at once", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 200 }), fc.array(fc.nat(200)), (bytes, cuts) => {
        const key = Uint8Array.from([9, 8, 7, 6]);
        const whole = bytes.slice();
        applyMask(whole, key);
        const pieces = bytes.slice();
        const points = [...new Set(cuts.filter((c) => c < bytes.length))].sort((a, b) => a - b);
        let at = 0;
        for (const end of [...points, bytes.length]) {
          applyMask(pieces.subarray(at, end), key, at & 3);
          at = end;
        }
        assert.deepEqual(pieces, whole);
      }),
    );
  });
});

describe("the word views kept between calls", () => {
  it("keep no buffer over more than 64 KiB alive (applyMask's word loop, chunkWords)", async () => {
    let message: Uint8Array | null = new Uint8Array(1024 * 1024).fill(0x55);
    let chunk: Uint8Array | null = new Uint8Array(256 * 1024);
    applyMask(message, new Uint8Array([1, 2, 3, 4]), 0, 8, 1008); // the JS word loop: 128 to 2 KiB
    assert.deepEqual(message.subarray(8, 12), new Uint8Array([0x54, 0x57, 0x56, 0x51]));
    assert.equal(chunkWords(chunk)?.length, 64 * 1024);
    const small = new Uint8Array(64);
    assert.equal(chunkWords(small), chunkWords(small)); // a small chunk's view is made once
    const memory = [new WeakRef(message.buffer), new WeakRef(chunk.buffer)];
    message = chunk = null;
    assert.deepEqual(await survivors(memory), [undefined, undefined]);
  });
});

describe("applyMask on long ranges (WebAssembly SIMD)", () => {
  const key = Uint8Array.from([0x9d, 0x02, 0x7e, 0xf1]);
  /** Bytes that differ at every position, so that a byte masked twice, skipped or moved shows. */
  const sample = (n: number) => new Uint8Array(n).map((_, i) => (i * 31 + (i >>> 8)) & 0xff);

  it("is what Node runs here", () => {
    assert.equal(wasmMaskAvailable(), true);
  });

  it("matches the definition at lengths around the threshold, the 16-byte step and the 32 KiB piece", () => {
    const piece = 32 * 1024;
    const lengths = new Set<number>();
    for (const base of [WASM_MASK_THRESHOLD, piece, 2 * piece, 3 * piece])
      for (let d = -17; d <= 17; d++) lengths.add(base + d);
    for (const len of lengths) {
      for (const offset of [0, 1, 3]) {
        const phase = (len + offset) & 3;
        const backing = sample(len + offset + 5);
        const expected = backing.slice();
        for (let i = 0; i < len; i++) expected[offset + i] ^= key[(i + phase) & 3];
        applyMask(backing, key, phase, offset, offset + len);
        assert.deepEqual(backing, expected, `length ${len}, offset ${offset}, phase ${phase}`);
      }
    }
  });

  it("unmasking in two pieces cut at every byte near the ends and the piece boundary equals unmasking at once", () => {
    const len = 40 * 1024 + 7;
    const whole = sample(len);
    applyMask(whole, key, 2);
    const cuts: number[] = [];
    for (let c = 0; c <= 40; c++) cuts.push(c, len - c);
    for (let c = 32 * 1024 - 20; c <= 32 * 1024 + 20; c++) cuts.push(c, WASM_MASK_THRESHOLD + c - 32 * 1024);
    for (const cut of cuts) {
      const pieces = sample(len);
      applyMask(pieces, key, 2, 0, cut);
      applyMask(pieces, key, (2 + cut) & 3, cut, len);
      assert.deepEqual(pieces, whole, `cut at ${cut}`);
    }
  });
});

describe("unmaskShort", () => {
  it("unmasks like applyMask and reports exactly whether the unmasked bytes are all ASCII", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 127 }),
        fc.uint8Array({ minLength: 4, maxLength: 4 }),
        fc.integer({ min: 0, max: 3 }),
        fc.boolean(),
        (plain, key, phase, forceAscii) => {
          const text = forceAscii ? plain.map((b) => b & 0x7f) : plain;
          const masked = naive(text, key, phase);
          const backing = new Uint8Array(masked.length + 6);
          backing.set(masked, 3);
          const ascii = unmaskShort(backing, key, phase, 3, 3 + masked.length);
          assert.deepEqual(backing.subarray(3, 3 + masked.length), text);
          assert.deepEqual([...backing.subarray(0, 3), ...backing.subarray(3 + masked.length)], [0, 0, 0, 0, 0, 0]);
          assert.equal(
            ascii,
            text.every((b) => b < 0x80),
          );
        },
      ),
    );
  });
});

describe("unmaskWords", () => {
  it("unmasks any range of an aligned buffer like the byte loop, leaving the rest alone, and reports ASCII exactly", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 200 }),
        fc.uint8Array({ minLength: 4, maxLength: 4 }),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 9 }),
        fc.integer({ min: 0, max: 3 }),
        fc.boolean(),
        (plain, key, phase, start, after, forceAscii) => {
          const text = forceAscii ? plain.map((b) => b & 0x7f) : plain;
          const masked = naive(text, key, phase);
          // The last word may end right at the range's end (after = 0) or past it.
          const size = (start + masked.length + after + 3) & ~3;
          const data = new Uint8Array(new ArrayBuffer(size + 4), 0, size);
          data.fill(0xee);
          data.set(masked, start);
          const words = new Uint32Array(data.buffer, 0, data.length >>> 2);
          const packed = key[0] | (key[1] << 8) | (key[2] << 16) | (key[3] << 24);
          const ascii = unmaskWords(words, packed, phase, start, start + masked.length);
          assert.deepEqual(data.subarray(start, start + masked.length), text);
          assert.ok(data.subarray(0, start).every((b) => b === 0xee));
          assert.ok(data.subarray(start + masked.length).every((b) => b === 0xee));
          assert.equal(
            ascii,
            text.every((b) => b < 0x80),
          );
        },
      ),
      { numRuns: 500 },
    );
  });
});
