/**
 * The three error families of wirecable (see docs/errors.md for the table):
 *
 * - {@link ProtocolError}: the peer's fault after the handshake. Carries a stable string
 *   `code` (e.g. "BAD_MASKING") and the RFC 6455 close code to send (1002, 1007, 1009...).
 *   Never thrown out of `receiveData`: it is delivered as an `error` event and turned into a
 *   close frame at one choke point.
 * - {@link HandshakeError}: the peer's fault during the opening handshake. Carries the HTTP
 *   status to answer with (400, 403, 426, 431...) and optional extra headers.
 * - {@link InvalidStateError} / `TypeError` / `RangeError` / {@link OptionError}: the caller's
 *   mistakes, thrown at once from the method that was misused.
 */

/**
 * Every peer mistake after the handshake, by its stable string code, and the RFC 6455 close code
 * (section 7.4.1) it is answered with: the one table (docs/errors.md shows it with the sections).
 */
export const PROTOCOL_ERRORS = {
  BAD_OPCODE: 1002,
  BAD_MASKING: 1002,
  BAD_RSV: 1002,
  CONTROL_FRAME_FRAGMENTED: 1002,
  CONTROL_FRAME_TOO_LONG: 1002,
  UNEXPECTED_CONTINUATION: 1002,
  EXPECTED_CONTINUATION: 1002,
  LENGTH_NOT_MINIMAL: 1002,
  INVALID_CLOSE_CODE: 1002,
  INVALID_CLOSE_PAYLOAD: 1002,
  INVALID_UTF8: 1007,
  /** An extension could not process a message (e.g. corrupt deflate data). */
  EXTENSION_ERROR: 1007,
  /** A policy of this endpoint: too many messages (`rateLimit`). */
  RATE_LIMITED: 1008,
  /** A policy of this endpoint: a slow consumer above `maxBufferedAmount` under the "close" policy. */
  POLICY_VIOLATION: 1008,
  LENGTH_TOO_LARGE: 1009,
  MESSAGE_TOO_BIG: 1009,
  TOO_MANY_FRAGMENTS: 1009,
} as const;

/** Stable, documented string codes for every peer mistake the engine detects. */
export type ProtocolErrorCode = keyof typeof PROTOCOL_ERRORS;

/**
 * A mistake by the peer (or a breach of this endpoint's policy), with the close code we answer
 * with, from {@link PROTOCOL_ERRORS}. Anything that is not a ProtocolError failing a connection
 * is internal: close code 1011, an empty reason on the wire.
 */
export class ProtocolError extends Error {
  override readonly name = "ProtocolError";
  /** Stable string code, safe to match on. */
  readonly code: ProtocolErrorCode;
  /** RFC 6455 section 7.4.1 status code sent in our close frame. */
  readonly closeCode: number;
  /** The offending value where there is one: the opcode, the RSV bits, the frame length or the close code. */
  readonly detail?: number;
  /** `message` is also the close frame's reason (cut to fit 123 bytes). */
  constructor(code: ProtocolErrorCode, message: string, options?: { cause?: unknown; detail?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.closeCode = PROTOCOL_ERRORS[code];
    if (options?.detail !== undefined) this.detail = options.detail;
  }
}

/**
 * Every refused or failed opening handshake, by its stable code, and its HTTP status: the one a
 * server answers with, or (client side) the one reported. `null`: the status is the peer's own (a
 * server's or a proxy's answer, an `authenticate` rejection) and comes with the error.
 */
export const HANDSHAKE_ERRORS = {
  /** A malformed head, or a request that is not a valid WebSocket upgrade (RFC 6455 4.2.1). */
  BAD_REQUEST: 400,
  /** `Origin` not allowed (RFC 6455 10.2). */
  ORIGIN_FORBIDDEN: 403,
  /** A method other than GET. */
  METHOD_NOT_ALLOWED: 405,
  /** The handshake took longer than `handshakeTimeout` (either side). */
  HANDSHAKE_TIMEOUT: 408,
  /** A request line above the parser's limit. */
  URI_TOO_LONG: 414,
  /** A `Sec-WebSocket-Version` we do not speak (RFC 6455 4.4). */
  UNSUPPORTED_VERSION: 426,
  /** Too many header fields, or too many bytes of them. */
  HEADERS_TOO_LARGE: 431,
  /** An application callback (subprotocol selection, extension negotiation, `authenticate`) threw. */
  CALLBACK_FAILED: 500,
  /** The server is closing, or full (`maxConnections`). */
  SERVER_UNAVAILABLE: 503,
  /** Not HTTP/1.x. */
  HTTP_VERSION_NOT_SUPPORTED: 505,
  /** `authenticate` refused the request: its status. */
  REJECTED: null,
  /** Client side: the answer was not a valid upgrade (accept key, an unoffered choice, cut short). */
  BAD_RESPONSE: 502,
  /** Client side: the server answered with another status. */
  UNEXPECTED_RESPONSE: null,
  /** Client side: the CONNECT proxy refused the tunnel. */
  PROXY_REFUSED: null,
  /** Client side: more redirects than allowed. */
  TOO_MANY_REDIRECTS: null,
} as const;

export type HandshakeErrorCode = keyof typeof HANDSHAKE_ERRORS;

/** A mistake in an opening handshake: its code, and the HTTP status from {@link HANDSHAKE_ERRORS}. */
export class HandshakeError extends Error {
  override readonly name = "HandshakeError";
  /** Stable string code, safe to match on. */
  readonly code: HandshakeErrorCode;
  /** HTTP status (400 bad request, 403 forbidden, 426 upgrade required, 431 headers too large...). */
  readonly status: number;
  /** Extra response headers, e.g. `Sec-WebSocket-Version: 13` with a 426. */
  readonly headers: Readonly<Record<string, string>>;
  /** For client handshakes that failed on the server's answer: what the server said. */
  readonly response?: {
    readonly status: number;
    readonly statusText: string;
    readonly headers: ReadonlyArray<readonly [string, string]>;
    readonly body: Uint8Array;
  };
  /** `status` is required for the codes whose status is the peer's (null in the table), and only for them. */
  constructor(
    code: HandshakeErrorCode,
    message: string,
    options?: {
      status?: number;
      headers?: Record<string, string>;
      response?: HandshakeError["response"];
      cause?: unknown;
    },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    const status = HANDSHAKE_ERRORS[code] ?? options?.status;
    if (status === undefined) throw new RangeError(`HandshakeError ${code} needs the peer's status`);
    this.code = code;
    this.status = status;
    this.headers = options?.headers ?? {};
    if (options?.response) this.response = options.response;
  }
}

/** A method was called in a state that does not allow it (e.g. send before open in strict mode). */
export class InvalidStateError extends Error {
  override readonly name = "InvalidStateError";
}

/** A user option has an invalid value. `option` names it. */
export class OptionError extends TypeError {
  override readonly name = "OptionError";
  readonly option: string;
  constructor(option: string, message: string) {
    super(`Invalid option "${option}": ${message}`);
    this.option = option;
  }
}
