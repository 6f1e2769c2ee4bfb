/**
 * Byte-level helpers for HTTP header syntax (RFC 7230 section 3.2.6), shared by the handshake
 * modules. Contract: every function runs in time linear in its input, uses no regular
 * expressions (ws CVE-2021-32640 and websocket-extensions CVE-2020-7662 were regex ReDoS), and
 * never throws on peer input.
 */

/**
 * RFC 7230 3.2.6: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
 * "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA. Index by char code (0..255): 1 if tchar.
 */
export const TCHAR: Uint8Array = (() => {
  const t = new Uint8Array(256);
  for (let c = 0x30; c <= 0x39; c++) t[c] = 1;
  for (let c = 0x41; c <= 0x5a; c++) t[c] = 1;
  for (let c = 0x61; c <= 0x7a; c++) t[c] = 1;
  for (const ch of "!#$%&'*+-.^_`|~") t[ch.charCodeAt(0)] = 1;
  return t;
})();

/** True for a token character code. */
export function isTchar(code: number): boolean {
  return code < 256 && TCHAR[code] === 1;
}

/** RFC 7230 3.2.6: token = 1*tchar. */
export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 256 || TCHAR[c] !== 1) return false;
  }
  return true;
}

/** OWS characters (RFC 7230 3.2.3): SP and HTAB. */
export function isOws(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

/**
 * RFC 7230 3.2: field-value = *( field-content / obs-fold ), field-vchar = VCHAR / obs-text.
 * True if `s` may be sent as a header value: no CTL except HTAB (so no CR, LF or NUL), no
 * DEL, and nothing above U+00FF (we send Latin-1 bytes).
 */
export function isFieldValue(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f || c > 0xff) return false;
  }
  return true;
}

/** Field-value byte (RFC 7230 3.2): HTAB, SP, VCHAR, obs-text (the bytes of isFieldValue). */
export function isValueByte(b: number): boolean {
  return b === 0x09 || (b >= 0x20 && b !== 0x7f);
}

/** DIGIT (RFC 5234 B.1). */
export function isDigit(b: number): boolean {
  return b >= 0x30 && b <= 0x39;
}

/** Remove leading and trailing OWS (SP / HTAB). */
export function trimOws(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && isOws(s.charCodeAt(start))) start++;
  while (end > start && isOws(s.charCodeAt(end - 1))) end--;
  return start === 0 && end === s.length ? s : s.slice(start, end);
}

/**
 * Split a comma-separated list (RFC 7230 7: `#rule`), trimming OWS around elements and
 * dropping empty elements ("a recipient MUST accept empty list elements"). Quotes are not
 * interpreted: use it for lists of tokens (Upgrade, Connection, Sec-WebSocket-Protocol).
 */
export function splitList(value: string): string[] {
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i <= value.length; i++) {
    if (i === value.length || value.charCodeAt(i) === 0x2c /* , */) {
      const element = trimOws(value.slice(start, i));
      if (element.length > 0) out.push(element);
      start = i + 1;
    }
  }
  return out;
}

/** ASCII lowercase (header names and case-insensitive tokens; leaves non-ASCII untouched). */
export function asciiLower(s: string): string {
  let upper = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return asciiLowerSlow(s);
    if (c >= 0x41 && c <= 0x5a) upper = true;
  }
  // Pure ASCII: toLowerCase maps exactly A-Z and is native.
  return upper ? s.toLowerCase() : s;
}

function asciiLowerSlow(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out += c >= 0x41 && c <= 0x5a ? String.fromCharCode(c + 0x20) : s[i];
  }
  return out;
}

/**
 * True if the comma list `value` contains `token`, compared ASCII case-insensitively (elements
 * trimmed of OWS, as {@link splitList} makes them). Scans in place: no string per element.
 */
export function listHasToken(value: string | undefined, token: string): boolean {
  if (value === undefined) return false;
  const want = asciiLower(token);
  const n = value.length;
  let start = 0;
  for (let i = 0; i <= n; i++) {
    if (i < n && value.charCodeAt(i) !== 0x2c /* , */) continue;
    let s = start;
    let e = i;
    start = i + 1;
    while (s < e && isOws(value.charCodeAt(s))) s++;
    while (e > s && isOws(value.charCodeAt(e - 1))) e--;
    if (e - s === want.length && lowerEquals(value, s, want)) return true;
  }
  return false;
}

/** Whether `value` at `at` holds `lower` (ASCII lowercase), comparing A-Z as a-z. */
function lowerEquals(value: string, at: number, lower: string): boolean {
  for (let j = 0; j < lower.length; j++) {
    const c = value.charCodeAt(at + j);
    if ((c >= 0x41 && c <= 0x5a ? c + 0x20 : c) !== lower.charCodeAt(j)) return false;
  }
  return true;
}

/**
 * Check a header (name, value) the caller wants to send. Throws a TypeError naming the header
 * when the name is not a token or the value could inject a line (CR, LF, NUL...).
 */
export function assertHeader(name: string, value: string): void {
  if (!isToken(name)) throw new TypeError(`Invalid header name ${JSON.stringify(name)}`);
  if (typeof value !== "string" || !isFieldValue(value)) {
    throw new TypeError(`Invalid value for header "${name}": control characters (CR, LF, NUL...) are not allowed`);
  }
}

const ENCODER = new TextEncoder();

/** Latin-1 encode a string that is known to hold only code units <= 0xFF. */
export function latin1(s: string): Uint8Array {
  // ASCII (the usual head) encodes natively: UTF-8 is Latin-1 there, and any code unit >= 0x80
  // makes the UTF-8 longer than the string, so equal lengths mean the bytes are right.
  const encoded = ENCODER.encode(s);
  if (encoded.length === s.length) return encoded;
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** Latin-1 decode bytes (what HTTP header bytes are; obs-text survives the round trip). */
export function fromLatin1(bytes: Uint8Array, start = 0, end = bytes.length): string {
  let out = "";
  const CHUNK = 8192;
  for (let i = start; i < end; i += CHUNK) {
    out += String.fromCharCode.apply(null, bytes.subarray(i, Math.min(end, i + CHUNK)) as unknown as number[]);
  }
  return out;
}
