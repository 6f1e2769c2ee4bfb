/**
 * An in-memory socket for servers that accept any Duplex (`server.emit("connection", socket)`):
 * what the test pushes is what the server reads; what the server writes is kept for `written()`.
 */
import { Duplex } from "node:stream";

export function memorySocket(): { socket: Duplex; written: () => string } {
  const out: Buffer[] = [];
  const socket = new Duplex({
    allowHalfOpen: true,
    read() {},
    write(chunk: Buffer, _encoding, callback) {
      out.push(chunk);
      callback();
    },
  });
  return { socket, written: () => Buffer.concat(out).toString("latin1") };
}
