/**
 * Errors reported by the cable server. None of them is ever thrown out of the server because of
 * a client's input: they are emitted as the server's `error` event (which has a default
 * listener, so an unheard error never crashes the process) and the offending command is ignored.
 */

/** Stable string codes, safe to match on. */
export type CableErrorCode =
  | "MALFORMED_COMMAND" // not JSON, not an object, `data` not a JSON object string
  | "UNKNOWN_COMMAND" // `command` other than subscribe / unsubscribe / message
  | "INVALID_IDENTIFIER" // identifier not a JSON object string with a string `channel`
  | "ALREADY_SUBSCRIBED" // subscribe twice with the same identifier (Rails: AlreadySubscribedError)
  | "CHANNEL_NOT_FOUND" // no such channel (rejected with reject_subscription)
  | "UNKNOWN_SUBSCRIPTION" // message / unsubscribe for an identifier not subscribed
  | "ACTION_NOT_FOUND" // perform of an action the channel does not expose
  | "INVALID_PARAMS" // the channel's params validator refused (rejected)
  | "COMMAND_TOO_LARGE" // text longer than limits.maxCommandSize
  | "RATE_LIMITED" // more commands than limits.rateLimit allows
  | "TOO_MANY_SUBSCRIPTIONS" // limits.maxSubscriptions reached (rejected)
  | "HANDLER_ERROR" // a channel callback or action threw
  | "AUTHENTICATION_ERROR" // authenticate() threw something other than a rejection
  | "BROKER_ERROR" // the broker failed (subscribe, publish, bad payload)
  | "BROKER_UNAVAILABLE"; // publish while the broker is disconnected: the message is lost

export class CableError extends Error {
  override readonly name = "CableError";
  readonly code: CableErrorCode;
  constructor(code: CableErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** Thrown (or returned) by `authenticate` to refuse a connection: the client gets `unauthorized`. */
export class UnauthorizedError extends Error {
  override readonly name = "UnauthorizedError";
  constructor(message = "unauthorized") {
    super(message);
  }
}
