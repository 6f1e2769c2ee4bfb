/**
 * The streaming writer returned by `engine.startMessage()`: the first fragment carries the
 * opcode, the following ones are continuations, `end()` sends the final fragment (RFC 6455
 * 5.4). Empty non-final writes send nothing. Streamed messages bypass the whole-message
 * extensions (sent uncompressed, RSV bits 0, which RFC 7692 allows).
 */
import { InvalidStateError } from "./errors.js";
import type { MessageWriter } from "./types.js";

const EMPTY = new Uint8Array(0);
const encoder = new TextEncoder();

/** Bytes of a payload given as a string (UTF-8), bytes, or nothing. */
export function toBytes(data: Uint8Array | string | undefined): Uint8Array {
  if (data === undefined) return EMPTY;
  return typeof data === "string" ? encoder.encode(data) : data;
}

/** A ping's or pong's payload as bytes; RFC 6455 5.5: control frame payloads are 125 bytes or less. */
export function controlBytes(data: Uint8Array | string | undefined, kind: "ping" | "pong"): Uint8Array {
  const bytes = toBytes(data);
  if (bytes.length > 125) throw new RangeError(`${kind} payload exceeds 125 bytes`);
  return bytes;
}

/** What a writer needs from its engine. */
export interface StreamTarget {
  /** False once the connection can no longer send (closing or closed). */
  canSend(): boolean;
  /** Send one fragment of the streamed message. */
  sendFragment(opcode: number, fin: boolean, data: Uint8Array): void;
  /** The streamed message is over (ended, or abandoned because the connection closed). */
  streamEnded(): void;
}

/** A writer that refuses everything (the connection is no longer open). */
export const closedWriter: MessageWriter = { write: () => false, end: () => false };

export function createMessageWriter(target: StreamTarget, opcode: 1 | 2): MessageWriter {
  let started = false;
  let ended = false;
  const fragment = (chunk: Uint8Array | string | undefined, fin: boolean): boolean => {
    if (ended) throw new InvalidStateError("the streamed message has ended");
    if (fin) ended = true;
    if (!target.canSend()) {
      if (fin) target.streamEnded();
      return false;
    }
    const bytes = toBytes(chunk);
    if (bytes.length === 0 && !fin) return true;
    target.sendFragment(started ? 0 : opcode, fin, bytes);
    started = true;
    if (fin) target.streamEnded();
    return true;
  };
  return { write: (chunk) => fragment(chunk, false), end: (chunk) => fragment(chunk, true) };
}
