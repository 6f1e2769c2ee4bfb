/**
 * The extension API (RFC 6455 section 9). An extension is negotiated during the opening
 * handshake and then transforms whole messages, inbound and outbound, possibly asynchronously.
 * The engine keeps message order even when a transform completes later than the next message
 * arrives. permessage-deflate (RFC 7692) is built on this API; the engine knows nothing of it.
 *
 * Parameters are parsed from and rendered to `Sec-WebSocket-Extensions` by
 * `extension-header.ts` (linear time, no regexes).
 */

/** Extension parameters: `true` for a bare parameter (`client_max_window_bits`), else its value. */
export type ExtensionParams = Readonly<Record<string, string | true>>;

/** One element of a `Sec-WebSocket-Extensions` header. Duplicate params are kept so that extensions can refuse them. */
export interface ExtensionOffer {
  readonly name: string;
  readonly params: ExtensionParams;
  /** Every parameter in order, duplicates included. */
  readonly rawParams: ReadonlyArray<readonly [string, string | true]>;
}

/** A whole message as it crosses an extension. */
export interface ExtensionMessage {
  /** 1 text, 2 binary. */
  readonly opcode: 1 | 2;
  /** RSV1 as received (inbound) or to be sent (outbound). */
  rsv1: boolean;
  rsv2: boolean;
  rsv3: boolean;
  /** The payload, unmasked. */
  data: Uint8Array;
  /** Outbound only: the caller's wish (`send(data, { compress })`); undefined means "extension default". */
  readonly compress?: boolean;
}

/** Which RSV bits a negotiated extension may set in frames. */
export interface RsvClaim {
  readonly rsv1?: boolean;
  readonly rsv2?: boolean;
  readonly rsv3?: boolean;
}

/**
 * A negotiated extension on one connection. `processIncoming` gets `maxPayload` (0 = no limit)
 * and must fail with a ProtocolError("MESSAGE_TOO_BIG", 1009) as soon as its output would exceed
 * it (e.g. while inflating), never after producing it all.
 */
export interface ExtensionSession extends RsvClaim {
  readonly name: string;
  processIncoming(message: ExtensionMessage, maxPayload: number): ExtensionMessage | Promise<ExtensionMessage>;
  processOutgoing(message: ExtensionMessage): ExtensionMessage | Promise<ExtensionMessage>;
  /** Release resources (zlib streams...). Called once when the connection ends. */
  close?(): void;
}

/** The server half of an extension: chooses among the client's offers. */
export interface ServerExtension {
  readonly name: string;
  /**
   * Given every offer of this extension's name, in the client's order of preference, accept
   * one and return the response params with the session, or return null to decline them all.
   * Invalid offers are declined (RFC 7692 section 5: the server declines), not thrown.
   */
  negotiate(offers: readonly ExtensionOffer[]): { params: ExtensionParams; session: ExtensionSession } | null;
}

/** The client half of an extension: makes offers and validates the server's answer. */
export interface ClientExtension {
  readonly name: string;
  /** The offers to send, in order of preference (several offers of one name are allowed). */
  offers(): ExtensionParams[];
  /**
   * Validate the server's accepted params. Throw a HandshakeError (the client then fails the
   * connection) when they are invalid or were never offered.
   */
  accept(response: ExtensionOffer): ExtensionSession;
}
