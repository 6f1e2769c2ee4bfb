/**
 * The types a {@link Connection} is made from and reports with, shared by the server, the
 * client and the connection itself.
 */
import type { IncomingHttpHeaders, IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import type { ExtensionSession } from "../protocol/extensions/extension.js";
import type { EngineOptions, Role, WebSocketEngine } from "../protocol/types.js";
import type { ResolvedConnectionOptions } from "./options.js";
import type { PreparedMessage } from "./prepared-message.js";

/** What `send` did: written to the socket, buffered in it (a `drain` follows), or dropped. */
export type SendResult = "written" | "buffered" | "dropped";
export type SendData = string | Buffer | ArrayBuffer | ArrayBufferView | PreparedMessage;
export type EngineFactory = (options: EngineOptions) => WebSocketEngine;

/**
 * What a server connection keeps of its upgrade request. The `IncomingMessage` itself (its stream
 * state, raw header arrays and socket references: ~1.7 KB per idle connection) is not retained;
 * the server's `connection` event and `authenticate` receive the full object.
 */
export interface ConnectionRequest {
  readonly method: string;
  /** The request target, e.g. "/chat?room=1". */
  readonly url: string;
  readonly httpVersion: string;
  /** node:http's parsed headers (lowercased names). */
  readonly headers: IncomingHttpHeaders;
}

/** What a connection keeps of `req` (not the IncomingMessage itself). */
export function connectionRequest(req: IncomingMessage): ConnectionRequest {
  return { method: req.method ?? "GET", url: req.url ?? "/", httpVersion: req.httpVersion, headers: req.headers };
}

export interface CloseInfo {
  code: number;
  reason: string;
  wasClean: boolean;
}

/** What the server or client knows when it creates a connection. */
export interface ConnectionInit {
  role: Role;
  socket: Socket;
  createEngine: EngineFactory;
  options: ResolvedConnectionOptions;
  protocol: string;
  extensions: readonly ExtensionSession[];
  extensionsHeader: string;
  /** Bytes that arrived after the handshake head (first frames). */
  head?: Uint8Array;
  request?: IncomingMessage;
  data?: unknown;
  url?: string;
  /** Engine behaviours a compatibility host chooses (ws's `autoPong`, `skipUTF8Validation`...). */
  engine?: Pick<EngineOptions, "autoPong" | "validateUtf8" | "closeReason" | "requireMasking" | "echoCloseReason">;
  /** `message` carries text as a Buffer of its UTF-8 bytes (ws's shape) instead of a string. */
  textAsBuffer?: boolean;
}
