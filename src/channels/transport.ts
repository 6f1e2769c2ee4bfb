/**
 * What a cable connection needs from a socket, and nothing more: send text (or a frame prepared
 * once for many sockets), close, and the negotiated subprotocol. The Node layer's Connection is
 * adapted to it in node-transport.ts; tests use fakes. Channels never see frames.
 */

/** An opaque, already-framed message shared by many sockets (the Node layer's PreparedMessage). */
export type PreparedFrame = object;

export interface CableTransport {
  /** Negotiated subprotocol; "" when none. */
  readonly protocol: string;
  /** Must not throw; a dead socket drops silently (its close arrives separately). */
  send(data: string | PreparedFrame): void;
  close(code?: number, reason?: string): void;
}

/** Frames a text once so it can be sent to many transports. */
export type PrepareText = (text: string) => PreparedFrame | string;

/** The handshake request as far as channels care (node's IncomingMessage satisfies it). */
export interface CableRequest {
  url?: string;
  headers: Record<string, string | string[] | undefined>;
}
