/**
 * Shared helpers for the Node-layer tests: a time unit scaled by WIRECABLE_TEST_TIME_SCALE
 * (default 1; raise it on slow machines), bounded waits, and cleanup lists.
 */
import { once } from "node:events";
import type { AddressInfo } from "node:net";

/** One time unit in ms: 100 ms x WIRECABLE_TEST_TIME_SCALE. Timeouts in tests are multiples of it. */
export const UNIT = 100 * (Number(process.env.WIRECABLE_TEST_TIME_SCALE) || 1);

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Reject if `promise` does not settle within `ms` (default 50 units). */
export function within<T>(promise: Promise<T>, ms = 50 * UNIT, what = "operation"): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
    }),
  ]);
}

/** Wait for an event with a bound. */
export function event<T extends unknown[] = unknown[]>(
  emitter: NodeJS.EventEmitter,
  name: string,
  ms = 50 * UNIT,
): Promise<T> {
  return within(once(emitter, name) as Promise<T>, ms, `event "${name}"`);
}

export function portOf(address: AddressInfo | string | null): number {
  if (address === null || typeof address === "string") throw new Error("not listening on TCP");
  return address.port;
}

/** Poll `check` until true (bounded). */
export async function until(check: () => boolean, ms = 50 * UNIT, what = "condition"): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`${what} not reached within ${ms} ms`);
    await sleep(5);
  }
}

// ---- raw peers: a hand-written client for misbehaving-peer tests -------------------------------

import { randomBytes } from "node:crypto";
import { connect as netConnect, type Socket } from "node:net";

/** A client frame (masked, RFC 6455 5.3). */
export function clientFrame(opcode: number, payload: Uint8Array | string = new Uint8Array(0), fin = true): Buffer {
  const data = typeof payload === "string" ? Buffer.from(payload) : Buffer.from(payload);
  const len = data.length;
  const head = len < 126 ? 2 : len < 65536 ? 4 : 10;
  const out = Buffer.alloc(head + 4 + len);
  out[0] = (fin ? 0x80 : 0) | opcode;
  if (len < 126) out[1] = 0x80 | len;
  else if (len < 65536) {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(len, 2);
  } else {
    out[1] = 0x80 | 127;
    out.writeBigUInt64BE(BigInt(len), 2);
  }
  const mask = randomBytes(4);
  mask.copy(out, head);
  for (let i = 0; i < len; i++) out[head + 4 + i] = data[i]! ^ mask[i & 3]!;
  return out;
}

export interface RawFrame {
  fin: boolean;
  opcode: number;
  payload: Buffer;
}

/** Parse unmasked server frames from `buffer`; returns the frames and the unparsed rest. */
export function parseFrames(buffer: Buffer): { frames: RawFrame[]; rest: Buffer } {
  const frames: RawFrame[] = [];
  let at = 0;
  for (;;) {
    if (buffer.length - at < 2) break;
    const b0 = buffer[at]!;
    let len = buffer[at + 1]! & 0x7f;
    let head = 2;
    if (len === 126) {
      if (buffer.length - at < 4) break;
      len = buffer.readUInt16BE(at + 2);
      head = 4;
    } else if (len === 127) {
      if (buffer.length - at < 10) break;
      len = Number(buffer.readBigUInt64BE(at + 2));
      head = 10;
    }
    if (buffer.length - at < head + len) break;
    frames.push({ fin: (b0 & 0x80) !== 0, opcode: b0 & 0x0f, payload: buffer.subarray(at + head, at + head + len) });
    at += head + len;
  }
  return { frames, rest: buffer.subarray(at) };
}

/** A raw TCP client that did the opening handshake by hand; collects the frames it receives. */
export class RawClient {
  readonly socket: Socket;
  frames: RawFrame[] = [];
  response = "";
  #buffer: Buffer = Buffer.alloc(0);
  #headDone = false;
  ended = false;
  #waiters: Array<() => void> = [];

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on("data", (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      if (!this.#headDone) {
        const end = this.#buffer.indexOf("\r\n\r\n");
        if (end === -1) return;
        this.response = this.#buffer.subarray(0, end).toString("latin1");
        this.#buffer = this.#buffer.subarray(end + 4);
        this.#headDone = true;
      }
      const { frames, rest } = parseFrames(this.#buffer);
      this.frames.push(...frames);
      this.#buffer = rest;
      this.#wake();
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      this.ended = true;
      this.#wake();
    });
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  /** Connect and send an upgrade request (`head: false` to send `request` verbatim instead). */
  static async open(
    port: number,
    options: { path?: string; headers?: Record<string, string>; request?: string | Buffer; waitHead?: boolean } = {},
  ): Promise<RawClient> {
    const socket = netConnect({ host: "127.0.0.1", port });
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    const client = new RawClient(socket);
    const key = randomBytes(16).toString("base64");
    let request = options.request;
    if (request === undefined) {
      request = `GET ${options.path ?? "/"} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n`;
      for (const [k, v] of Object.entries(options.headers ?? {})) request += `${k}: ${v}\r\n`;
      request += "\r\n";
    }
    socket.write(request);
    if (options.waitHead !== false) await client.until(() => client.#headDone || client.ended);
    return client;
  }

  get status(): number {
    return Number(this.response.split(" ")[1]);
  }

  send(frame: Buffer): void {
    this.socket.write(frame);
  }

  /** Wait (bounded) until `check()` holds; re-checked on every chunk and on close. */
  async until(check: () => boolean, ms = 50 * UNIT): Promise<void> {
    const end = Date.now() + ms;
    while (!check()) {
      const left = end - Date.now();
      if (left <= 0) throw new Error(`RawClient: condition not met within ${ms} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 50));
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** The close frame received, if any: [code, reason]. */
  get closeFrame(): [number, string] | undefined {
    const f = this.frames.find((x) => x.opcode === 8);
    if (!f) return undefined;
    return [f.payload.length >= 2 ? f.payload.readUInt16BE(0) : 1005, f.payload.subarray(2).toString()];
  }

  destroy(): void {
    this.socket.destroy();
  }
}
