/**
 * Incremental HTTP/1.1 head parser (RFC 7230 / RFC 9112 section 2-5) for both handshake
 * directions, sans I/O. Contract: `push(bytes)` returns the parsed head once the empty line
 * arrives, a HandshakeError as soon as the input is invalid or exceeds a cap, or null when it
 * needs more bytes. It never throws because of its input, never buffers more than the caps
 * allow, and runs in time linear in the input (byte loops and `indexOf`, no regular
 * expressions: ws CVE-2021-32640 and websocket-extensions CVE-2020-7662 were regex ReDoS).
 * Bytes after the head are kept for `remainder()` (frames sent along with the request, the
 * hixie-76 8-byte key body, or an error response body).
 *
 * Decisions:
 * - Line endings: CRLF; a bare LF is also accepted as a line terminator (RFC 7230 3.5 "a
 *   recipient MAY recognize a single LF as a line terminator and ignore any preceding CR"), so
 *   that hand-typed requests work; `allowBareLf: false` turns that off (the raw listener does,
 *   as node:http's llhttp: lenient line ends are a request-smuggling vector behind a proxy). A CR anywhere else
 *   (bare CR) is invalid (RFC 9112 2.2).
 * - Errors are found at the first byte that no valid head can continue with, whatever the
 *   chunking: a line still waiting for its LF is checked as its bytes arrive (the line scanner,
 *   head-line-scanner.ts), so noise, a bare CR or a forbidden byte gets its 400 at once
 *   instead of waiting for a line end that may never come (the raw listener would otherwise
 *   hold the socket until its handshake timeout). Lines that arrive whole are parsed in place
 *   and only scanned when they fail, to name the first bad byte the same way.
 * - Requests: the request target is visible ASCII (RFC 3986: other bytes are percent-encoded);
 *   invalid body framing (several or non-numeric Content-Length, Transfer-Encoding with
 *   Content-Length or not ending in chunked) is 400 (RFC 9112 6.3), as Node's llhttp answers.
 * - HTTP/1.x only: a request line with another major version (HTTP/2.0, HTTP/0.9) is 505
 *   (RFC 9112 2.3: the major version is not supported; HTTP/2 is a binary protocol and
 *   WebSockets over it use RFC 8441's extended CONNECT); a status line with one is 400. A
 *   higher minor version is kept as sent (RFC 9112 2.3: processed as HTTP/1.1).
 * - Empty lines before a request line are skipped (RFC 7230 3.5 SHOULD); they count toward the
 *   total byte cap.
 * - obs-fold (a header line starting with SP/HTAB) is rejected with 400 (RFC 7230 3.2.4 allows
 *   rejecting it), and so is whitespace between a field name and its colon (3.2.4 MUST).
 * - Field names must be tokens; values may hold HTAB, SP, VCHAR and obs-text (0x80-0xFF), no
 *   other control characters (NUL, CR, DEL...). Values are trimmed of OWS. Bytes are decoded
 *   as Latin-1, so no input can make decoding fail.
 * - Caps (0 disables one): start line (request: 414; response: 400), header line (431),
 *   header count (431), total head bytes including line terminators (431).
 * - After the head is complete, further `push` calls append to `remainder()` and return the
 *   same head; after an error they return the same error.
 */
import { HandshakeError, type HandshakeErrorCode } from "../errors.js";
import {
  DEFAULT_MAX_HEADER_BYTES,
  DEFAULT_MAX_HEADER_COUNT,
  DEFAULT_MAX_HEADER_LINE,
  DEFAULT_MAX_START_LINE,
} from "../limits.js";
import { HEADER_LINE, type LineScan, REQUEST_LINE, STATUS_LINE, scanError, scanLine } from "./head-line-scanner.js";
import { decode, KNOWN_BY_LENGTH, type KnownName, REUSE_MAX, sameLatin1 } from "./head-strings.js";
import { asciiLower, isDigit, isValueByte, TCHAR } from "./header-tokens.js";
import { type HttpHead, ParsedHead, plainHead } from "./http-head.js";

export { flatRawHeaders, type HttpHead, headerKeys } from "./http-head.js";

export interface HeadLimits {
  /** Max request line / status line, bytes without the line ending. Default 8 KiB. */
  maxStartLine?: number;
  /** Max header line, bytes without the line ending. Default 8 KiB. */
  maxHeaderLine?: number;
  /** Max number of header lines. Default 100. */
  maxHeaderCount?: number;
  /** Max bytes of the whole head, line endings included. Default 16 KiB. */
  maxHeaderBytes?: number;
  /** Accept a bare LF as a line ending (RFC 7230 3.5). Default true. */
  allowBareLf?: boolean;
}

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;
const COLON = 0x3a;

const State = { START: 0, HEADERS: 1, DONE: 2, FAILED: 3 } as const;
type State = (typeof State)[keyof typeof State];

const EMPTY = new Uint8Array(0);

/**
 * The builtin, also for Buffers: Buffer overrides `indexOf` with a native binding that costs
 * more per call than V8's own search on lines of a few dozen bytes.
 */
const indexOf = Uint8Array.prototype.indexOf;

export class HttpHeadParser {
  readonly kind: "request" | "response";
  /** Made by `HttpHeadParser.lazy`: heads are ParsedHeads instead of plain objects. */
  #lazy = false;
  #maxStartLine: number;
  #maxHeaderLine: number;
  #maxHeaderCount: number;
  #maxHeaderBytes: number;
  #allowBareLf: boolean;

  // The state of one head: set by #start (a new parser, and `reset`).
  #state!: State;
  /** A line split across pushes, allocated on first need (lines inside one chunk are parsed in place). */
  #line!: Uint8Array;
  #lineLength!: number;
  #total!: number;
  #examined!: number;
  #method!: string;
  #target!: string;
  #status!: number;
  #statusText!: string;
  #version!: string;
  /** Header lines flat: name, value, name, value... */
  #raw!: string[];
  /** Each line's lowercased name (`headers` is made from them when first read: no Map per head). */
  #keys!: string[];
  /** Request body framing so far (RFC 9112 6.3): a Content-Length line, the Transfer-Encoding codings. */
  #contentLength!: boolean;
  #transferEncoding!: string | undefined;
  #result!: HttpHead | HandshakeError | null;
  #remainder!: Uint8Array[];
  /** The line scanner's state (head-line-scanner.ts) after the bytes of the current line received so far. */
  #lineScan!: LineScan;

  constructor(kind: "request" | "response", limits: HeadLimits = {}) {
    this.kind = kind;
    this.#maxStartLine = limits.maxStartLine ?? DEFAULT_MAX_START_LINE;
    this.#maxHeaderLine = limits.maxHeaderLine ?? DEFAULT_MAX_HEADER_LINE;
    this.#maxHeaderCount = limits.maxHeaderCount ?? DEFAULT_MAX_HEADER_COUNT;
    this.#maxHeaderBytes = limits.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;
    this.#allowBareLf = limits.allowBareLf ?? true;
    this.#start();
  }

  /** Every field of a head's state as before its first byte. */
  #start(): void {
    this.#state = State.START;
    this.#line = EMPTY;
    this.#lineLength = 0;
    this.#total = 0;
    this.#examined = 0;
    this.#method = "";
    this.#target = "";
    this.#status = 0;
    this.#statusText = "";
    this.#version = "";
    this.#raw = [];
    this.#keys = [];
    this.#contentLength = false;
    this.#transferEncoding = undefined;
    this.#result = null;
    this.#remainder = [];
    this.#lineScan = this.kind === "request" ? REQUEST_LINE : STATUS_LINE;
  }

  /**
   * @internal Start afresh: the parser is as new (same kind, limits and laziness), for a caller
   * that reuses parsers (the raw listener). What it handed out stays as it was (a head, its
   * lines, the remainder's bytes): they are let go, not cleared.
   */
  reset(): void {
    this.#start();
  }

  /**
   * @internal A parser whose heads' `rawHeaders` and `headers` are prototype accessors made on
   * first read (http-head.ts ParsedHead), for a caller that reads the lines only with
   * `flatRawHeaders`/`headerKeys` (the standalone server's raw listener).
   */
  static lazy(kind: "request" | "response", limits?: HeadLimits): HttpHeadParser {
    const parser = new HttpHeadParser(kind, limits);
    parser.#lazy = true;
    return parser;
  }

  /** True once the head is complete. */
  get complete(): boolean {
    return this.#state === State.DONE;
  }

  /** Bytes visited by the parser's loops so far (a work counter for linearity tests). */
  get bytesExamined(): number {
    return this.#examined;
  }

  /** Feed bytes. Returns the head when complete, an error, or null when more bytes are needed. */
  push(bytes: Uint8Array): HttpHead | HandshakeError | null {
    if (this.#state === State.DONE) {
      if (bytes.length > 0) this.#remainder.push(bytes);
      return this.#result;
    }
    if (this.#state === State.FAILED) return this.#result;
    let i = 0;
    const n = bytes.length;
    while (i < n) {
      const lf = indexOf.call(bytes, LF, i);
      const end = lf === -1 ? n : lf;
      this.#examined += end - i + (lf === -1 ? 0 : 1);
      // Caps first, before buffering a byte beyond them. The line may hold one extra byte: its CR.
      // A bad byte before the one that crosses a cap is the error (the first bad byte wins).
      const cap = this.#lineCap();
      if (cap > 0 && this.#lineLength + (end - i) > cap + 1) {
        return this.#scan(bytes, i, i + cap + 1 - this.#lineLength) ?? this.#tooLong();
      }
      if (this.#maxHeaderBytes > 0 && this.#total + (end - i) + (lf === -1 ? 0 : 1) > this.#maxHeaderBytes) {
        return (
          this.#scan(bytes, i, Math.min(end, i + this.#maxHeaderBytes - this.#total)) ??
          this.#fail("HEADERS_TOO_LARGE", "Header fields too large: the head exceeds the byte limit")
        );
      }
      this.#total += end - i;
      if (lf === -1) {
        // The line goes on in a later chunk: check what arrived of it now.
        const error = this.#scan(bytes, i, end);
        if (error !== null) return error;
        this.#append(bytes, i, end);
        return null;
      }
      this.#total += 1;
      let result: HttpHead | HandshakeError | null;
      if (this.#lineLength === 0) {
        // The whole line is in this chunk: parse it in place.
        result = this.#endLine(bytes, i, end);
      } else {
        this.#append(bytes, i, end);
        const length = this.#lineLength;
        this.#lineLength = 0;
        result = this.#endLine(this.#line, 0, length);
      }
      i = lf + 1;
      if (result !== null) {
        if ((this.#state as State) === State.DONE && i < n) this.#remainder.push(bytes.subarray(i));
        return result;
      }
    }
    return null;
  }

  /**
   * Bytes received after the head (a view of the caller's chunk when they arrived in one piece).
   * Empty until the head is complete.
   */
  remainder(): Uint8Array {
    const parts = this.#remainder;
    if (parts.length === 0) return EMPTY;
    if (parts.length === 1) return parts[0];
    let length = 0;
    for (const p of parts) length += p.length;
    const out = new Uint8Array(length);
    let offset = 0;
    for (const p of parts) {
      out.set(p, offset);
      offset += p.length;
    }
    this.#remainder = [out];
    return out;
  }

  #lineCap(): number {
    return this.#state === State.START ? this.#maxStartLine : this.#maxHeaderLine;
  }

  #tooLong(): HandshakeError {
    if (this.#state === State.START) {
      return this.kind === "request"
        ? this.#fail("URI_TOO_LONG", "Request line too long")
        : this.#fail("BAD_REQUEST", "Status line too long");
    }
    return this.#fail("HEADERS_TOO_LARGE", "Header fields too large: a header line exceeds the limit");
  }

  #append(bytes: Uint8Array, start: number, end: number): void {
    if (end === start) return;
    const needed = this.#lineLength + (end - start);
    if (needed > this.#line.length) {
      let size = Math.max(64, this.#line.length * 2);
      while (size < needed) size *= 2;
      const grown = new Uint8Array(size);
      if (this.#lineLength > 0) grown.set(this.#line.subarray(0, this.#lineLength));
      this.#line = grown;
    }
    this.#line.set(bytes.subarray(start, end), this.#lineLength);
    this.#lineLength = needed;
  }

  #fail(code: HandshakeErrorCode, message: string): HandshakeError {
    return this.#failWith(new HandshakeError(code, message));
  }

  #failWith(error: HandshakeError): HandshakeError {
    this.#state = State.FAILED;
    this.#result = error;
    return error;
  }

  /** A whole line is `buf[start, end)` (without its LF). Returns the final result or null to go on. */
  #endLine(buf: Uint8Array, start: number, end: number): HttpHead | HandshakeError | null {
    const lineStart = start;
    const lineEnd = end;
    this.#resetScan();
    if (end > start && buf[end - 1] === CR) end--;
    else if (!this.#allowBareLf) return this.#lineError(buf, lineStart, lineEnd, "BAD_REQUEST", "Bare LF line ending");
    const cap = this.#lineCap();
    if (cap > 0 && end - start > cap) return this.#tooLong();

    if (this.#state === State.START) {
      if (end === start && this.kind === "request") return null; // RFC 7230 3.5: ignore leading empty lines
      const ok =
        this.kind === "request" ? this.#parseRequestLine(buf, start, end) : this.#parseStatusLine(buf, start, end);
      if (!ok) {
        const generic = this.kind === "request" ? "Malformed request line" : "Malformed status line";
        return this.#lineError(buf, lineStart, lineEnd, "BAD_REQUEST", generic);
      }
      this.#state = State.HEADERS;
      this.#resetScan();
      return null;
    }
    if (end === start) return this.#finish();
    const result = this.#parseHeaderLine(buf, start, end);
    if (result !== null && result.code === "BAD_REQUEST")
      return this.#lineError(buf, lineStart, lineEnd, "BAD_REQUEST", result.message);
    return result;
  }

  /** The scanner's state at the start of a line in the current state. */
  #resetScan(): void {
    this.#lineScan = this.#state !== State.START ? HEADER_LINE : this.kind === "request" ? REQUEST_LINE : STATUS_LINE;
  }

  /**
   * A line failed: its first bad byte names the error, as it would have if the line had arrived
   * in pieces (the scanner runs over it afresh); a line whose every byte could start a valid
   * line gets `code` and `message` (it ended too early, or failed a check of the whole line).
   */
  #lineError(buf: Uint8Array, start: number, end: number, code: HandshakeErrorCode, message: string): HandshakeError {
    this.#resetScan();
    return this.#scan(buf, start, end) ?? this.#fail(code, message);
  }

  /** Run the line scanner over `buf[from, to)`: the error at its first bad byte, or null. */
  #scan(buf: Uint8Array, from: number, to: number): HandshakeError | null {
    this.#examined += to - from;
    const scan = scanLine(buf, from, to, this.#lineScan);
    if (scan < 0) return this.#failWith(scanError(scan));
    this.#lineScan = scan;
    return null;
  }

  #finish(): HttpHead {
    this.#state = State.DONE;
    this.#line = EMPTY;
    let head: HttpHead;
    if (this.#lazy) head = new ParsedHead(this.#version, this.#raw, this.#keys);
    else {
      head = plainHead(this.#version, this.#raw, this.#keys);
      // A parser may live as long as its connection: it keeps the head, not the lines too.
      this.#raw = this.#keys = [];
    }
    if (this.kind === "request") {
      head.method = this.#method;
      head.target = this.#target;
    } else {
      head.status = this.#status;
      head.statusText = this.#statusText;
    }
    this.#result = head;
    return head;
  }

  /**
   * RFC 9112 6.3: a request whose body framing is invalid is answered 400 and closed, even
   * though the upgrade reads no body: a proxy in front may frame it differently (request
   * smuggling). Checked as each field arrives (as Node's llhttp does): a second Content-Length
   * line, one that is not 1*DIGIT (within 64 bits), Transfer-Encoding with Content-Length, a
   * Transfer-Encoding whose last coding is not chunked.
   */
  #framingField(key: string, value: string): string | null {
    if (key === "transfer-encoding") {
      if (this.#contentLength) return "Invalid message framing: both Transfer-Encoding and Content-Length";
      // The codings so far, this field's included: chunked last, and once (RFC 9112 7.1).
      const previous = this.#transferEncoding;
      const joined = previous === undefined ? value : `${previous}, ${value}`;
      this.#transferEncoding = joined;
      const codings = joined.split(",");
      for (let i = 0; i < codings.length; i++) {
        const chunked = asciiLower(codings[i].trim()) === "chunked";
        if (chunked !== (i === codings.length - 1)) {
          return chunked
            ? "Invalid message framing: chunked is not the last transfer coding"
            : "Invalid message framing: the last transfer coding is not chunked";
        }
      }
      return null;
    }
    if (this.#contentLength) return "Invalid message framing: several Content-Length fields";
    if (this.#transferEncoding !== undefined)
      return "Invalid message framing: both Transfer-Encoding and Content-Length";
    this.#contentLength = true;
    let digits = value.length > 0 && value.length <= 20;
    for (let i = 0; digits && i < value.length; i++) digits = isDigit(value.charCodeAt(i));
    if (!digits || BigInt(value) >= 2n ** 64n) return "Invalid message framing: Content-Length is not a number";
    return null;
  }

  /** "HTTP/1." DIGIT at `at`; stores "1.d" and returns the index after it, or -1. */
  #parseVersion(line: Uint8Array, at: number, end: number): number {
    if (at + 8 > end) return -1;
    // "HTTP/" is case-sensitive (RFC 7230 2.6).
    if (line[at] !== 0x48 || line[at + 1] !== 0x54 || line[at + 2] !== 0x54 || line[at + 3] !== 0x50) return -1;
    // HTTP/1.x only (RFC 9112 2.3); the scanner names the error (505 for a request).
    if (line[at + 4] !== 0x2f || line[at + 5] !== 0x31 || line[at + 6] !== 0x2e || !isDigit(line[at + 7])) return -1;
    const minor = line[at + 7] - 0x30;
    this.#version = minor === 1 ? "1.1" : minor === 0 ? "1.0" : `1.${minor}`;
    return at + 8;
  }

  /** request-line = method SP request-target SP HTTP-version (RFC 7230 3.1.1). */
  #parseRequestLine(line: Uint8Array, start: number, end: number): boolean {
    this.#examined += end - start;
    let i = start;
    while (i < end && TCHAR[line[i]] === 1) i++;
    if (i === start || i >= end || line[i] !== SP) return false;
    const methodEnd = i;
    const targetStart = ++i;
    // RFC 3986 / RFC 9112 3.2: a URI is visible ASCII (other bytes are percent-encoded).
    while (i < end && line[i] > SP && line[i] < 0x7f) i++;
    if (i === targetStart || i >= end || line[i] !== SP) return false;
    this.#method =
      methodEnd - start === 3 && line[start] === 0x47 && line[start + 1] === 0x45 && line[start + 2] === 0x54
        ? "GET"
        : decode(line, start, methodEnd, false);
    this.#target = decode(line, targetStart, i, false);
    return this.#parseVersion(line, i + 1, end) === end;
  }

  /** status-line = HTTP-version SP status-code SP reason-phrase (RFC 7230 3.1.2); the SP and reason may be missing. */
  #parseStatusLine(line: Uint8Array, start: number, end: number): boolean {
    this.#examined += end - start;
    let i = this.#parseVersion(line, start, end);
    if (i === -1 || i + 4 > end || line[i] !== SP) return false;
    i++;
    if (!isDigit(line[i]) || !isDigit(line[i + 1]) || !isDigit(line[i + 2])) return false;
    this.#status = (line[i] - 0x30) * 100 + (line[i + 1] - 0x30) * 10 + (line[i + 2] - 0x30);
    if (this.#status < 100) return false;
    i += 3;
    if (i === end) return true;
    if (line[i] !== SP) return false;
    for (let j = i + 1; j < end; j++) if (!isValueByte(line[j])) return false;
    this.#statusText = decode(line, i + 1, end, true);
    return true;
  }

  /** header-field = field-name ":" OWS field-value OWS (RFC 7230 3.2). */
  #parseHeaderLine(line: Uint8Array, start: number, lineEnd: number): HandshakeError | null {
    this.#examined += lineEnd - start;
    // RFC 7230 3.2.4: obs-fold is deprecated; a server MUST reject it (400) or replace it.
    if (line[start] === SP || line[start] === HTAB)
      return this.#fail("BAD_REQUEST", "Obsolete line folding is not allowed");
    let i = start;
    while (i < lineEnd && TCHAR[line[i]] === 1) i++;
    // RFC 7230 3.2.4: no whitespace between the field name and the colon.
    if (i === start || i >= lineEnd || line[i] !== COLON) return this.#fail("BAD_REQUEST", "Malformed header line");
    const nameEnd = i;
    i++;
    while (i < lineEnd && (line[i] === SP || line[i] === HTAB)) i++;
    let end = lineEnd;
    while (end > i && (line[end - 1] === SP || line[end - 1] === HTAB)) end--;
    let high = 0;
    for (let j = i; j < end; j++) {
      const b = line[j];
      if (!isValueByte(b)) return this.#fail("BAD_REQUEST", "Invalid character in a header value");
      high |= b;
    }
    if (this.#maxHeaderCount > 0 && this.#raw.length >= 2 * this.#maxHeaderCount) {
      return this.#fail("HEADERS_TOO_LARGE", "Header fields too large: too many headers");
    }
    // Names and values decoded from the bytes (no line string for them to keep alive); a known
    // name costs no new string at all when sent in its usual spelling or in lowercase.
    let name: string | undefined;
    let key: string | undefined;
    let known: KnownName | undefined;
    const nameLength = nameEnd - start;
    const candidates = nameLength < KNOWN_BY_LENGTH.length ? KNOWN_BY_LENGTH[nameLength] : undefined;
    if (candidates !== undefined) {
      for (let c = 0; c < candidates.length && key === undefined; c++) {
        const candidate = candidates[c];
        const lower = candidate.lowerBytes;
        const canonical = candidate.canonicalBytes;
        let asCanonical = true;
        let asLower = true;
        let j = 0;
        // Token bytes only here, so `| 0x20` folds exactly A-Z onto a-z where the known name has a letter.
        for (; j < nameLength; j++) {
          const b = line[start + j];
          if ((b | 0x20) !== lower[j]) break;
          if (b !== canonical[j]) asCanonical = false;
          if (b !== lower[j]) asLower = false;
        }
        this.#examined += j;
        if (j === nameLength) {
          known = candidate;
          key = candidate.lower;
          name = asCanonical ? candidate.canonical : asLower ? candidate.lower : undefined;
        }
      }
    }
    if (name === undefined) name = decode(line, start, nameEnd, false);
    if (key === undefined) key = asciiLower(name);
    let value: string;
    if (known?.reuse && end - i <= REUSE_MAX) {
      // Idle connections keep their request's headers: the same "websocket", "Upgrade", "13" and
      // Host for every one of them is one string, not one each.
      value = sameLatin1(known.last, line, i, end) ? known.last : (known.last = decode(line, i, end, high >= 0x80));
    } else value = decode(line, i, end, high >= 0x80);
    if (this.kind === "request" && (key === "content-length" || key === "transfer-encoding")) {
      const framing = this.#framingField(key, value);
      if (framing !== null) return this.#fail("BAD_REQUEST", framing);
    }
    this.#raw.push(name, value);
    this.#keys.push(key);
    return null;
  }
}
