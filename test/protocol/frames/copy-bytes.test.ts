/** copyBytes: exact for every length and offset, through the cached views, across arrays. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { copyBytes, releaseCopyViews } from "../../../src/protocol/frames/copy-bytes.js";
import { survivors } from "../../helpers/gc.js";

describe("copyBytes", () => {
  it("copies exactly the range asked for, at any offsets and lengths (property)", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 300 }),
        fc.nat(300),
        fc.nat(300),
        fc.nat(40),
        (source, a, b, pad) => {
          const from = source.length === 0 ? 0 : a % (source.length + 1);
          const n = source.length - from;
          const target = new Uint8Array(n + pad + 3).fill(0xee);
          const to = b % (pad + 1);
          copyBytes(source, from, target, to, n);
          assert.deepEqual(target.subarray(to, to + n), source.subarray(from, from + n));
          for (let i = 0; i < to; i++) assert.equal(target[i], 0xee);
          for (let i = to + n; i < target.length; i++) assert.equal(target[i], 0xee);
        },
      ),
    );
  });

  it("copies NaN bit patterns exactly (8-byte steps are floats: no NaN may be quieted)", () => {
    // Little-endian float64 NaNs: exponent bits all set (byte 7 & 0x7f = 0x7f, byte 6 >= 0xf0),
    // signalling (quiet bit 0x08 of byte 6 clear) and quiet, both signs, with payloads.
    const nans = [
      [0x01, 0, 0, 0, 0, 0, 0xf0, 0x7f],
      [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xf7, 0xff],
      [0, 0, 0, 0, 0, 0, 0xf8, 0x7f],
      [0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xfd, 0xff],
    ];
    for (const nan of nans) {
      for (let lead = 0; lead < 8; lead++) {
        const source = new Uint8Array([...new Array(lead).fill(0x41), ...nan, ...nan, 0x42, 0x43, 0x44]);
        for (const to of [0, 3]) {
          const target = new Uint8Array(source.length + to);
          copyBytes(source, 0, target, to, source.length);
          assert.deepEqual(target.subarray(to), source);
        }
      }
    }
    // Long copies (32-byte steps) with one NaN anywhere, and with +Infinity and -Infinity in one
    // step (their sum is NaN though neither is): exact all the same.
    const infinities = [0, 0, 0, 0, 0, 0, 0xf0, 0x7f, 0, 0, 0, 0, 0, 0, 0xf0, 0xff];
    for (const inset of [nans[0]!, infinities]) {
      for (let at = 0; at + inset.length <= 100; at++) {
        const source = new Uint8Array(100).fill(0x41);
        source.set(inset, at);
        for (const to of [0, 5]) {
          const target = new Uint8Array(100 + to);
          copyBytes(source, 0, target, to, 100);
          assert.deepEqual(target.subarray(to), source, `at ${at}, to ${to}`);
        }
      }
    }
    // The same once V8 has optimized the loop (many calls: the compiled code's float moves too).
    const source = new Uint8Array(64).map((_, i) => (i % 8 === 6 ? 0xf1 : i % 8 === 7 ? 0xff : i));
    const target = new Uint8Array(64);
    for (let round = 0; round < 20_000; round++) {
      copyBytes(source, 0, target, 0, 64);
      if (round % 1000 === 0) assert.deepEqual(target, source);
      target.fill(0);
    }
    copyBytes(source, 0, target, 0, 64);
    assert.deepEqual(target, source);
  });

  it("works on views with odd byte offsets and switches arrays between calls", () => {
    const backing = new Uint8Array(256).map((_, i) => i);
    const source = backing.subarray(3, 200);
    const first = new Uint8Array(64);
    const second = new Uint8Array(128).subarray(5);
    copyBytes(source, 1, first, 0, 64);
    assert.deepEqual(first, backing.subarray(4, 68));
    copyBytes(source, 10, second, 7, 33); // another target: a new view for it
    assert.deepEqual(second.subarray(7, 40), backing.subarray(13, 46));
    const other = new Uint8Array(50).fill(9);
    copyBytes(other, 0, first, 1, 50); // another source
    assert.deepEqual(first.subarray(1, 51), other);
    assert.equal(first[0], 4);
    releaseCopyViews();
    copyBytes(source, 0, first, 0, 16); // fresh views after a release
    assert.deepEqual(first.subarray(0, 16), backing.subarray(3, 19));
  });

  it("keeps no view of an array over more than 64 KiB of memory (it may be a whole message)", async () => {
    let source: Uint8Array | null = new Uint8Array(1024 * 1024).fill(3);
    let target: Uint8Array | null = new Uint8Array(2 * 1024 * 1024);
    copyBytes(source, 100, target, 5, 40);
    assert.deepEqual(target.subarray(5, 45), new Uint8Array(40).fill(3));
    const memory = [new WeakRef(source.buffer), new WeakRef(target.buffer)];
    source = target = null;
    assert.deepEqual(await survivors(memory), [undefined, undefined]);
  });
});
