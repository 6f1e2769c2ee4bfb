/**
 * Micro-benchmarks of the engine's hot paths, side by side with ws's Receiver/Sender (with the
 * native bufferutil and utf-8-validate addons) in one run. Run: `npx tsx bench/micro/engine.ts`
 * (`--quick` for a short run). Prints a Markdown table; bench/results/micro.md keeps one.
 *
 * Parsing feeds pre-built masked client frames in 64 KiB chunks to a server-side parser (each
 * side unmasks in place, so every iteration gets fresh copies made outside the timed region).
 * ws's Receiver is driven through `_write` (its parser, without Writable stream overhead).
 *
 * "wirecable" is the engine as-is (pure JS: what a browser or Deno gets); "wirecable+native"
 * is the engine with the hooks the Node layer injects (bufferutil as `masker`, buffer.isUtf8,
 * Buffer decoding), the same native help ws gets.
 */

import { isUtf8 } from "node:buffer";
import { createRequire } from "node:module";
import { Engine } from "../../src/protocol/engine.js";
import { encodeFrame } from "../../src/protocol/frames/frame-encoder.js";
import { applyMask } from "../../src/protocol/frames/mask.js";
import type { EngineHost } from "../../src/protocol/types.js";
import { isValidUtf8 } from "../../src/protocol/utf8.js";

const require = createRequire(import.meta.url);
const { Receiver, Sender } = require("ws") as typeof import("ws") & {
  Receiver: new (o: object) => WsReceiver;
  Sender: { frame(data: Buffer, o: object): Buffer[] };
};
const bufferutil = require("bufferutil") as {
  mask(s: Buffer, m: Buffer, o: Buffer, off: number, len: number): void;
  unmask(b: Buffer, m: Buffer): void;
};
const utf8Validate = require("utf-8-validate") as (b: Buffer) => boolean;

interface WsReceiver {
  on(event: string, fn: (...args: unknown[]) => void): void;
  _write(chunk: Buffer, enc: null, cb: (err?: Error) => void): void;
}

const quick = process.argv.includes("--quick");
const MIN_TIME_MS = quick ? 150 : 600;

/**
 * Run `fn` (which performs `ops` operations) repeatedly for MIN_TIME_MS and return the best
 * per-run rate in ops per second: on a shared machine the fastest run is the one least
 * disturbed by other processes, which makes the ratios comparable between contenders.
 */
function measure(fn: () => void, ops: number, prepare?: () => void): number {
  for (let i = 0; i < 5; i++) {
    prepare?.();
    fn();
  }
  let total = 0;
  let best = Number.POSITIVE_INFINITY;
  while (total < MIN_TIME_MS * 1e6) {
    prepare?.();
    const t0 = process.hrtime.bigint();
    fn();
    const ns = Number(process.hrtime.bigint() - t0);
    total += ns;
    if (ns < best) best = ns;
  }
  return ops / (best / 1e9);
}

const rows: Array<[string, number, number, number, string]> = [];
function row(name: string, ours: number, native: number, theirs: number, unit = "ops/s") {
  rows.push([name, ours, native, theirs, unit]);
  console.error(`${name}: wirecable ${fmt(ours)}, +native ${fmt(native)}, ws ${fmt(theirs)} ${unit}`);
}
const nativeHooks = {
  masker: bufferutil,
  isUtf8: (b: Uint8Array) => isUtf8(b),
  decodeUtf8: (b: Uint8Array, s: number, e: number) =>
    Buffer.from(b.buffer, b.byteOffset, b.length).toString("utf8", s, e),
};
const fmt = (n: number) =>
  n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : n.toFixed(0);

// ---- parse many small frames --------------------------------------------------------------
const KEY = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
function clientFrames(count: number, payload: Uint8Array, opcode: number): Buffer {
  const parts: Uint8Array[] = [];
  for (let i = 0; i < count; i++) parts.push(encodeFrame(opcode, payload, { maskKey: KEY }));
  return Buffer.concat(parts);
}
function chunks(buf: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) out.push(buf.subarray(i, i + size));
  return out;
}

/** A host that drops what the engine hands it. */
const discard: EngineHost = {
  output: () => {},
  outputRange: () => {},
  dispatch: () => {},
  awaitClose: () => {},
  closeTransport: () => {},
};

function parseBench(label: string, count: number, payload: Uint8Array, opcode: number) {
  const stream = clientFrames(count, payload, opcode);
  let copies: Buffer[] = [];
  const fresh = () => {
    copies = chunks(Buffer.from(stream), 64 * 1024);
  };
  let received = 0;
  const run = (hooks: object) => {
    const host = {
      ...discard,
      dispatch: () => {
        received++;
      },
    };
    const engine = new Engine(host, { role: "server", maxPayload: 0, ...hooks });
    return measure(
      () => {
        for (const c of copies) engine.receiveData(c);
      },
      count,
      fresh,
    );
  };
  const ours = run({});
  const native = run(nativeHooks);
  const receiver = new Receiver({ isServer: true, maxPayload: 0 });
  receiver.on("message", () => {
    received++;
  });
  receiver.on("error", (e) => {
    throw e;
  });
  const noop = () => {};
  const theirs = measure(
    () => {
      for (const c of copies) receiver._write(c, null, noop);
    },
    count,
    fresh,
  );
  row(label, ours, native, theirs, "frames/s");
  if (received === 0) throw new Error("nothing parsed");
}

parseBench("parse 10k masked text frames, 16 B", 10_000, Buffer.from("0123456789abcdef"), 1);
parseBench("parse 10k masked binary frames, 128 B", 10_000, Buffer.alloc(128, 7), 2);
parseBench("parse 1k masked text frames, 2 KiB", 1000, Buffer.alloc(2048, 0x61), 1);

// ---- encode ---------------------------------------------------------------------------------
function encodeBench(label: string, make: () => string | Buffer, role: "server" | "client") {
  const data = make();
  const alloc = (n: number) => Buffer.allocUnsafe(n);
  const N = 10_000;
  const run = (hooks: object) => {
    const engine = new Engine(discard, { role, alloc, ...hooks });
    return measure(() => {
      for (let i = 0; i < N; i++) engine.send(data);
    }, N);
  };
  const ours = run({});
  const native = run(nativeHooks);
  const mask = role === "client";
  const theirs = measure(() => {
    for (let i = 0; i < N; i++) {
      const buf = typeof data === "string" ? Buffer.from(data) : data;
      Sender.frame(buf, {
        fin: true,
        rsv1: false,
        opcode: typeof data === "string" ? 1 : 2,
        mask,
        readOnly: typeof data !== "string",
      });
    }
  }, N);
  row(label, ours, native, theirs, "msgs/s");
}
encodeBench("encode server text, 32 chars", () => "x".repeat(32), "server");
encodeBench("encode server binary, 1 KiB", () => Buffer.alloc(1024, 1), "server");
encodeBench("encode client (masked) text, 32 chars", () => "x".repeat(32), "client");
encodeBench("encode client (masked) binary, 16 KiB", () => Buffer.alloc(16 * 1024, 1), "client");

// ---- mask / unmask --------------------------------------------------------------------------
for (const [label, size] of [
  ["unmask 64 B", 64],
  ["unmask 16 KiB", 16 * 1024],
  ["unmask 1 MiB", 1024 * 1024],
] as const) {
  const buf = Buffer.alloc(size, 0x5a);
  const N = Math.max(1, Math.floor((64 * 1024 * 1024) / size / 16));
  const ours = measure(() => {
    for (let i = 0; i < N; i++) applyMask(buf, KEY);
  }, N * size);
  const theirs = measure(() => {
    for (let i = 0; i < N; i++) bufferutil.unmask(buf, KEY);
  }, N * size);
  row(`${label} (JS words vs bufferutil)`, ours / 2 ** 20, theirs / 2 ** 20, theirs / 2 ** 20, "MiB/s");
}

// ---- UTF-8 validation -----------------------------------------------------------------------
for (const [label, text] of [
  ["validate UTF-8, 64 B ASCII", "a".repeat(64)],
  ["validate UTF-8, 16 KiB ASCII", "a".repeat(16 * 1024)],
  ["validate UTF-8, 16 KiB mixed", "héllo wörld €uro 😀 ".repeat(700).slice(0, 16 * 1024)],
] as const) {
  const buf = Buffer.from(text);
  const N = Math.max(1, Math.floor((16 * 1024 * 1024) / buf.length / 16));
  const ours = measure(() => {
    for (let i = 0; i < N; i++) if (!isValidUtf8(buf)) throw new Error("invalid");
  }, N * buf.length);
  const theirs = measure(() => {
    for (let i = 0; i < N; i++) if (!utf8Validate(buf)) throw new Error("invalid");
  }, N * buf.length);
  const native = measure(() => {
    for (let i = 0; i < N; i++) if (!isUtf8(buf)) throw new Error("invalid");
  }, N * buf.length);
  row(`${label} (JS / buffer.isUtf8 / utf-8-validate)`, ours / 2 ** 20, native / 2 ** 20, theirs / 2 ** 20, "MiB/s");
}

// ---- report ---------------------------------------------------------------------------------
const lines = [
  `Node ${process.version}, ${process.platform}/${process.arch}, ${new Date().toISOString()}${quick ? " (quick)" : ""}; best run of each (shared machine)`,
  "",
  "| benchmark | wirecable (JS) | wirecable+native | ws (+bufferutil, utf-8-validate) | JS / ws | native / ws |",
  "|---|---:|---:|---:|---:|---:|",
  ...rows.map(
    ([name, ours, native, theirs, unit]) =>
      `| ${name} | ${fmt(ours)} ${unit} | ${fmt(native)} ${unit} | ${fmt(theirs)} ${unit} | ${(ours / theirs).toFixed(2)} | ${(native / theirs).toFixed(2)} |`,
  ),
];
console.log(lines.join("\n"));
