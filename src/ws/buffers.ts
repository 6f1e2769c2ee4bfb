/** ws's conversion of what `send`, `ping`, `pong` and `close` accept into a Buffer. */
export function toBuffer(data: string | Buffer | ArrayBuffer | ArrayBufferView | readonly number[]): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (typeof data === "string") return Buffer.from(data);
  if (data instanceof ArrayBuffer || (typeof SharedArrayBuffer !== "undefined" && data instanceof SharedArrayBuffer)) {
    return Buffer.from(data);
  }
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data as readonly number[]);
}
