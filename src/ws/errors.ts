/**
 * ws's error shapes (`err.code` = "WS_ERR_*", ws's messages and error classes) for the peer
 * mistakes our engine reports as {@link ProtocolError}s, so that code written against ws's
 * errors keeps working. The close code each one sends is the engine's (the same as ws's).
 */
import { ProtocolError } from "../protocol/errors.js";

/** A ws-style error: `code` is ws's string code, `statusCode` the close code sent. */
export type WsError = (Error | RangeError) & { code: string; statusCode?: number };

function make(
  Ctor: typeof Error | typeof RangeError,
  message: string,
  prefix: boolean,
  statusCode: number,
  code: string,
): WsError {
  const err = new Ctor(prefix ? `Invalid WebSocket frame: ${message}` : message) as WsError;
  err.code = code;
  err.statusCode = statusCode;
  return err;
}

/** The ws error for one of our protocol errors; `role` is ours (a server expects masked frames). */
export function wsError(error: ProtocolError, role: "server" | "client"): WsError {
  const detail = error.detail;
  const close = error.closeCode;
  switch (error.code) {
    case "BAD_OPCODE":
    case "EXPECTED_CONTINUATION":
      return make(RangeError, `invalid opcode ${detail ?? 0}`, true, 1002, "WS_ERR_INVALID_OPCODE");
    case "UNEXPECTED_CONTINUATION":
      return make(RangeError, "invalid opcode 0", true, 1002, "WS_ERR_INVALID_OPCODE");
    case "BAD_RSV":
      return (detail ?? 0) & 0x40 && !((detail ?? 0) & 0x30)
        ? make(RangeError, "RSV1 must be clear", true, 1002, "WS_ERR_UNEXPECTED_RSV_1")
        : make(RangeError, "RSV2 and RSV3 must be clear", true, 1002, "WS_ERR_UNEXPECTED_RSV_2_3");
    case "CONTROL_FRAME_FRAGMENTED":
      return make(RangeError, "FIN must be set", true, 1002, "WS_ERR_EXPECTED_FIN");
    case "CONTROL_FRAME_TOO_LONG":
      return make(
        RangeError,
        `invalid payload length ${detail ?? 126}`,
        true,
        1002,
        "WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH",
      );
    case "INVALID_CLOSE_PAYLOAD":
      return make(RangeError, "invalid payload length 1", true, 1002, "WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH");
    case "BAD_MASKING":
      return role === "server"
        ? make(RangeError, "MASK must be set", true, 1002, "WS_ERR_EXPECTED_MASK")
        : make(RangeError, "MASK must be clear", true, 1002, "WS_ERR_UNEXPECTED_MASK");
    case "LENGTH_TOO_LARGE":
      return make(
        RangeError,
        "Unsupported WebSocket frame: payload length > 2^53 - 1",
        false,
        1009,
        "WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH",
      );
    case "MESSAGE_TOO_BIG":
      return make(RangeError, "Max payload size exceeded", false, 1009, "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH");
    case "TOO_MANY_FRAGMENTS":
      return make(RangeError, "Too many fragments", false, 1009, "WS_ERR_TOO_MANY_FRAGMENTS");
    case "INVALID_UTF8":
      return make(Error, "invalid UTF-8 sequence", true, 1007, "WS_ERR_INVALID_UTF8");
    case "INVALID_CLOSE_CODE":
      return make(RangeError, `invalid status code ${detail ?? 0}`, true, 1002, "WS_ERR_INVALID_CLOSE_CODE");
    case "LENGTH_NOT_MINIMAL":
      return make(RangeError, error.message, true, 1002, "WS_ERR_INVALID_LENGTH");
    case "EXTENSION_ERROR": {
      // ws passes zlib's own error through (code "Z_DATA_ERROR"...), with close code 1007.
      const cause = error.cause as (Error & { code?: string }) | undefined;
      const err = (cause instanceof Error ? cause : new Error(error.message)) as WsError;
      err.code ??= "Z_DATA_ERROR";
      err.statusCode = close;
      return err;
    }
    default: {
      const err = new Error(error.message) as WsError;
      err.code = `WS_ERR_${error.code}`;
      err.statusCode = close;
      return err;
    }
  }
}

/** Every ws error code a `wirecable/ws` socket can report (ws's, plus our framing checks). */
export const WS_ERROR_CODES = [
  "WS_ERR_EXPECTED_FIN",
  "WS_ERR_EXPECTED_MASK",
  "WS_ERR_INVALID_CLOSE_CODE",
  "WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH",
  "WS_ERR_INVALID_OPCODE",
  "WS_ERR_INVALID_UTF8",
  "WS_ERR_UNEXPECTED_MASK",
  "WS_ERR_UNEXPECTED_RSV_1",
  "WS_ERR_UNEXPECTED_RSV_2_3",
  "WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH",
  "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH",
] as const;

export function isProtocolError(error: unknown): error is ProtocolError {
  return error instanceof ProtocolError;
}
