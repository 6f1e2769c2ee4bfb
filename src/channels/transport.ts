/**
 * What a cable connection needs from a socket, and nothing more: send text (or a message
 * prepared once for many sockets), close, and the negotiated subprotocol. The Node layer's
 * Connection is adapted to it by CableServer (cable-server.ts); tests use fakes. Channels never
 * see frames: a PreparedMessage is the engine's, opaque here.
 */
import type { PreparedMessage } from "../node/index.js";

export interface CableTransport {
  /** Negotiated subprotocol; "" when none. */
  readonly protocol: string;
  /**
   * Send text to this client, or a message prepared for many (a broadcast, with the broadcast
   * backpressure rule: dropped for a slow consumer, never queued). Must not throw; a dead socket
   * drops silently (its close arrives separately).
   */
  send(data: string | PreparedMessage): void;
  close(code?: number, reason?: string): void;
}

/** Prepares a text once so it can be sent to many transports (CableServer passes prepareMessage). */
export type PrepareText = (text: string) => PreparedMessage | string;

/** The handshake request as far as channels care (node's IncomingMessage satisfies it). */
export interface CableRequest {
  url?: string;
  headers: Record<string, string | string[] | undefined>;
}
