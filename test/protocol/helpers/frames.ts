/**
 * Test helpers: an independent frame builder (written from RFC 6455 section 5.2, not from
 * the encoder), an engine harness that feeds bytes in any chunking and returns comparable
 * plain data, and a decoder for output streams.
 */
import { Engine } from "../../../src/protocol/engine.js";
import type { EngineEvent, EngineOptions } from "../../../src/protocol/types.js";

export const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.length).toString("hex");
export const fromHex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ""), "hex"));
export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The key of RFC 6455 5.7's masked example. */
export const RFC_KEY = Uint8Array.from([0x37, 0xfa, 0x21, 0x3d]);

/** A randomFill that always yields the same 4-byte key (so frames are predictable). */
export function fixedKeyFill(key: Uint8Array = RFC_KEY): (target: Uint8Array) => void {
  return (target) => {
    for (let i = 0; i < target.length; i++) target[i] = key[i & 3];
  };
}

export interface BuildOptions {
  fin?: boolean;
  rsv?: number; // 0..7: RSV1 = 4, RSV2 = 2, RSV3 = 1
  /** A masking key, or true for RFC_KEY. Default: masked when `masked` is true. */
  mask?: Uint8Array | boolean;
  /** Force a length encoding: 7, 16 or 64 bits (possibly non-minimal). */
  lengthBits?: 7 | 16 | 64;
  /** Announce this length instead of the payload's. */
  announce?: number;
}

/** Build one frame byte by byte from RFC 6455 5.2. */
export function frame(
  opcode: number,
  payload: Uint8Array | string = new Uint8Array(0),
  o: BuildOptions = {},
): Uint8Array {
  const data = typeof payload === "string" ? utf8(payload) : payload;
  const len = o.announce ?? data.length;
  const bits = o.lengthBits ?? (len < 126 ? 7 : len < 65536 ? 16 : 64);
  const key = o.mask === true ? RFC_KEY : o.mask instanceof Uint8Array ? o.mask : null;
  const bytes: number[] = [((o.fin ?? true) ? 0x80 : 0) | ((o.rsv ?? 0) << 4) | opcode];
  const m = key ? 0x80 : 0;
  if (bits === 7) bytes.push(m | len);
  else if (bits === 16) bytes.push(m | 126, (len >> 8) & 0xff, len & 0xff);
  else {
    bytes.push(m | 127);
    const big = BigInt(len);
    for (let i = 7; i >= 0; i--) bytes.push(Number((big >> BigInt(i * 8)) & 0xffn));
  }
  if (key) bytes.push(...key);
  const out = new Uint8Array(bytes.length + data.length);
  out.set(bytes);
  for (let i = 0; i < data.length; i++) out[bytes.length + i] = key ? data[i] ^ key[i & 3] : data[i];
  return out;
}

/** A client-to-server (masked) frame. */
export const cframe = (opcode: number, payload?: Uint8Array | string, o: BuildOptions = {}): Uint8Array =>
  frame(opcode, payload, { mask: true, ...o });

/** Close frame payload. */
export function closeBody(code: number, reason = ""): Uint8Array {
  const r = utf8(reason);
  const out = new Uint8Array(2 + r.length);
  out[0] = code >> 8;
  out[1] = code & 0xff;
  out.set(r, 2);
  return out;
}

/** Plain comparable form of an event. */
export type Plain = Record<string, unknown>;
export function plain(e: EngineEvent): Plain {
  switch (e.type) {
    case "text":
      return { type: "text", data: e.data };
    case "binary":
    case "ping":
    case "pong":
      return { type: e.type, data: hex(e.data) };
    case "closing":
      return { type: "closing", code: e.code, reason: e.reason, initiator: e.initiator };
    case "close":
      return { type: "close", code: e.code, reason: e.reason, wasClean: e.wasClean };
    case "error":
      return { type: "error", code: (e.error as { code?: string }).code ?? e.error.name };
    case "open":
      return { type: "open", protocol: e.protocol, extensions: e.extensions };
  }
}

export interface RunResult {
  events: Plain[];
  output: string;
  engine: Engine;
}

/** Split `bytes` at the given offsets (sorted, unique). */
export function split(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  for (const c of cuts) {
    if (c <= at || c >= bytes.length) continue;
    out.push(bytes.slice(at, c));
    at = c;
  }
  out.push(bytes.slice(at));
  return out;
}

/** Feed chunks (copied: the engine unmasks in place) to a fresh engine in queue mode. */
export function run(chunks: readonly Uint8Array[], options: Partial<EngineOptions> = {}, eof = false): RunResult {
  const engine = new Engine({ role: "server", randomFill: fixedKeyFill(), ...options });
  const events: Plain[] = [];
  const output: Uint8Array[] = [];
  for (const c of chunks) {
    engine.receiveData(c.slice());
    output.push(...engine.takeOutput());
    events.push(...engine.takeEvents().map(plain));
  }
  if (eof) {
    engine.receiveEof();
    output.push(...engine.takeOutput());
    events.push(...engine.takeEvents().map(plain));
  }
  return { events, output: hex(concat(output)), engine };
}

/** Whole, split at every index, and one byte at a time: all must agree. Returns the whole run. */
export function runAllSplits(bytes: Uint8Array, options: Partial<EngineOptions> = {}): RunResult[] {
  const results = [run([bytes], options)];
  for (let i = 1; i < bytes.length; i++) results.push(run(split(bytes, [i]), options));
  results.push(
    run(
      Array.from(bytes, (_, i) => bytes.subarray(i, i + 1)),
      options,
    ),
  );
  return results;
}

/** Decode an output stream into frames (for assertions). */
export interface DecodedFrame {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  payload: Uint8Array;
}
export function decodeFrames(bytes: Uint8Array): DecodedFrame[] {
  const frames: DecodedFrame[] = [];
  let i = 0;
  while (i < bytes.length) {
    const b0 = bytes[i];
    const b1 = bytes[i + 1];
    let len = b1 & 0x7f;
    i += 2;
    if (len === 126) {
      len = (bytes[i] << 8) | bytes[i + 1];
      i += 2;
    } else if (len === 127) {
      len = Number(new DataView(bytes.buffer, bytes.byteOffset + i, 8).getBigUint64(0));
      i += 8;
    }
    const masked = (b1 & 0x80) !== 0;
    let key: Uint8Array | null = null;
    if (masked) {
      key = bytes.slice(i, i + 4);
      i += 4;
    }
    const payload = bytes.slice(i, i + len);
    if (key) for (let j = 0; j < payload.length; j++) payload[j] ^= key[j & 3];
    frames.push({ fin: (b0 & 0x80) !== 0, rsv: (b0 >> 4) & 7, opcode: b0 & 0xf, masked, payload });
    i += len;
  }
  return frames;
}
