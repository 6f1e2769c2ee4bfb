/**
 * What a `wirecable/ws` socket runs with, and the wirecable {@link Connection} that carries it.
 *
 * Contract:
 * - {@link settingsFrom} reads the client's or the server's options (ws's defaults where absent:
 *   synchronous events, auto pong, a 30 s close timeout, 100 MiB messages, UTF-8 validated,
 *   unheard errors thrown).
 * - {@link wsConnection} makes the Connection of an open socket with those settings: ws's limits
 *   and no others (no fragment cap, no heartbeat, no idle timeout, no send backpressure), text
 *   delivered as Buffers, the socket's own 'data' events kept (ws's users read `ws._socket`),
 *   no close reason of wirecable's own, and `generateMask` (client) filling every masking key.
 */
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { Connection } from "../node/connection.js";
import { createHybiEngine } from "../node/engines.js";
import { resolveConnectionOptions } from "../node/options.js";
import type { ExtensionSession } from "../protocol/extensions/extension.js";

export const CLOSE_TIMEOUT = 30_000;

export type UnhandledErrors = "throw" | "ignore";

/** What a socket runs with once open (from the client's or the server's options). */
export interface SocketSettings {
  allowSynchronousEvents: boolean;
  autoPong: boolean;
  closeTimeout: number;
  maxPayload: number;
  skipUTF8Validation: boolean;
  unhandledErrors: UnhandledErrors;
  /** ws's `generateMask(mask)`: fills the 4-byte masking key of each frame (client). */
  generateMask?: ((mask: Buffer) => void) | undefined;
}

/** A socket's settings from the client's or the server's options (ws's defaults where absent). */
export function settingsFrom(options: {
  allowSynchronousEvents?: boolean;
  autoPong?: boolean;
  closeTimeout?: number;
  maxPayload?: number;
  skipUTF8Validation?: boolean;
  unhandledErrors?: UnhandledErrors;
  generateMask?: unknown;
}): SocketSettings {
  const defaults = defaultSettings();
  return {
    allowSynchronousEvents: options.allowSynchronousEvents !== false,
    autoPong: options.autoPong !== false,
    closeTimeout: options.closeTimeout ?? defaults.closeTimeout,
    maxPayload: options.maxPayload ?? defaults.maxPayload,
    skipUTF8Validation: options.skipUTF8Validation === true,
    unhandledErrors: options.unhandledErrors === "ignore" ? "ignore" : "throw",
    generateMask:
      typeof options.generateMask === "function" ? (options.generateMask as (mask: Buffer) => void) : undefined,
  };
}

export function defaultSettings(): SocketSettings {
  return {
    allowSynchronousEvents: true,
    autoPong: true,
    closeTimeout: CLOSE_TIMEOUT,
    maxPayload: 100 * 1024 * 1024,
    skipUTF8Validation: false,
    unhandledErrors: "throw",
  };
}

/** The Connection of an open ws socket (see the module comment). */
export function wsConnection(
  socket: Duplex,
  role: "server" | "client",
  settings: SocketSettings,
  protocol: string,
  sessions: readonly ExtensionSession[],
  extensionsHeader: string,
): Connection {
  return new Connection({
    role,
    socket: socket as Socket,
    createEngine: createHybiEngine,
    options: resolveConnectionOptions({
      maxPayload: settings.maxPayload,
      maxFragments: 0,
      pingInterval: 0,
      pongTimeout: 0,
      idleTimeout: 0,
      closeTimeout: settings.closeTimeout,
      maxBufferedAmount: 0,
    }),
    protocol,
    extensions: sessions,
    extensionsHeader,
    textAsBuffer: true,
    // ws's users (and its test suite) may listen to `ws._socket`'s 'data' events.
    dataEvents: true,
    engine: {
      randomFill: role === "client" && settings.generateMask ? maskFiller(settings.generateMask) : undefined,
      autoPong: settings.autoPong,
      validateUtf8: !settings.skipUTF8Validation,
      closeReason: () => "",
      echoCloseReason: true,
    },
  });
}

/**
 * The engine draws masking keys 4 bytes at a time from blocks it fills with `randomFill`: fill
 * each 4-byte slot of a block with one `generateMask` key, so that every frame gets one.
 */
export function maskFiller(generateMask: (mask: Buffer) => void): (target: Uint8Array) => void {
  const key = Buffer.alloc(4);
  return (target) => {
    for (let i = 0; i < target.length; i += 4) {
      key.fill(0);
      generateMask(key);
      target.set(key.subarray(0, Math.min(4, target.length - i)), i);
    }
  };
}
