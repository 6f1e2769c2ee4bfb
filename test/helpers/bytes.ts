/** Byte helpers shared by the tests: hex in and out, UTF-8, concatenation. */

export const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");
/** Bytes from hex digits (whitespace ignored). */
export const fromHex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ""), "hex"));
export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/** One new array holding `parts` back to back. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
