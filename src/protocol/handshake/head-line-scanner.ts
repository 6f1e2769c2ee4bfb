/**
 * The line scanner of the HTTP/1.x head parser (http-head-parser.ts): the grammar of one head
 * line (request line, status line or header field) checked a byte at a time, so that a line
 * still waiting for its LF gets its 400 at its first bad byte (noise, a bare CR, a forbidden
 * byte) instead of holding the socket until a line end that may never come. The parser runs it
 * over the bytes of a line that arrive in pieces, and over a whole line that failed to parse, to
 * name its first bad byte the same way whatever the chunking.
 *
 * Contract: `scanLine(buf, from, to, scan)` advances a line's scan state over `buf[from, to)`
 * (bytes of the line without its LF) and returns the new state, or a failure (< 0) at the first
 * byte that no valid line can have there; `scanError(failure)` is its HandshakeError. Every
 * prefix of a line that the parser's line parsers accept passes, so a line is never refused early
 * that would have parsed whole. A state is a small integer (no object per line or per parser).
 * Sans I/O, linear in the input, no regular expressions.
 */
import { HandshakeError } from "../errors.js";
import { isDigit, isValueByte, TCHAR } from "./header-tokens.js";

const CR = 0x0d;
const SP = 0x20;
const HTAB = 0x09;
const COLON = 0x3a;

/**
 * Where in its grammar the bytes of the current line have brought the scanner (the low 4 bits of
 * a state; the phase's counter, `vpos`, is above them).
 */
const Phase = {
  /** Request line: first byte, method, first target byte, target, "HTTP/d.d" (vpos counts). */
  REQ_BEGIN: 0,
  REQ_METHOD: 1,
  REQ_TARGET0: 2,
  REQ_TARGET: 3,
  REQ_VERSION: 4,
  /** Status line: "HTTP/d.d" (vpos), SP, three digits (vpos), SP and reason. */
  STATUS_VERSION: 5,
  STATUS_CODE: 6,
  STATUS_AFTER_CODE: 7,
  STATUS_REASON: 8,
  /** Header line: first byte, name, value. */
  FIELD_BEGIN: 9,
  FIELD_NAME: 10,
  FIELD_VALUE: 11,
  /** After a CR that may end the line: only its LF may follow. */
  CR: 12,
} as const;
type Phase = (typeof Phase)[keyof typeof Phase];

/** A line's scan state (>= 0) or a failure (< 0). */
export type LineScan = number;

/** The state at the start of a request line (empty lines before it are allowed). */
export const REQUEST_LINE: LineScan = Phase.REQ_BEGIN;
/** The state at the start of a status line. */
export const STATUS_LINE: LineScan = Phase.STATUS_VERSION;
/** The state at the start of a header line (or of the empty line ending the head). */
export const HEADER_LINE: LineScan = Phase.FIELD_BEGIN;

/** Failures, each with its status and message (see scanError). */
const Failure = {
  REQUEST_LINE: -1,
  STATUS_LINE: -2,
  HEADER_LINE: -3,
  VALUE_BYTE: -4,
  OBS_FOLD: -5,
  BARE_CR: -6,
  REQUEST_VERSION: -7,
  STATUS_VERSION: -8,
} as const;

/** "HTTP/" as bytes. */
const HTTP_NAME = [0x48, 0x54, 0x54, 0x50, 0x2f];

/** Advance `scan` over `buf[from, to)`; the new state, or a failure (< 0) at the first bad byte. */
export function scanLine(buf: Uint8Array, from: number, to: number, scan: LineScan): LineScan {
  let phase = (scan & 0xf) as Phase;
  let vpos = scan >> 4;
  for (let i = from; i < to; i++) {
    const b = buf[i];
    if (b === CR && phase !== Phase.CR) {
      // Only the last byte of a line may be a CR, after a complete start line or field (or alone,
      // as an empty line: before a request line, or the end of the head).
      const accepts =
        phase === Phase.FIELD_BEGIN ||
        phase === Phase.FIELD_VALUE ||
        phase === Phase.STATUS_AFTER_CODE ||
        phase === Phase.STATUS_REASON ||
        phase === Phase.REQ_BEGIN ||
        (phase === Phase.REQ_VERSION && vpos === 8);
      if (!accepts) return malformed(phase);
      phase = Phase.CR;
      continue;
    }
    switch (phase) {
      case Phase.REQ_BEGIN:
      case Phase.REQ_METHOD:
        if (TCHAR[b] === 1) phase = Phase.REQ_METHOD;
        else if (b === SP && phase === Phase.REQ_METHOD) phase = Phase.REQ_TARGET0;
        else return malformed(phase);
        break;
      case Phase.REQ_TARGET0:
      case Phase.REQ_TARGET:
        if (b > SP && b < 0x7f) phase = Phase.REQ_TARGET;
        else if (b === SP && phase === Phase.REQ_TARGET) {
          phase = Phase.REQ_VERSION;
          vpos = 0;
        } else return malformed(phase);
        break;
      case Phase.REQ_VERSION:
      case Phase.STATUS_VERSION: {
        if (vpos === 8) {
          // After "HTTP/d.d": a status line goes on with SP; a request line may only end.
          if (phase === Phase.STATUS_VERSION && b === SP) {
            phase = Phase.STATUS_CODE;
            vpos = 0;
            break;
          }
          return malformed(phase);
        }
        const ok = vpos < 5 ? b === HTTP_NAME[vpos] : vpos === 6 ? b === 0x2e : isDigit(b);
        if (!ok) return malformed(phase);
        // RFC 9112 2.3: only HTTP/1.x is spoken here.
        if (vpos === 5 && b !== 0x31)
          return phase === Phase.REQ_VERSION ? Failure.REQUEST_VERSION : Failure.STATUS_VERSION;
        vpos++;
        break;
      }
      case Phase.STATUS_CODE:
        // Three digits, the first not 0 (a status is 100-999).
        if (!isDigit(b) || (vpos === 0 && b === 0x30)) return malformed(phase);
        if (++vpos === 3) phase = Phase.STATUS_AFTER_CODE;
        break;
      case Phase.STATUS_AFTER_CODE:
        if (b !== SP) return malformed(phase);
        phase = Phase.STATUS_REASON;
        break;
      case Phase.STATUS_REASON:
        if (!isValueByte(b)) return malformed(phase);
        break;
      case Phase.FIELD_BEGIN:
        if (b === SP || b === HTAB) return Failure.OBS_FOLD;
        if (TCHAR[b] !== 1) return malformed(phase);
        phase = Phase.FIELD_NAME;
        break;
      case Phase.FIELD_NAME:
        if (b === COLON) phase = Phase.FIELD_VALUE;
        else if (TCHAR[b] !== 1) return malformed(phase);
        break;
      case Phase.FIELD_VALUE:
        if (!isValueByte(b)) return malformed(phase);
        break;
      case Phase.CR:
        // RFC 9112 2.2: a CR not followed by LF is invalid.
        return Failure.BARE_CR;
    }
  }
  return phase | (vpos << 4);
}

/** The failure for a byte that cannot come next in `phase`'s part of a line. */
function malformed(phase: Phase): LineScan {
  if (phase === Phase.FIELD_VALUE) return Failure.VALUE_BYTE;
  if (phase === Phase.FIELD_BEGIN || phase === Phase.FIELD_NAME) return Failure.HEADER_LINE;
  return phase <= Phase.REQ_VERSION ? Failure.REQUEST_LINE : Failure.STATUS_LINE;
}

/** The error for a failure returned by scanLine. */
export function scanError(failure: LineScan): HandshakeError {
  switch (failure) {
    case Failure.REQUEST_VERSION:
      return new HandshakeError("HTTP_VERSION_NOT_SUPPORTED", "HTTP version not supported: only HTTP/1.x");
    case Failure.STATUS_VERSION:
      return new HandshakeError("BAD_REQUEST", "Malformed status line: not HTTP/1.x");
    case Failure.OBS_FOLD:
      return new HandshakeError("BAD_REQUEST", "Obsolete line folding is not allowed");
    case Failure.BARE_CR:
      return new HandshakeError("BAD_REQUEST", "Bare CR in the head");
    case Failure.VALUE_BYTE:
      return new HandshakeError("BAD_REQUEST", "Invalid character in a header value");
    case Failure.HEADER_LINE:
      return new HandshakeError("BAD_REQUEST", "Malformed header line");
    case Failure.STATUS_LINE:
      return new HandshakeError("BAD_REQUEST", "Malformed status line");
    default:
      return new HandshakeError("BAD_REQUEST", "Malformed request line");
  }
}
