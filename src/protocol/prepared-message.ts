/**
 * A message framed once and shared by every recipient (broadcasts): the one prepared-message type
 * of wirecable, owned by the engine, which decides per connection how to send it
 * (`Engine.sendPrepared`).
 *
 * Contract: the payload is kept as given (UTF-8 bytes for text) and never modified; the unmasked
 * server frame (RFC 6455 5.2: FIN, opcode, length, payload) is built on first use, once. A server
 * connection without extensions writes those shared bytes as they are; a client re-frames the
 * payload (it must mask with its own key, RFC 6455 5.3) and an extension (permessage-deflate)
 * transforms the payload (its compressor may share the result between recipients).
 */
import { encodeFrame } from "./frames/frame-encoder.js";

const encoder = new TextEncoder();

export class PreparedMessage {
  /** 1 text, 2 binary. */
  readonly opcode: 1 | 2;
  /** The payload (UTF-8 bytes for text). */
  readonly payload: Uint8Array;
  #frame: Uint8Array | undefined;

  constructor(payload: Uint8Array, binary: boolean) {
    this.payload = payload;
    this.opcode = binary ? 2 : 1;
  }

  get binary(): boolean {
    return this.opcode === 2;
  }

  /** The complete unmasked frame, built once and shared by every recipient's output: never modify it. */
  get frame(): Uint8Array {
    return this.#frame ?? this.#encode(); // under V8's 27 bytes: always inlined (profile.md, round thirteen, bcast13)
  }

  #encode(): Uint8Array {
    return (this.#frame = encodeFrame(this.opcode, this.payload));
  }
}

/**
 * Prepare a message for broadcasting: strings are text unless `binary`, bytes are binary unless
 * `binary: false` (then they must be UTF-8).
 */
export function prepareMessage(
  data: string | Uint8Array | ArrayBuffer,
  options?: { binary?: boolean },
): PreparedMessage {
  if (typeof data === "string") return new PreparedMessage(encoder.encode(data), options?.binary === true);
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  return new PreparedMessage(bytes, options?.binary !== false);
}
