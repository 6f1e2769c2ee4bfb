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

/** Stable, documented string codes for every peer mistake the engine detects. */
export type ProtocolErrorCode =
  | "BAD_OPCODE"
  | "BAD_MASKING"
  | "BAD_RSV"
  | "CONTROL_FRAME_FRAGMENTED"
  | "CONTROL_FRAME_TOO_LONG"
  | "UNEXPECTED_CONTINUATION"
  | "EXPECTED_CONTINUATION"
  | "LENGTH_NOT_MINIMAL"
  | "LENGTH_TOO_LARGE"
  | "MESSAGE_TOO_BIG"
  | "TOO_MANY_FRAGMENTS"
  | "INVALID_UTF8"
  | "INVALID_CLOSE_CODE"
  | "INVALID_CLOSE_PAYLOAD"
  | "EXTENSION_ERROR"
  | "RATE_LIMITED"
  | "POLICY_VIOLATION"
  | "INTERNAL_ERROR"
  | "UNEXPECTED_EOF";

/** A mistake by the peer, mapped to the close code we answer with. */
export class ProtocolError extends Error {
  override readonly name = "ProtocolError";
  /** Stable string code, safe to match on. */
  readonly code: ProtocolErrorCode;
  /** RFC 6455 section 7.4.1 status code sent in our close frame. */
  readonly closeCode: number;
  /** The offending value where there is one: the opcode, the RSV bits, the frame length or the close code. */
  readonly detail?: number;
  constructor(
    code: ProtocolErrorCode,
    closeCode: number,
    message: string,
    options?: { cause?: unknown; detail?: number },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.closeCode = closeCode;
    if (options?.detail !== undefined) this.detail = options.detail;
  }
}

/** A mistake in an opening handshake: carries the HTTP status to reject with. */
export class HandshakeError extends Error {
  override readonly name = "HandshakeError";
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
  constructor(
    status: number,
    message: string,
    options?: {
      headers?: Record<string, string>;
      response?: HandshakeError["response"];
      cause?: unknown;
    },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
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
