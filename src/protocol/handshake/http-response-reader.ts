/**
 * Reads an HTTP/1.1 response for a client that is about to switch protocols (the WebSocket
 * handshake's 101, a proxy's 2xx to CONNECT), sans I/O. Contract: `push(bytes)` returns null
 * while more bytes are needed, then a final {@link ResponseOutcome} exactly once (and the same
 * outcome on later calls, ignoring their bytes); `finish()` is called at EOF and always returns
 * a final outcome. It never throws because of its input.
 *
 * - A "switching" status (`isSwitch(status)`) completes at once; the bytes after the head are
 *   the new protocol's and are returned as `remainder`.
 * - Interim 1xx responses (100 Continue, 103 Early Hints...) are skipped (RFC 9110 15.2), at
 *   most {@link MAX_INTERIM} of them.
 * - Any other status is an answer with a body (RFC 9112 6.3): the body is read, up to
 *   `maxBody` bytes, so that the caller can report it: Content-Length bytes, a chunked body
 *   (decoded), or everything until EOF (`finish()`). 204 and 304 have none.
 *   A malformed body ends the read with what arrived: it is only for the error report.
 */
import { HandshakeError } from "../errors.js";
import { DEFAULT_MAX_ERROR_BODY } from "../limits.js";
import { trimOws } from "./header-tokens.js";
import { type HeadLimits, type HttpHead, HttpHeadParser } from "./http-head-parser.js";

/** Interim responses skipped before the final one. */
export const MAX_INTERIM = 8;
/** Longest chunk-size line (with extensions) accepted in a chunked error body. */
const MAX_CHUNK_LINE = 1024;

export type ResponseOutcome =
  | { kind: "switch"; head: HttpHead; remainder: Uint8Array }
  | { kind: "answer"; head: HttpHead; body: Uint8Array; truncated: boolean }
  | { kind: "invalid"; error: HandshakeError };

const Body = { LENGTH: 0, CHUNK_SIZE: 1, CHUNK_DATA: 2, CHUNK_DATA_END: 3, EOF: 4 } as const;
type Body = (typeof Body)[keyof typeof Body];

export class HttpResponseReader {
  readonly #isSwitch: (status: number) => boolean;
  readonly #limits: HeadLimits | undefined;
  readonly #maxBody: number;
  #parser: HttpHeadParser;
  #interim = 0;
  #outcome: ResponseOutcome | null = null;
  #head: HttpHead | null = null;

  // Body state (once #head is set)
  #bodyMode: Body = Body.EOF;
  #body: Uint8Array;
  #bodyLength = 0;
  #want = 0; // LENGTH: bytes still expected; CHUNK_DATA: bytes left in the chunk
  #chunkLine = "";
  #truncated = false;

  constructor(isSwitch: (status: number) => boolean, limits?: HeadLimits, maxBody = DEFAULT_MAX_ERROR_BODY) {
    this.#isSwitch = isSwitch;
    this.#limits = limits;
    this.#maxBody = maxBody;
    this.#parser = new HttpHeadParser("response", limits);
    this.#body = new Uint8Array(0);
  }

  /** The head of the final response once it is parsed (its body may still be arriving). */
  get head(): HttpHead | null {
    return this.#head;
  }

  push(bytes: Uint8Array): ResponseOutcome | null {
    if (this.#outcome !== null) return this.#outcome;
    if (this.#head !== null) return this.#readBody(bytes);
    let input = bytes;
    for (;;) {
      const r = this.#parser.push(input);
      if (r === null) return null;
      if (r instanceof HandshakeError) return this.#done({ kind: "invalid", error: r });
      const status = r.status ?? 0;
      if (this.#isSwitch(status)) return this.#done({ kind: "switch", head: r, remainder: this.#parser.remainder() });
      const rest = this.#parser.remainder();
      if (status < 200) {
        if (++this.#interim > MAX_INTERIM) {
          return this.#done({
            kind: "invalid",
            error: new HandshakeError("BAD_RESPONSE", "Too many interim (1xx) responses"),
          });
        }
        this.#parser = new HttpHeadParser("response", this.#limits);
        input = rest;
        if (input.length === 0) return null;
        continue;
      }
      this.#head = r;
      this.#startBody(r);
      return this.#readBody(rest);
    }
  }

  /** The transport ended: return the final outcome with whatever arrived. */
  finish(): ResponseOutcome {
    if (this.#outcome !== null) return this.#outcome;
    if (this.#head !== null) return this.#answer();
    return this.#done({
      kind: "invalid",
      error: new HandshakeError("BAD_RESPONSE", "Connection closed before the response head was complete"),
    });
  }

  #done(outcome: ResponseOutcome): ResponseOutcome {
    this.#outcome = outcome;
    return outcome;
  }

  #answer(): ResponseOutcome {
    const body = this.#body.subarray(0, this.#bodyLength);
    return this.#done({ kind: "answer", head: this.#head!, body, truncated: this.#truncated });
  }

  #startBody(head: HttpHead): void {
    const status = head.status ?? 0;
    // RFC 9112 6.3 (1): 1xx, 204 and 304 responses have no body.
    if (status === 204 || status === 304) {
      this.#bodyMode = Body.LENGTH;
      this.#want = 0;
      return;
    }
    const te = head.headers.get("transfer-encoding");
    if (te !== undefined) {
      // RFC 9112 6.3 (4): chunked as the final coding frames the body; otherwise read to EOF.
      const codings = te.split(",");
      const last = trimOws(codings[codings.length - 1]).toLowerCase();
      this.#bodyMode = last === "chunked" ? Body.CHUNK_SIZE : Body.EOF;
    } else {
      const cl = head.headers.get("content-length");
      const length = cl === undefined ? -1 : parseLength(cl);
      if (length >= 0) {
        this.#bodyMode = Body.LENGTH;
        this.#want = length;
      } else this.#bodyMode = Body.EOF; // RFC 9112 6.3 (8): read until the connection closes
    }
    this.#body = new Uint8Array(Math.min(this.#maxBody, 1024));
  }

  /** Append up to the body cap; returns false once the cap is reached. */
  #keep(bytes: Uint8Array): boolean {
    const room = this.#maxBody - this.#bodyLength;
    const take = Math.min(room, bytes.length);
    if (take < bytes.length) this.#truncated = true;
    if (take > 0) {
      const needed = this.#bodyLength + take;
      if (needed > this.#body.length) {
        const grown = new Uint8Array(Math.min(this.#maxBody, Math.max(needed, this.#body.length * 2)));
        grown.set(this.#body.subarray(0, this.#bodyLength));
        this.#body = grown;
      }
      this.#body.set(bytes.subarray(0, take), this.#bodyLength);
      this.#bodyLength = needed;
    }
    return this.#bodyLength < this.#maxBody;
  }

  #readBody(bytes: Uint8Array): ResponseOutcome | null {
    let i = 0;
    while (true) {
      switch (this.#bodyMode) {
        case Body.LENGTH: {
          const take = Math.min(this.#want, bytes.length - i);
          this.#want -= take;
          const room = this.#keep(bytes.subarray(i, i + take));
          i += take;
          if (this.#want === 0 || !room) {
            if (this.#want > 0) this.#truncated = true;
            return this.#answer();
          }
          return null;
        }
        case Body.EOF:
          if (!this.#keep(bytes.subarray(i))) return this.#answer();
          return null;
        case Body.CHUNK_SIZE: {
          // chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF (RFC 9112 7.1)
          const lf = bytes.indexOf(0x0a, i);
          const end = lf === -1 ? bytes.length : lf;
          if (this.#chunkLine.length + (end - i) > MAX_CHUNK_LINE) return this.#answer();
          for (let j = i; j < end; j++) this.#chunkLine += String.fromCharCode(bytes[j]);
          if (lf === -1) return null;
          i = lf + 1;
          const size = parseChunkSize(this.#chunkLine);
          this.#chunkLine = "";
          if (size <= 0) return this.#answer(); // last chunk (trailers ignored) or malformed
          this.#want = size;
          this.#bodyMode = Body.CHUNK_DATA;
          break;
        }
        case Body.CHUNK_DATA: {
          const take = Math.min(this.#want, bytes.length - i);
          this.#want -= take;
          const room = this.#keep(bytes.subarray(i, i + take));
          i += take;
          if (!room) {
            if (this.#want > 0 || i < bytes.length) this.#truncated = true;
            return this.#answer();
          }
          if (this.#want > 0) return null;
          this.#bodyMode = Body.CHUNK_DATA_END;
          break;
        }
        case Body.CHUNK_DATA_END: {
          // The CRLF after chunk data: skip up to and including the LF.
          const lf = bytes.indexOf(0x0a, i);
          if (lf === -1) return null;
          i = lf + 1;
          this.#bodyMode = Body.CHUNK_SIZE;
          break;
        }
      }
      if (i >= bytes.length) return null;
    }
  }
}

/** Content-Length: 1*DIGIT (a list of identical values is tolerated, RFC 9110 8.6). -1 if invalid. */
function parseLength(value: string): number {
  let result = -1;
  for (const part of value.split(",")) {
    const v = trimOws(part);
    if (v.length === 0 || v.length > 15) return -1;
    let n = 0;
    for (let i = 0; i < v.length; i++) {
      const c = v.charCodeAt(i);
      if (c < 0x30 || c > 0x39) return -1;
      n = n * 10 + c - 0x30;
    }
    if (result !== -1 && result !== n) return -1;
    result = n;
  }
  return result;
}

/** chunk-size = 1*HEXDIG, then optional ";ext" and a CR. Returns -1 if malformed. */
function parseChunkSize(line: string): number {
  let n = 0;
  let i = 0;
  for (; i < line.length && i < 12; i++) {
    const c = line.charCodeAt(i);
    const d =
      c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 87 : c >= 0x41 && c <= 0x46 ? c - 55 : -1;
    if (d === -1) break;
    n = n * 16 + d;
  }
  if (i === 0) return -1;
  const rest = line.charCodeAt(i);
  if (i < line.length && rest !== 0x3b && rest !== 0x0d && rest !== 0x20 && rest !== 0x09) return -1;
  return n;
}
