/**
 * Message events. A message's payload stays where it was received (`chunk[start..end)`, the
 * input buffer itself when the message came in one piece): the `bytes`/`data` views and the
 * decoded string are made on first access, once. Many servers only forward the bytes, so the
 * string is never built; many never look at `bytes` of a text message, so no view is built.
 */
import type { BinaryEvent, TextEvent } from "./types.js";

const decoder = new TextDecoder();

/** Decode valid UTF-8 in `bytes[start..end)`. */
export type Utf8Decoder = (bytes: Uint8Array, start: number, end: number) => string;

/** Default decoder: a short ASCII string is faster built by hand than through TextDecoder. */
export const decodeUtf8: Utf8Decoder = (bytes, start, end) => {
  if (end - start < 24) {
    let s = "";
    for (let i = start; i < end; i++) {
      const c = bytes[i];
      if (c >= 0x80) return decoder.decode(bytes.subarray(start, end));
      s += String.fromCharCode(c);
    }
    return s;
  }
  return decoder.decode(bytes.subarray(start, end));
};

function view(chunk: Uint8Array, start: number, end: number): Uint8Array {
  return start === 0 && end === chunk.length ? chunk : chunk.subarray(start, end);
}

export class TextMessage implements TextEvent {
  readonly type = "text" as const;
  readonly #chunk: Uint8Array;
  readonly #start: number;
  readonly #end: number;
  readonly #decode: Utf8Decoder;
  /** Set when the bytes are lent (valid during dispatch only): `bytes` is then a copy from it. */
  readonly #alloc: ((size: number) => Uint8Array) | undefined;
  #bytes: Uint8Array | undefined;
  #data: string | undefined;

  constructor(
    chunk: Uint8Array,
    start: number,
    end: number,
    decode: Utf8Decoder = decodeUtf8,
    alloc?: (size: number) => Uint8Array,
  ) {
    this.#chunk = chunk;
    this.#start = start;
    this.#end = end;
    this.#decode = decode;
    this.#alloc = alloc;
  }

  /** The UTF-8 bytes (valid). */
  get bytes(): Uint8Array {
    if (this.#bytes === undefined) {
      const alloc = this.#alloc;
      if (alloc === undefined) this.#bytes = view(this.#chunk, this.#start, this.#end);
      else {
        const bytes = alloc(this.#end - this.#start);
        bytes.set(this.#chunk.subarray(this.#start, this.#end), 0);
        this.#bytes = bytes;
      }
    }
    return this.#bytes;
  }

  /** The text, decoded on first access. */
  get data(): string {
    if (this.#data === undefined) this.#data = this.#decode(this.#chunk, this.#start, this.#end);
    return this.#data;
  }

  toJSON(): { type: "text"; data: string } {
    return { type: "text", data: this.data };
  }

  /**
   * The engine's echo shortcut: when `text` is this message's own decoded string (the app sends
   * back or relays what it just received), the received bytes are its UTF-8 encoding, already
   * validated, so they can be framed without encoding the string again. Only while nobody took
   * `bytes` (which the app could have modified). V8 compares the same string by pointer first.
   */
  static sameText(message: TextMessage, text: string): boolean {
    return message.#bytes === undefined && message.#data === text;
  }

  /** Where the bytes are: `chunk[start..end)` (engine use, with {@link TextMessage.sameText}). */
  static chunkOf(message: TextMessage): Uint8Array {
    return message.#chunk;
  }
  static startOf(message: TextMessage): number {
    return message.#start;
  }
  static endOf(message: TextMessage): number {
    return message.#end;
  }
}

export class BinaryMessage implements BinaryEvent {
  readonly type = "binary" as const;
  readonly #chunk: Uint8Array;
  readonly #start: number;
  readonly #end: number;
  #data: Uint8Array | undefined;

  constructor(chunk: Uint8Array, start: number, end: number) {
    this.#chunk = chunk;
    this.#start = start;
    this.#end = end;
  }

  /** The payload: a view of the received bytes (or of the reassembled message). */
  get data(): Uint8Array {
    if (this.#data === undefined) this.#data = view(this.#chunk, this.#start, this.#end);
    return this.#data;
  }

  toJSON(): { type: "binary"; length: number } {
    return { type: "binary", length: this.#end - this.#start };
  }
}
