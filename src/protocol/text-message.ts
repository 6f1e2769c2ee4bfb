/**
 * The `text` event: UTF-8 bytes already validated, decoded to a string lazily, once, on first
 * access to `data` (many servers only forward the bytes).
 */
import type { TextEvent } from "./types.js";

const decoder = new TextDecoder();

/** Default decoder: a short ASCII string is faster built by hand than through TextDecoder. */
export function decodeUtf8(bytes: Uint8Array): string {
  const n = bytes.length;
  if (n < 24) {
    let s = "";
    for (let i = 0; i < n; i++) {
      const c = bytes[i];
      if (c >= 0x80) return decoder.decode(bytes);
      s += String.fromCharCode(c);
    }
    return s;
  }
  return decoder.decode(bytes);
}

export class TextMessage implements TextEvent {
  readonly type = "text" as const;
  readonly bytes: Uint8Array;
  #data: string | undefined;
  readonly #decode: (bytes: Uint8Array) => string;

  constructor(bytes: Uint8Array, decode: (bytes: Uint8Array) => string = decodeUtf8, data?: string) {
    this.bytes = bytes;
    this.#decode = decode;
    this.#data = data;
  }

  get data(): string {
    if (this.#data === undefined) this.#data = this.#decode(this.bytes);
    return this.#data;
  }

  toJSON(): { type: "text"; data: string } {
    return { type: "text", data: this.data };
  }
}
