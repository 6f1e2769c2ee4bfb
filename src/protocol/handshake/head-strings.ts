/**
 * The strings of an HTTP head as the head parser makes them (http-head-parser.ts), sans I/O:
 * Latin-1 decoding without an allocation beyond the string for short ones, and the header names
 * we expect often, by length, with their lowercase and canonical spellings, so that those names
 * (and the repeating values of some) are handed out without decoding.
 */
import { fromLatin1 } from "./header-tokens.js";

/** A header name we expect often: its lowercase key and the spellings we hand out without decoding. */
export interface KnownName {
  readonly lower: string;
  readonly lowerBytes: Uint8Array;
  readonly canonical: string;
  readonly canonicalBytes: Uint8Array;
  /** Values of this header repeat across connections (Host, Upgrade...): reuse the last string seen. */
  readonly reuse: boolean;
  /** The last value decoded for this name (when `reuse`): shared by every request that repeats it. */
  last: string;
}

/** Known names whose values are never reused: unique per request, or secrets not to keep around. */
const UNIQUE_VALUES = new Set(["sec-websocket-key", "sec-websocket-accept", "cookie", "authorization", "date"]);
/** Longer values are decoded every time (the comparison would cost more than it saves). */
export const REUSE_MAX = 128;

const KNOWN_NAMES = [
  "Host",
  "Upgrade",
  "Connection",
  "Origin",
  "Sec-WebSocket-Key",
  "Sec-WebSocket-Version",
  "Sec-WebSocket-Protocol",
  "Sec-WebSocket-Extensions",
  "Sec-WebSocket-Accept",
  "User-Agent",
  "Cookie",
  "Pragma",
  "Cache-Control",
  "Accept-Encoding",
  "Accept-Language",
  "Authorization",
  "X-Forwarded-For",
  "X-Forwarded-Proto",
  "X-Real-IP",
  "Date",
  "Server",
  "Content-Length",
  "Content-Type",
];

/** Known names by length (a handful per length at most). */
export const KNOWN_BY_LENGTH: KnownName[][] = (() => {
  const table: KnownName[][] = [];
  for (const canonical of KNOWN_NAMES) {
    const lower = canonical.toLowerCase();
    const entry: KnownName = {
      lower,
      lowerBytes: Uint8Array.from(lower, (c) => c.charCodeAt(0)),
      canonical,
      canonicalBytes: Uint8Array.from(canonical, (c) => c.charCodeAt(0)),
      reuse: !UNIQUE_VALUES.has(lower),
      last: "",
    };
    (table[canonical.length] ??= []).push(entry);
  }
  return table;
})();

const ASCII_DECODER = new TextDecoder();

/** True if `text` is the Latin-1 decoding of `buf[start, end)`. */
export function sameLatin1(text: string, buf: Uint8Array, start: number, end: number): boolean {
  if (text.length !== end - start) return false;
  for (let j = 0; j < text.length; j++) if (text.charCodeAt(j) !== buf[start + j]) return false;
  return true;
}

/** Strings up to this length are decoded through {@link CODES}. */
const SHORT = 32;
/**
 * One reusable array of char codes per short length (`apply` reads an array's length, so each
 * length has its own): decoding a short string allocates the string only.
 */
const CODES: number[][] = Array.from({ length: SHORT + 1 }, (_, n) => new Array<number>(n).fill(0));

/**
 * Latin-1 decode `buf[start, end)`; `high` is true if a byte >= 0x80 may be in it. Short strings
 * go through a reused plain array (cheaper than a subarray view for `apply` on V8), long ASCII
 * ones through TextDecoder (UTF-8 is Latin-1 on ASCII; flat cost).
 */
export function decode(buf: Uint8Array, start: number, end: number, high: boolean): string {
  const length = end - start;
  if (length === 0) return "";
  if (length <= SHORT) {
    const codes = CODES[length];
    for (let j = 0; j < length; j++) codes[j] = buf[start + j];
    return String.fromCharCode.apply(null, codes);
  }
  return high ? fromLatin1(buf, start, end) : ASCII_DECODER.decode(buf.subarray(start, end));
}
