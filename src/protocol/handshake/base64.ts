/**
 * Base64 (RFC 4648 section 4, standard alphabet with padding) without `Buffer`, for the
 * handshake keys and `Proxy-Authorization: Basic`. Contract: `encodeBase64` always pads;
 * `decodeBase64` is strict (length a multiple of 4, only alphabet characters, "=" only as final
 * padding, no whitespace) and returns null instead of throwing on invalid input. Both are linear.
 */

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
/** Char code -> 6-bit value, 255 for characters outside the alphabet. */
const DECODE = (() => {
  const t = new Uint8Array(256).fill(255);
  for (let i = 0; i < ALPHABET.length; i++) t[ALPHABET.charCodeAt(i)] = i;
  return t;
})();

export function encodeBase64(bytes: Uint8Array): string {
  let out = "";
  const n = bytes.length;
  let i = 0;
  for (; i + 2 < n; i += 3) {
    const v = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += ALPHABET[v >>> 18] + ALPHABET[(v >>> 12) & 63] + ALPHABET[(v >>> 6) & 63] + ALPHABET[v & 63];
  }
  if (n - i === 1) {
    const v = bytes[i] << 16;
    out += ALPHABET[v >>> 18] + ALPHABET[(v >>> 12) & 63] + "==";
  } else if (n - i === 2) {
    const v = (bytes[i] << 16) | (bytes[i + 1] << 8);
    out += ALPHABET[v >>> 18] + ALPHABET[(v >>> 12) & 63] + ALPHABET[(v >>> 6) & 63] + "=";
  }
  return out;
}

/** Whether `s[start..end)` holds only characters of the alphabet (no padding, no whitespace). */
export function isBase64Text(s: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c >= 256 || DECODE[c] === 255) return false;
  }
  return true;
}

/**
 * Decode strict base64. Returns null on any syntax error. Non-zero bits in the last character
 * before the padding are tolerated (RFC 4648 3.5 allows decoders to), as most decoders do.
 */
export function decodeBase64(s: string): Uint8Array | null {
  const n = s.length;
  if (n % 4 !== 0) return null;
  let pad = 0;
  if (n > 0 && s.charCodeAt(n - 1) === 0x3d) pad = s.charCodeAt(n - 2) === 0x3d ? 2 : 1;
  const out = new Uint8Array((n / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < n; i += 4) {
    const last = i + 4 === n;
    const c0 = s.charCodeAt(i);
    const c1 = s.charCodeAt(i + 1);
    const c2 = s.charCodeAt(i + 2);
    const c3 = s.charCodeAt(i + 3);
    const a = c0 < 256 ? DECODE[c0] : 255;
    const b = c1 < 256 ? DECODE[c1] : 255;
    if (a === 255 || b === 255) return null;
    if (last && pad === 2) {
      out[o++] = (a << 2) | (b >>> 4);
      break;
    }
    const c = c2 < 256 ? DECODE[c2] : 255;
    if (c === 255) return null;
    if (last && pad === 1) {
      out[o++] = (a << 2) | (b >>> 4);
      out[o++] = ((b & 15) << 4) | (c >>> 2);
      break;
    }
    const d = c3 < 256 ? DECODE[c3] : 255;
    if (d === 255) return null;
    out[o++] = (a << 2) | (b >>> 4);
    out[o++] = ((b & 15) << 4) | (c >>> 2);
    out[o++] = ((c & 3) << 6) | d;
  }
  return out;
}
