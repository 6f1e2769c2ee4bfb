/**
 * websocket-driver's two streams: `io` (the wire: write the socket's bytes into it, pipe its
 * 'data' to the socket) and `messages` (write text or binary messages into it, read messages
 * from its 'data'). Classic `Stream`s with websocket-driver's pause/resume rules.
 */
import { Stream } from "node:stream";

export interface StreamHost {
  parse(chunk: Uint8Array): void;
  text(message: string): boolean;
  binary(message: Uint8Array): boolean;
  io: IO;
  messages: Messages;
}

export class IO extends Stream {
  readable = true;
  writable = true;
  _paused = false;
  readonly #driver: StreamHost;
  constructor(driver: StreamHost) {
    super();
    this.#driver = driver;
  }
  pause(): void {
    this._paused = true;
    this.#driver.messages._paused = true;
  }
  resume(): void {
    this._paused = false;
    this.emit("drain");
    const messages = this.#driver.messages;
    messages._paused = false;
    messages.emit("drain");
  }
  write(chunk: Uint8Array): boolean {
    if (!this.writable) return false;
    this.#driver.parse(chunk);
    return !this._paused;
  }
  end(chunk?: Uint8Array): void {
    if (!this.writable) return;
    if (chunk !== undefined) this.write(chunk);
    this.writable = false;
    const messages = this.#driver.messages;
    if (messages.readable) {
      messages.readable = messages.writable = false;
      messages.emit("end");
    }
  }
  destroy(): void {
    this.end();
  }
}

export class Messages extends Stream {
  readable = true;
  writable = true;
  _paused = false;
  readonly #driver: StreamHost;
  constructor(driver: StreamHost) {
    super();
    this.#driver = driver;
  }
  pause(): void {
    this.#driver.io._paused = true;
  }
  resume(): void {
    this.#driver.io._paused = false;
    this.#driver.io.emit("drain");
  }
  write(message: string | Uint8Array): boolean {
    if (!this.writable) return false;
    if (typeof message === "string") this.#driver.text(message);
    else this.#driver.binary(message);
    return !this._paused;
  }
  end(message?: string | Uint8Array): void {
    if (message !== undefined) this.write(message);
  }
  destroy(): void {}
}
