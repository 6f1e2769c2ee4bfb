/**
 * A message framed once and shared by every recipient (broadcasts). The unmasked server frame
 * (RFC 6455 section 5.2: FIN, opcode, length, payload) is built on first use and the same
 * bytes are queued on every connection that can take them verbatim: server role, no extension
 * negotiated, no streamed message in progress. Other connections (clients must mask, RFC 6455
 * section 5.3; permessage-deflate transforms payloads) send the payload through their engine.
 */
export class PreparedMessage {
  /** The payload (UTF-8 bytes for text). */
  readonly payload: Buffer;
  readonly binary: boolean;
  #frame: Buffer | undefined;

  constructor(payload: Buffer, binary: boolean) {
    this.payload = payload;
    this.binary = binary;
  }

  /** The complete unmasked frame, built once. */
  get frame(): Buffer {
    return (this.#frame ??= buildFrame(this.binary ? 0x2 : 0x1, this.payload));
  }
}

/** Build one final, unmasked frame (server to client). */
export function buildFrame(opcode: number, payload: Uint8Array): Buffer {
  const length = payload.byteLength;
  // RFC 6455 5.2: 7-bit length, or 126 + 16-bit, or 127 + 64-bit (most significant bit 0).
  const headerLength = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(headerLength + length);
  frame[0] = 0x80 | opcode;
  if (length < 126) {
    frame[1] = length;
  } else if (length < 65536) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  frame.set(payload, headerLength);
  return frame;
}

/** Prepare a message for broadcasting: strings are text unless `binary`, bytes are binary unless `binary: false`. */
export function prepareMessage(
  data: string | Uint8Array | ArrayBuffer,
  options?: { binary?: boolean },
): PreparedMessage {
  if (typeof data === "string") return new PreparedMessage(Buffer.from(data, "utf8"), options?.binary === true);
  const bytes =
    data instanceof ArrayBuffer
      ? Buffer.from(data)
      : Buffer.isBuffer(data)
        ? data
        : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return new PreparedMessage(bytes, options?.binary !== false);
}
