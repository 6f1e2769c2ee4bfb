/**
 * A server Connection on an in-memory Duplex (no handshake, no TCP): what it writes is recorded,
 * nothing is ever read from the Duplex (tests hand bytes to the connection themselves). The
 * Duplexes made are destroyed by `destroyDuplexes()` (a test file's `after`).
 */
import { Duplex } from "node:stream";
import type { ConnectionInit } from "../../src/node/connection-types.js";
import { createHybiEngine } from "../../src/node/engines.js";
import { Connection } from "../../src/node/index.js";
import { resolveConnectionOptions } from "../../src/node/options.js";

const duplexes: Duplex[] = [];

/** `extra` overrides the init, `options` the connection options (pingInterval and idleTimeout 0 by default). */
export function duplexConnection(
  extra: Partial<ConnectionInit> = {},
  options: Record<string, unknown> = {},
): { conn: Connection; socket: Duplex; written: Uint8Array[] } {
  const written: Uint8Array[] = [];
  const socket = new Duplex({
    read() {},
    write(chunk, _encoding, cb) {
      written.push(new Uint8Array(chunk));
      cb();
    },
  });
  duplexes.push(socket);
  const conn = new Connection({
    role: "server",
    socket,
    createEngine: createHybiEngine,
    options: resolveConnectionOptions({ pingInterval: 0, idleTimeout: 0, ...options }),
    protocol: "",
    extensions: [],
    extensionsHeader: "",
    ...extra,
  });
  return { conn, socket, written };
}

export function destroyDuplexes(): void {
  for (const socket of duplexes.splice(0)) socket.destroy();
}
