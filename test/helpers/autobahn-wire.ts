/**
 * Raw-socket pieces shared by the wire conformance suite (test/conformance/wire): a hand-made
 * WebSocket client on net.Socket (handshake, masked frames sent whole or in chops, server frames
 * parsed back), and the frame codec also used by the Autobahn-like fuzzing server. Nothing here
 * uses wirecable, so it can judge wirecable.
 */
import { createHash, randomBytes } from "node:crypto";
import net from "node:net";

export const OP = { CONT: 0, TEXT: 1, BINARY: 2, CLOSE: 8, PING: 9, PONG: 10 } as const;

export interface WireFrame {
  fin: boolean;
  rsv: number; // 3 bits
  opcode: number;
  masked: boolean;
  payload: Buffer;
}

export interface FrameOptions {
  fin?: boolean;
  rsv?: number;
  /** Mask the payload (client frames). */
  mask?: boolean;
}

/** Encode one frame; the length uses the minimal encoding (RFC 6455 5.2). */
export function encodeFrame(opcode: number, payload: Buffer | string = "", options: FrameOptions = {}): Buffer {
  const data = typeof payload === "string" ? Buffer.from(payload, "utf8") : payload;
  const { fin = true, rsv = 0, mask = false } = options;
  const len = data.length;
  const extra = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const head = Buffer.alloc(2 + extra + (mask ? 4 : 0));
  head[0] = (fin ? 0x80 : 0) | ((rsv & 7) << 4) | (opcode & 0x0f);
  head[1] = (mask ? 0x80 : 0) | (extra === 0 ? len : extra === 2 ? 126 : 127);
  if (extra === 2) head.writeUInt16BE(len, 2);
  else if (extra === 8) head.writeBigUInt64BE(BigInt(len), 2);
  if (!mask) return Buffer.concat([head, data]);
  const key = randomBytes(4);
  key.copy(head, 2 + extra);
  const body = Buffer.allocUnsafe(len);
  for (let i = 0; i < len; i++) body[i] = data[i] ^ key[i & 3];
  return Buffer.concat([head, body]);
}

/** A close frame body: code (2 bytes) + reason. */
export function closeBody(code: number, reason: Buffer | string = ""): Buffer {
  const r = typeof reason === "string" ? Buffer.from(reason, "utf8") : reason;
  const b = Buffer.alloc(2 + r.length);
  b.writeUInt16BE(code, 0);
  r.copy(b, 2);
  return b;
}

/** Incremental frame parser (either direction; unmasks masked frames). */
export class FrameReader {
  #buf: Buffer = Buffer.alloc(0);
  push(chunk: Buffer): WireFrame[] {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    const out: WireFrame[] = [];
    for (;;) {
      const b = this.#buf;
      if (b.length < 2) break;
      const masked = (b[1] & 0x80) !== 0;
      let len = b[1] & 0x7f;
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
      if (b.length < off + len) break;
      const payload = Buffer.from(b.subarray(off, off + len));
      if (masked) for (let i = 0; i < len; i++) payload[i] ^= b[keyOff + (i & 3)];
      out.push({ fin: (b[0] & 0x80) !== 0, rsv: (b[0] >> 4) & 7, opcode: b[0] & 0x0f, masked, payload });
      this.#buf = b.subarray(off + len);
    }
    return out;
  }
}

/** A whole message or control frame as the Autobahn reports see them. */
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
    if (this.#kind === null) throw new Error(`continuation frame without a message in progress`);
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

export function acceptKey(key: string): string {
  return createHash("sha1").update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64");
}

/** Resolve with `promise`'s value, or with `fallback` after `ms` (the timer is cleared either way). */
function within<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((r) => {
    timer = setTimeout(() => r(fallback), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * A raw client connection. Frames it reads are kept in order; `next()` waits for the next one,
 * `tcpClosed` resolves when the server ends or closes the TCP connection.
 */
export class RawClient {
  readonly socket: net.Socket;
  readonly responseHead: string;
  readonly #reader = new FrameReader();
  readonly #assembler = new MessageAssembler();
  readonly #queue: WireMessage[] = [];
  #waiter: (() => void) | null = null;
  #closed = false;
  #tcpClosedResolve!: () => void;
  readonly tcpClosed: Promise<void>;
  /** Set when the server's bytes could not be parsed as frames/messages. */
  protocolViolation: Error | null = null;

  private constructor(socket: net.Socket, head: string, rest: Buffer) {
    this.socket = socket;
    this.responseHead = head;
    this.tcpClosed = new Promise((r) => {
      this.#tcpClosedResolve = r;
    });
    socket.on("data", (c: Buffer) => this.#onData(c));
    const done = () => {
      this.#closed = true;
      this.#tcpClosedResolve();
      this.#wake();
    };
    socket.on("end", done);
    socket.on("close", done);
    socket.on("error", () => {});
    if (rest.length > 0) this.#onData(rest);
  }

  /** Open a TCP connection and do the opening handshake; rejects on a non-101 answer. */
  static async connect(port: number, options: { path?: string; headers?: Record<string, string> } = {}) {
    const socket = net.connect({ port, host: "127.0.0.1" });
    socket.setNoDelay(true);
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    const key = randomBytes(16).toString("base64");
    const extra = Object.entries(options.headers ?? {})
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join("");
    socket.write(
      `GET ${options.path ?? "/"} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`,
    );
    const { head, rest } = await new Promise<{ head: string; rest: Buffer }>((resolve, reject) => {
      let buf = Buffer.alloc(0);
      const onData = (c: Buffer) => {
        buf = Buffer.concat([buf, c]);
        const end = buf.indexOf("\r\n\r\n");
        if (end < 0) return;
        socket.off("data", onData);
        socket.off("error", reject);
        socket.off("close", onClose);
        resolve({ head: buf.subarray(0, end).toString("latin1"), rest: buf.subarray(end + 4) });
      };
      const onClose = () => reject(new Error("closed during the handshake"));
      socket.on("data", onData);
      socket.once("error", reject);
      socket.once("close", onClose);
    });
    if (!/^HTTP\/1\.1 101 /.test(head)) {
      socket.destroy();
      throw new Error(`handshake refused: ${head.split("\r\n")[0]}`);
    }
    const accept = /^sec-websocket-accept:\s*(.+)$/im.exec(head)?.[1]?.trim();
    if (accept !== acceptKey(key)) {
      socket.destroy();
      throw new Error("bad Sec-WebSocket-Accept");
    }
    return new RawClient(socket, head, rest);
  }

  #onData(chunk: Buffer): void {
    try {
      for (const f of this.#reader.push(chunk)) {
        if (f.masked) throw new Error("the server sent a masked frame");
        const msg = this.#assembler.push(f);
        if (msg) this.#queue.push(msg);
      }
    } catch (error) {
      this.protocolViolation = error as Error;
    }
    this.#wake();
  }

  #wake(): void {
    const w = this.#waiter;
    this.#waiter = null;
    w?.();
  }

  get isTcpClosed(): boolean {
    return this.#closed;
  }

  /** Write bytes whole, or in chops of `chop` bytes with an event-loop turn between writes. */
  async send(bytes: Buffer | Buffer[], chop = 0): Promise<void> {
    const all = Array.isArray(bytes) ? Buffer.concat(bytes) : bytes;
    if (this.#closed) return;
    if (chop <= 0) {
      if (!this.socket.write(all)) await this.#drained();
      return;
    }
    for (let i = 0; i < all.length && !this.#closed; i += chop) {
      if (!this.socket.write(all.subarray(i, i + chop))) await this.#drained();
      else await new Promise((r) => setImmediate(r));
    }
  }

  /** 'drain', or the socket closed (a server that failed the connection never drains it). */
  #drained(): Promise<void> {
    if (this.#closed || this.socket.destroyed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        this.socket.off("drain", done);
        this.socket.off("close", done);
        resolve();
      };
      this.socket.on("drain", done);
      this.socket.on("close", done);
    });
  }

  /** Send one masked frame. */
  sendFrame(opcode: number, payload: Buffer | string = "", options: Omit<FrameOptions, "mask"> = {}, chop = 0) {
    return this.send(encodeFrame(opcode, payload, { ...options, mask: true }), chop);
  }

  /** The next message or control frame, or null when the TCP connection closed first. */
  async next(timeoutMs = 5000): Promise<WireMessage | null> {
    const deadline = Date.now() + timeoutMs;
    while (this.#queue.length === 0) {
      if (this.#closed) return null;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no frame from the server within ${timeoutMs} ms`);
      await within(new Promise<void>((r) => (this.#waiter = r)), left, undefined);
    }
    return this.#queue.shift()!;
  }

  /** Wait until a message is pending or TCP closed; false on timeout. */
  async waitAny(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.#queue.length === 0 && !this.#closed) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await within(new Promise<void>((r) => (this.#waiter = r)), left, undefined);
    }
    return true;
  }

  /** Messages already received and not yet taken. */
  pending(): number {
    return this.#queue.length;
  }

  /** Wait until the server closes the TCP connection; false on timeout. */
  async waitTcpClose(timeoutMs = 5000): Promise<boolean> {
    if (this.#closed) return true;
    return within(
      this.tcpClosed.then(() => true),
      timeoutMs,
      false,
    );
  }

  destroy(): void {
    this.socket.destroy();
  }
}
