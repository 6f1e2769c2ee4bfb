#!/usr/bin/env node
// The cost of unmasking a large payload (issue 18: "masking in native or WASM SIMD code when it
// wins"), per MiB, in place in a 1 MiB Buffer as the engine does for a large frame:
// - applyMask: the engine's own (dist/protocol/frames/mask.js), what runs without bufferutil (a
//   build before the WebAssembly path, e.g. WIRECABLE_DIST=<main's dist>, shows the JS word loop);
// - bufferutil: the native addon's unmask (what the Node layer injects when it is installed);
// - wasm-simd+copies[/piece]: a WebAssembly SIMD loop (16 bytes per v128.xor), with the payload
//   copied into the module's memory and back, at once or in pieces (a Buffer the engine reads
//   into is not WASM memory);
// - wasm-simd in memory: the same loop alone, as if the payload had been read into WASM memory.
// The WASM module is assembled below from its bytes (no toolchain); its text form is beside them.
// Usage: npm run build && node bench/micro/mask.mjs [ROUNDS] [SIZE]
// Prints us per MiB (best of ROUNDS rounds of ~0.2 s each).
import { createRequire } from "node:module";

const dist = process.env.WIRECABLE_DIST ?? new URL("../../dist", import.meta.url).pathname;
const { applyMask } = await import(`${dist}/protocol/frames/mask.js`);
const ROUNDS = Number(process.argv[2] ?? 7);
const SIZE = Number(process.argv[3] ?? 1 << 20);

// (module
//   (memory (export "memory") 17)
//   (func (export "unmask") (param $p i32) (param $n i32) (param $k i32) (local $end i32) (local $kv v128)
//     (local.set $kv (i32x4.splat (local.get $k)))
//     (local.set $end (i32.add (local.get $p) (i32.and (local.get $n) (i32.const -16))))
//     (block (loop
//       (br_if 1 (i32.ge_u (local.get $p) (local.get $end)))
//       (v128.store (local.get $p) (v128.xor (v128.load (local.get $p)) (local.get $kv)))
//       (local.set $p (i32.add (local.get $p) (i32.const 16)))
//       (br 0)))))
// (the caller unmasks the last n % 16 bytes in JS)
const body = [
  [0x02, 0x01, 0x7f, 0x01, 0x7b], // locals: 1 x i32, 1 x v128
  [0x20, 0x02, 0xfd, 0x11, 0x21, 0x04], // kv = i32x4.splat(k)
  [0x20, 0x00, 0x20, 0x01, 0x41, 0x70, 0x71, 0x6a, 0x21, 0x03], // end = p + (n & -16)
  [0x02, 0x40, 0x03, 0x40], // block, loop
  [0x20, 0x00, 0x20, 0x03, 0x4f, 0x0d, 0x01], // br_if 1 (p >= end)
  [0x20, 0x00, 0x20, 0x00, 0xfd, 0x00, 0x04, 0x00, 0x20, 0x04, 0xfd, 0x51, 0xfd, 0x0b, 0x04, 0x00], // store(p, load(p) ^ kv)
  [0x20, 0x00, 0x41, 0x10, 0x6a, 0x21, 0x00], // p += 16
  [0x0c, 0x00, 0x0b, 0x0b, 0x0b], // br 0, end loop, end block, end func
].flat();
const section = (id, bytes) => [id, bytes.length, ...bytes];
const name = (s) => [s.length, ...Buffer.from(s)];
const bytes = Uint8Array.from([
  0x00,
  0x61,
  0x73,
  0x6d,
  0x01,
  0x00,
  0x00,
  0x00,
  ...section(1, [0x01, 0x60, 0x03, 0x7f, 0x7f, 0x7f, 0x00]),
  ...section(3, [0x01, 0x00]),
  ...section(5, [0x01, 0x00, Math.ceil((SIZE + 16) / 65536)]),
  ...section(7, [0x02, ...name("unmask"), 0x00, 0x00, ...name("memory"), 0x02, 0x00]),
  ...section(10, [0x01, body.length, ...body]),
]);
const { instance } = await WebAssembly.instantiate(bytes);
const { unmask: wasmUnmask, memory } = instance.exports;
const heap = new Uint8Array(memory.buffer);

let bufferutil;
try {
  bufferutil = createRequire(import.meta.url)("bufferutil");
} catch {
  bufferutil = undefined;
}

const key = Uint8Array.of(0x12, 0x34, 0x56, 0x78);
const keyWord = new DataView(key.buffer).getInt32(0, true);
const data = Buffer.allocUnsafe(SIZE);
for (let i = 0; i < SIZE; i++) data[i] = i & 0xff;

function wasmInPlace(view, length) {
  wasmUnmask(0, length, keyWord);
  const tail = length & ~15;
  if (tail < length) applyMask(view, key, 0, tail, length);
}

const cases = {
  applyMask: () => applyMask(data, key),
  ...(bufferutil ? { bufferutil: () => bufferutil.unmask(data, key) } : {}),
  "wasm-simd+copies": () => {
    heap.set(data, 0);
    wasmInPlace(heap, SIZE);
    data.set(heap.subarray(0, SIZE));
  },
  "wasm-simd in memory": () => wasmInPlace(heap, SIZE),
};
// The copies in pieces that stay in the L1/L2 cache between copy-in, unmask and copy-out.
for (const piece of [16384, 65536]) {
  cases[`wasm-simd+copies/${piece / 1024}K`] = () => {
    for (let at = 0; at < SIZE; at += piece) {
      const end = Math.min(at + piece, SIZE);
      heap.set(data.subarray(at, end), 0);
      wasmInPlace(heap, end - at);
      data.set(heap.subarray(0, end - at), at);
    }
  };
}

// Every case must agree with the JS reference (masking twice restores the input).
const reference = Buffer.from(data);
applyMask(reference, key);
for (const [label, run] of Object.entries(cases)) {
  const before = Buffer.from(data);
  if (label === "wasm-simd in memory") {
    heap.set(data, 0);
    run();
    if (!Buffer.from(heap.subarray(0, SIZE)).equals(reference)) throw new Error(`${label}: wrong result`);
    continue;
  }
  run();
  if (!data.equals(reference)) throw new Error(`${label}: wrong result`);
  data.set(before);
}

const best = {};
for (let round = 0; round < ROUNDS; round++) {
  for (const [label, run] of Object.entries(cases)) {
    let n = 0;
    const t0 = process.hrtime.bigint();
    let t;
    do {
      run();
      n++;
      t = process.hrtime.bigint() - t0;
    } while (t < 200_000_000n);
    const usPerMiB = Number(t) / 1000 / n / (SIZE / (1 << 20));
    best[label] = Math.min(best[label] ?? Number.POSITIVE_INFINITY, usPerMiB);
  }
}
console.log(`unmask, ${SIZE} B in place, us per MiB (best of ${ROUNDS} rounds):`);
for (const [label, us] of Object.entries(best)) console.log(`  ${label.padEnd(20)} ${us.toFixed(1)}`);
