/**
 * A hand-made WebSocket client on a raw TCP socket, for peers that misbehave on purpose and for
 * judging servers byte by byte: it writes the upgrade request itself (or any bytes), sends
 * masked frames whole or in chops, and keeps every frame and message the server sends. Nothing
 * here uses wirecable, so it can judge wirecable. Loopback only.
 */
import { createHash, randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { connect as netConnect, type Socket } from "node:net";
import { type BuildOptions, FrameReader, frame, MessageAssembler, type WireFrame, type WireMessage } from "./frames.js";
import { UNIT } from "./time.js";

/** The port of a listening TCP server's address. */
export function portOf(address: AddressInfo | string | null): number {
  if (address === null || typeof address === "string") throw new Error("not listening on TCP");
  return address.port;
}

/** Sec-WebSocket-Accept for a key (RFC 6455 4.2.2), computed here rather than by wirecable. */
export function acceptKey(key: string): string {
  return createHash("sha1").update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64");
}

export interface RawOpenOptions {
  path?: string;
  headers?: Record<string, string>;
  /** Bytes to send instead of the usual upgrade request. */
  request?: string | Uint8Array;
  /** Wait for the response head (default true). */
  waitHead?: boolean;
}

export class RawClient {
  readonly socket: Socket;
  /** The response head (status line and headers, no final CRLF); "" until it arrived. */
  response = "";
  /** Every frame received, in order. */
  frames: WireFrame[] = [];
  /** True once the server ended or closed the TCP connection. */
  ended = false;
  /** Resolves when the server ends or closes the TCP connection. */
  readonly tcpClosed: Promise<void>;
  /** Set when the server's bytes are not a valid frame stream for a client (masked, stray continuation). */
  protocolViolation: Error | null = null;
  readonly #key: string;
  #head: Buffer | null = Buffer.alloc(0);
  readonly #reader = new FrameReader();
  readonly #assembler = new MessageAssembler();
  readonly #messages: WireMessage[] = [];
  readonly #waiters = new Set<() => void>();
  #closedResolve!: () => void;

  private constructor(socket: Socket, key: string) {
    this.socket = socket;
    this.#key = key;
    this.tcpClosed = new Promise((resolve) => (this.#closedResolve = resolve));
    socket.on("data", (chunk: Buffer) => this.#onData(chunk));
    const done = (): void => {
      this.ended = true;
      this.#closedResolve();
      this.#wake();
    };
    socket.on("end", done);
    socket.on("close", done);
    socket.on("error", () => {});
  }

  /** Connect and send an upgrade request (or `options.request`); the answer may be anything. */
  static async open(port: number, options: RawOpenOptions = {}): Promise<RawClient> {
    const socket = netConnect({ host: "127.0.0.1", port });
    socket.setNoDelay(true);
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    const key = randomBytes(16).toString("base64");
    const client = new RawClient(socket, key);
    let request = options.request;
    if (request === undefined) {
      request =
        `GET ${options.path ?? "/"} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
        `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n`;
      for (const [k, v] of Object.entries(options.headers ?? {})) request += `${k}: ${v}\r\n`;
      request += "\r\n";
    }
    socket.write(request);
    if (options.waitHead !== false) await client.until(() => client.#head === null || client.ended, "response head");
    return client;
  }

  /** Open and complete the handshake; rejects unless the answer is 101 with the right accept key. */
  static async connect(port: number, options: { path?: string; headers?: Record<string, string> } = {}) {
    const client = await RawClient.open(port, options);
    if (!/^HTTP\/1\.1 101 /.test(client.response)) {
      client.destroy();
      throw new Error(`handshake refused: ${client.response.split("\r\n")[0] || "(no answer)"}`);
    }
    const accept = /^sec-websocket-accept:\s*(.+)$/im.exec(client.response)?.[1]?.trim();
    if (accept !== acceptKey(client.#key)) {
      client.destroy();
      throw new Error("bad Sec-WebSocket-Accept");
    }
    return client;
  }

  #onData(chunk: Buffer): void {
    let bytes = chunk;
    if (this.#head !== null) {
      const buffered = Buffer.concat([this.#head, chunk]);
      const end = buffered.indexOf("\r\n\r\n");
      if (end === -1) {
        this.#head = buffered;
        return;
      }
      this.response = buffered.subarray(0, end).toString("latin1");
      this.#head = null;
      bytes = buffered.subarray(end + 4);
    }
    for (const f of this.#reader.push(bytes)) {
      this.frames.push(f);
      if (this.protocolViolation !== null) continue;
      try {
        if (f.masked) throw new Error("the server sent a masked frame");
        const message = this.#assembler.push(f);
        if (message !== null) this.#messages.push(message);
      } catch (error) {
        this.protocolViolation = error as Error;
      }
    }
    this.#wake();
  }

  #wake(): void {
    for (const wake of [...this.#waiters]) wake();
  }

  /** One turn of waiting: the next chunk or close, or `ms`. */
  #tick(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.#waiters.add(wake);
    });
  }

  /** The status code of the response head. */
  get status(): number {
    return Number(this.response.split(" ")[1]);
  }

  /** The close frame received, if any: [code, reason]. */
  get closeFrame(): [number, string] | undefined {
    const f = this.frames.find((x) => x.opcode === 8);
    if (!f) return undefined;
    return [f.payload.length >= 2 ? f.payload.readUInt16BE(0) : 1005, f.payload.subarray(2).toString()];
  }

  /** Write bytes whole, or in chops of `chop` bytes with an event-loop turn between writes. */
  async send(bytes: Uint8Array | Uint8Array[], chop = 0): Promise<void> {
    const all = Array.isArray(bytes) ? Buffer.concat(bytes) : bytes;
    if (this.ended) return;
    if (chop <= 0) {
      if (!this.socket.write(all)) await this.#drained();
      return;
    }
    for (let i = 0; i < all.length && !this.ended; i += chop) {
      if (!this.socket.write(all.subarray(i, i + chop))) await this.#drained();
      else await new Promise((r) => setImmediate(r));
    }
  }

  /** Send one frame masked with a fresh key (see {@link send} for `chop`). */
  sendFrame(opcode: number, payload: Uint8Array | string = "", options: BuildOptions = {}, chop = 0): Promise<void> {
    return this.send(frame(opcode, payload, { mask: "random", ...options }), chop);
  }

  /** 'drain', or the socket closed (a server that failed the connection never drains it). */
  #drained(): Promise<void> {
    if (this.ended || this.socket.destroyed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        this.socket.off("drain", done);
        this.socket.off("close", done);
        resolve();
      };
      this.socket.on("drain", done);
      this.socket.on("close", done);
    });
  }

  /** Wait until `check()` holds, re-checked on every chunk and on close; reject after `ms`. */
  async until(check: () => boolean, what = "condition", ms = 50 * UNIT): Promise<void> {
    const end = Date.now() + ms;
    while (!check()) {
      const left = end - Date.now();
      if (left <= 0) throw new Error(`RawClient: ${what} not reached within ${ms} ms`);
      await this.#tick(Math.min(left, 50));
    }
  }

  /** The next message or control frame, or null when the TCP connection closed first. */
  async next(ms = 50 * UNIT): Promise<WireMessage | null> {
    await this.until(() => this.#messages.length > 0 || this.ended, "a frame from the server", ms);
    return this.#messages.shift() ?? null;
  }

  /** Wait until a message is pending or TCP closed; false after `ms`. */
  async waitAny(ms: number): Promise<boolean> {
    const end = Date.now() + ms;
    while (this.#messages.length === 0 && !this.ended) {
      const left = end - Date.now();
      if (left <= 0) return false;
      await this.#tick(left);
    }
    return true;
  }

  /** Messages received and not yet taken by {@link next}. */
  pending(): number {
    return this.#messages.length;
  }

  /** Wait until the server closes the TCP connection; false after `ms`. */
  async waitTcpClose(ms = 50 * UNIT): Promise<boolean> {
    const end = Date.now() + ms;
    while (!this.ended) {
      const left = end - Date.now();
      if (left <= 0) return false;
      await this.#tick(left);
    }
    return true;
  }

  destroy(): void {
    this.socket.destroy();
  }
}
