/**
 * RFC 6455 frames for tests, written from section 5.2 and not from wirecable's encoder or
 * parser, so that they can judge them: one builder ({@link frame}, masked: {@link cframe}),
 * close bodies, one reader ({@link FrameReader}, either direction, incremental; whole streams:
 * {@link decodeFrames}) and a message reassembler for raw peers. Frames are Buffers for the
 * sockets; mind that a Buffer's `slice()` is a view (the engine unmasks its input in place: feed
 * it copies, `new Uint8Array(bytes)`).
 */
import { randomBytes } from "node:crypto";
import { utf8 } from "./bytes.js";

export const OP = { CONT: 0, TEXT: 1, BINARY: 2, CLOSE: 8, PING: 9, PONG: 10 } as const;

/** The key of RFC 6455 5.7's masked example. */
export const RFC_KEY = Uint8Array.from([0x37, 0xfa, 0x21, 0x3d]);

export interface BuildOptions {
  fin?: boolean;
  /** RSV bits, 0..7: RSV1 = 4, RSV2 = 2, RSV3 = 1. */
  rsv?: number;
  /**
   * Client frames: a masking key, true for RFC_KEY (predictable bytes), or "random" for a fresh
   * key as a real client draws (RFC 6455 5.3). Default: unmasked (server frames).
   */
  mask?: Uint8Array | boolean | "random";
  /** Force a length encoding: 7, 16 or 64 bits (possibly non-minimal). */
  lengthBits?: 7 | 16 | 64;
  /** Announce this length instead of the payload's. */
  announce?: number;
}

function randomKey(): Uint8Array {
  return new Uint8Array(randomBytes(4));
}

/** Build one frame byte by byte from RFC 6455 5.2 (minimal length encoding unless told otherwise). */
export function frame(opcode: number, payload: Uint8Array | string = new Uint8Array(0), o: BuildOptions = {}): Buffer {
  const data = typeof payload === "string" ? utf8(payload) : payload;
  const len = o.announce ?? data.length;
  const bits = o.lengthBits ?? (len < 126 ? 7 : len < 65536 ? 16 : 64);
  const key =
    o.mask === true ? RFC_KEY : o.mask === "random" ? randomKey() : o.mask instanceof Uint8Array ? o.mask : null;
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
  // A Buffer of its own (not a view of Node's pool): slice() copies it only through Uint8Array.
  const out = Buffer.alloc(bytes.length + data.length);
  out.set(bytes);
  for (let i = 0; i < data.length; i++) out[bytes.length + i] = key ? data[i]! ^ key[i & 3]! : data[i]!;
  return out;
}

/** A client-to-server (masked) frame. */
export const cframe = (opcode: number, payload?: Uint8Array | string, o: BuildOptions = {}): Buffer =>
  frame(opcode, payload, { mask: true, ...o });

/** A close frame body: code (2 bytes) + reason. */
export function closeBody(code: number, reason: Uint8Array | string = ""): Buffer {
  const r = typeof reason === "string" ? utf8(reason) : reason;
  const out = Buffer.alloc(2 + r.length);
  out[0] = code >> 8;
  out[1] = code & 0xff;
  out.set(r, 2);
  return out;
}

export interface WireFrame {
  fin: boolean;
  /** RSV bits, 0..7 (RSV1 = 4). */
  rsv: number;
  opcode: number;
  masked: boolean;
  /** Unmasked. */
  payload: Buffer;
}

/**
 * Incremental frame reader (either direction; unmasks masked frames). Input chunks are kept as a
 * list and joined once per frame, so a 16 MiB frame arriving in 64 KiB reads costs one copy, not
 * one per read.
 */
export class FrameReader {
  readonly #chunks: Buffer[] = [];
  #length = 0;

  /** Bytes received and not yet part of a whole frame. */
  get rest(): Buffer {
    return this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks, this.#length);
  }

  /** The frames completed by `chunk`. */
  push(chunk: Uint8Array): WireFrame[] {
    if (chunk.byteLength > 0) {
      this.#chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      this.#length += chunk.byteLength;
    }
    const out: WireFrame[] = [];
    for (;;) {
      if (this.#length < 2) break;
      const b = this.#peek(Math.min(this.#length, 14));
      const masked = (b[1]! & 0x80) !== 0;
      let len = b[1]! & 0x7f;
      let off = 2;
      if (len === 126) {
        if (b.length < 4) break;
        len = b.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (b.length < 10) break;
        len = Number(b.readBigUInt64BE(2));
        off = 10;
      }
      const keyOff = off;
      if (masked) off += 4;
      if (this.#length < off + len) break;
      const whole = this.#take(off + len);
      const payload = whole.subarray(off);
      if (masked) for (let i = 0; i < len; i++) payload[i]! ^= whole[keyOff + (i & 3)]!;
      out.push({ fin: (b[0]! & 0x80) !== 0, rsv: (b[0]! >> 4) & 7, opcode: b[0]! & 0x0f, masked, payload });
    }
    return out;
  }

  /** The first `n` buffered bytes, contiguous (joins only the chunks they span). */
  #peek(n: number): Buffer {
    const first = this.#chunks[0]!;
    if (first.length >= n) return first.subarray(0, n);
    const parts: Buffer[] = [];
    let have = 0;
    for (const c of this.#chunks) {
      parts.push(c);
      have += c.length;
      if (have >= n) break;
    }
    return Buffer.concat(parts, have).subarray(0, n);
  }

  /** Remove the first `n` buffered bytes and return them as a new Buffer of their own. */
  #take(n: number): Buffer {
    const out = Buffer.allocUnsafeSlow(n); // not a slice of Node's shared pool
    let filled = 0;
    while (filled < n) {
      const c = this.#chunks[0]!;
      const want = n - filled;
      if (c.length <= want) {
        c.copy(out, filled);
        filled += c.length;
        this.#chunks.shift();
      } else {
        c.copy(out, filled, 0, want);
        this.#chunks[0] = c.subarray(want);
        filled += want;
      }
    }
    this.#length -= n;
    return out;
  }
}

/** Every whole frame of a byte stream (for assertions on an engine's output). */
export function decodeFrames(bytes: Uint8Array): WireFrame[] {
  return new FrameReader().push(bytes);
}

/** A whole message or control frame, as a peer sees it. */
export interface WireMessage {
  kind: "text" | "binary" | "ping" | "pong" | "close";
  data: Buffer;
  /** Frames this message came in (data messages). */
  frames: number;
  /** RSV bits of its first frame (RSV1 = 4: compressed with permessage-deflate). */
  rsv: number;
}

/** Reassemble data messages from frames (control frames pass through as they come). */
export class MessageAssembler {
  #parts: Buffer[] = [];
  #kind: "text" | "binary" | null = null;
  #rsv = 0;

  push(f: WireFrame): WireMessage | null {
    if (f.opcode === OP.PING || f.opcode === OP.PONG || f.opcode === OP.CLOSE) {
      const kind = f.opcode === OP.PING ? "ping" : f.opcode === OP.PONG ? "pong" : "close";
      return { kind, data: f.payload, frames: 1, rsv: f.rsv };
    }
    if (f.opcode === OP.TEXT || f.opcode === OP.BINARY) {
      this.#kind = f.opcode === OP.TEXT ? "text" : "binary";
      this.#rsv = f.rsv;
    }
    if (this.#kind === null) throw new Error("continuation frame without a message in progress");
    this.#parts.push(f.payload);
    if (!f.fin) return null;
    const msg: WireMessage = {
      kind: this.#kind,
      data: Buffer.concat(this.#parts),
      frames: this.#parts.length,
      rsv: this.#rsv,
    };
    this.#parts = [];
    this.#kind = null;
    return msg;
  }
}
