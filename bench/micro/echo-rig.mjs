// The rig of the connection micro-benchmarks (connection.mjs, connection-ab.mjs): echoing
// server Connections of a build on fake sockets (no syscalls: `write` only counts), and chunks
// of masked text frames to feed them, as a client would send.
import { EventEmitter } from "node:events";
import { resolve } from "node:path";

/** Just what Connection uses of a net.Socket. */
export class FakeSocket extends EventEmitter {
  writes = 0;
  bytes = 0;
  destroyed = false;
  writable = true;
  writableLength = 0;
  writableNeedDrain = false;
  writableEnded = false;
  remoteAddress = "127.0.0.1";
  setNoDelay() {}
  setTimeout() {}
  pause() {}
  resume() {}
  destroy() {
    this.destroyed = true;
  }
  end() {}
  write(b) {
    this.writes++;
    this.bytes += b.length;
    return true;
  }
}

/**
 * `count` fake sockets, each owned by a server Connection of the build in `dist` that echoes every
 * message (`socket.connection`), with connection `options` (default: no heartbeat, no idle timeout).
 */
export async function echoSockets(dist, count, options = { pingInterval: 0, idleTimeout: 0 }) {
  const root = resolve(dist);
  const { Connection } = await import(`${root}/node/connection.js`);
  const { createHybiEngine } = await import(`${root}/node/engines.js`);
  const { resolveConnectionOptions } = await import(`${root}/node/options.js`);
  const resolved = resolveConnectionOptions(options);
  const sockets = [];
  for (let i = 0; i < count; i++) {
    const socket = new FakeSocket();
    socket.connection = echoConnection({ Connection, createHybiEngine }, resolved, socket);
    sockets.push(socket);
  }
  return sockets;
}

/** A server Connection of a build (its `Connection` and `createHybiEngine`) on `socket`, echoing what it receives. */
export function echoConnection({ Connection, createHybiEngine }, options, socket) {
  const conn = new Connection({
    role: "server",
    socket,
    createEngine: createHybiEngine,
    options,
    protocol: "",
    extensions: [],
    extensionsHeader: "",
  });
  conn.on("message", (data, isBinary) => conn.send(data, { binary: isBinary }));
  return conn;
}

/** The read buffer `lend` copies each chunk into, as a TCP socket's reads land in read-path.ts's. */
const READ_BUFFER = Buffer.allocUnsafeSlow(64 * 1024);

/**
 * Hand `chunk` to the socket's Connection the way a plain TCP socket's read does: copied into one
 * shared read buffer and lent for the call (`transportLent`), no 'data' event. As the build's
 * read-path.ts does: the whole buffer and the read's length (`transportLent(buffer, n)`), or, for
 * builds before that, a view of the bytes read.
 */
export function lend(socket, chunk) {
  READ_BUFFER.set(chunk, 0);
  const conn = socket.connection;
  if (conn.transportLent.length >= 2) conn.transportLent(READ_BUFFER, chunk.length);
  else conn.transportLent(READ_BUFFER.subarray(0, chunk.length));
}

/**
 * Chunks of `per` masked text frames of `size` bytes each: a pool to feed in turn. The server
 * unmasks in place, so `next()` restores the masked bytes of the chunk it returns.
 */
export function maskedChunks(size, per) {
  const payload = Buffer.from("x".repeat(size));
  const key = [0x12, 0x34, 0x56, 0x78];
  const headerLength = size < 126 ? 6 : 8;
  const frame = Buffer.alloc(headerLength + size);
  frame[0] = 0x81;
  if (size < 126) frame[1] = 0x80 | size;
  else {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(size, 2);
  }
  for (let i = 0; i < 4; i++) frame[headerLength - 4 + i] = key[i];
  for (let i = 0; i < size; i++) frame[headerLength + i] = payload[i] ^ key[i & 3];
  const template = Buffer.concat(Array.from({ length: per }, () => frame));
  const pool = Array.from({ length: 4096 }, () => Buffer.from(template));
  let p = 0;
  return {
    next() {
      const chunk = pool[p];
      p = (p + 1) % pool.length;
      chunk.set(template);
      return chunk;
    },
  };
}
