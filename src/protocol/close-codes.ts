/**
 * Close frame payloads (RFC 6455 sections 5.5.1 and 7.4).
 *
 * Contract: {@link isValidCloseCode} says whether a code may appear on the wire;
 * {@link parseClosePayload} validates a received close body (1002 for a 1-byte body or a bad
 * code, 1007 for a reason that is not UTF-8); {@link encodeClosePayload} builds one, cutting
 * the reason at a character boundary so the body stays within 125 bytes; {@link failureClose}
 * says which code and reason a failed connection closes with.
 */
import { ProtocolError } from "./errors.js";
import type { EngineOptions } from "./types.js";
import { isValidUtf8 } from "./utf8.js";

/** Reported when a close frame had no status code (RFC 6455 7.4.1: never sent on the wire). */
export const NO_STATUS_CODE = 1005;
/** Reported when the connection ended without a close frame (RFC 6455 7.4.1: never sent). */
export const ABNORMAL_CLOSURE = 1006;
/** Longest reason that fits a control frame: 125 - 2 bytes of code. */
export const MAX_REASON_BYTES = 123;

/**
 * RFC 6455 7.4.1/7.4.2 and the IANA registry: 1000-1003 and 1007-1014 are defined and may be
 * sent; 1004 is reserved, 1005/1006/1015 MUST NOT be sent; 0-999 are unused; 1016-2999 are
 * reserved for future RFCs; 3000-3999 registered by libraries; 4000-4999 private use.
 */
export function isValidCloseCode(code: number): boolean {
  return (
    (code >= 1000 && code <= 1003) ||
    (code >= 1007 && code <= 1014) ||
    (code >= 3000 && code <= 4999 && Number.isInteger(code))
  );
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

export interface ClosePayload {
  readonly code: number;
  readonly reason: string;
}

/** Validate a received close frame body. */
export function parseClosePayload(payload: Uint8Array): ClosePayload | ProtocolError {
  if (payload.length === 0) return { code: NO_STATUS_CODE, reason: "" };
  // RFC 6455 5.5.1: "If there is a body, the first two bytes of the body MUST be a 2-byte unsigned integer"
  if (payload.length === 1) return new ProtocolError("INVALID_CLOSE_PAYLOAD", "close frame body of 1 byte");
  const code = (payload[0] << 8) | payload[1];
  if (!isValidCloseCode(code))
    return new ProtocolError("INVALID_CLOSE_CODE", `invalid close code ${code}`, { detail: code });
  const reasonBytes = payload.subarray(2);
  // RFC 6455 5.5.1: the reason is UTF-8; 8.1: invalid UTF-8 fails the connection (1007).
  if (!isValidUtf8(reasonBytes)) return new ProtocolError("INVALID_UTF8", "close reason is not valid UTF-8");
  return { code, reason: reasonBytes.length === 0 ? "" : decoder.decode(reasonBytes) };
}

/** UTF-8 bytes of `reason`, cut at a character boundary to at most `max` bytes. */
export function truncateReason(reason: string, max = MAX_REASON_BYTES): Uint8Array {
  const bytes = encoder.encode(reason);
  if (bytes.length <= max) return bytes;
  let end = max;
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--; // don't split a sequence
  return bytes.subarray(0, end);
}

/** The body of a close frame: empty when `code` is 1005 (no status), else code + reason. */
export function encodeClosePayload(code: number, reason: Uint8Array | string = ""): Uint8Array {
  if (code === NO_STATUS_CODE) return new Uint8Array(0);
  const r = typeof reason === "string" ? truncateReason(reason) : reason.subarray(0, MAX_REASON_BYTES);
  const out = new Uint8Array(2 + r.length);
  out[0] = code >>> 8;
  out[1] = code & 0xff;
  out.set(r, 2);
  return out;
}

/**
 * The close code and reason a failure closes the connection with (RFC 6455 7.1.7): a
 * ProtocolError's own code (PROTOCOL_ERRORS) and message, or what `choose` makes of it (the
 * engine's `closeReason` option); anything else is internal: 1011 and an empty reason on the
 * wire (its details may be sensitive).
 */
export function failureClose(error: Error, choose: EngineOptions["closeReason"]): { code: number; reason: string } {
  if (!(error instanceof ProtocolError)) return { code: 1011, reason: "" };
  const chosen = choose?.(error) ?? error.message;
  return typeof chosen === "string" ? { code: error.closeCode, reason: chosen } : chosen;
}
