/**
 * Opening handshakes of draft-hixie-thewebsocketprotocol-75 and -76, server side.
 *
 * Contract: `prepareHandshake(draft, request, options)` validates a parsed request and returns
 * the response head bytes (status line + headers + blank line), or a HandshakeError (400)
 * with a rendered 400 response. It never throws because of the request; it throws OptionError
 * for invalid caller options. The draft-76 challenge answer (the 16-byte body) needs the 8
 * bytes that follow the head, so it is computed separately by `challengeResponse`.
 */
import { HandshakeError, OptionError } from "../errors.js";
import { type DetectedDraft, getHeader, type HixieRequest } from "./detect.js";
import { md5 } from "./md5.js";

export type HixieDraft = Exclude<DetectedDraft, "hybi">;

export interface HixieHandshakeOptions {
  /**
   * Subprotocols the server speaks, or a function choosing one of the client's offers. The
   * drafts carry one value (`Sec-WebSocket-Protocol` / `WebSocket-Protocol`); a comma list is
   * accepted too. Only an offered value is echoed; with no choice the header is left out.
   */
  protocols?: readonly string[] | ((offered: string[], request: HixieRequest) => string | null | undefined);
  /** True when the connection is TLS: `wss:` instead of `ws:` in the Location header. */
  secure?: boolean;
  /** Extra response headers, appended after the draft's own. */
  headers?: Readonly<Record<string, string>>;
}

export type PreparedHandshake =
  | {
      readonly ok: true;
      /** Status line, headers and the blank line. For draft-76 the 16-byte answer follows later. */
      readonly head: Uint8Array;
      readonly protocol: string;
      /** draft-76 only: the two key numbers divided by their spaces (part_1/part_2). */
      readonly parts?: readonly [number, number];
    }
  | { readonly ok: false; readonly error: HandshakeError; readonly response: Uint8Array };

/** The largest key number a draft-76 client can generate (its opening handshake: 4,294,967,295). */
const MAX_KEY_NUMBER = 0xffffffff;

/**
 * draft-76, "Sending the server's opening handshake": "Let /key-number_1/ be the digits ... in /key_1/, interpreted as a base ten
 * integer, ignoring all other characters", "Let /spaces_1/ be the number of U+0020 SPACE
 * characters", "If either /spaces_1/ or /spaces_2/ is zero, then abort", "If /key-number_1/
 * is not an integral multiple of /spaces_1/ ... then abort", "Let /part_1/ be /key-number_1/
 * divided by /spaces_1/". Returns part, or null when the key is invalid. A key number above
 * 2^32-1 cannot come from a conforming client (the client's handshake picks
 * /number_1/ * /spaces_1/ <= 4,294,967,295) and is refused before it could
 * lose precision.
 */
export function keyPart(key: string): number | null {
  let number = 0;
  let digits = 0;
  let spaces = 0;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) {
      number = number * 10 + (c - 0x30);
      digits++;
      if (number > MAX_KEY_NUMBER) return null;
    } else if (c === 0x20) {
      spaces++;
    }
  }
  if (digits === 0 || spaces === 0 || number % spaces !== 0) return null;
  return number / spaces;
}

/**
 * draft-76, same section: "Let /challenge/ be the concatenation of /part_1/, expressed as a big-endian
 * 32 bit integer, /part_2/, expressed as a big-endian 32 bit integer, and the eight bytes of
 * /key_3/ in the order they were sent to the wire." "Let /response/ be the MD5 fingerprint of
 * /challenge/ as a big-endian 128 bit string."
 */
export function challengeResponse(part1: number, part2: number, key3: Uint8Array): Uint8Array {
  if (key3.length !== 8) throw new RangeError("draft-76 key3 must be exactly 8 bytes");
  const challenge = new Uint8Array(16);
  const view = new DataView(challenge.buffer);
  view.setUint32(0, part1);
  view.setUint32(4, part2);
  challenge.set(key3, 8);
  return md5(challenge);
}

/** Encode a response head: Latin-1 when every character fits (as Node's http does), else UTF-8. */
export function encodeHead(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0xff) return new TextEncoder().encode(text);
    out[i] = c;
  }
  return out;
}

/** A 400 response for a refused handshake (the drafts define no error response; any non-101 fails the client). */
export function renderRejection(error: HandshakeError): Uint8Array {
  const body = `${error.message}\n`;
  const bodyBytes = new TextEncoder().encode(body);
  let head = `HTTP/1.1 ${error.status} Bad Request\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n`;
  for (const [name, value] of Object.entries(error.headers)) head += `${name}: ${value}\r\n`;
  head += `Content-Length: ${bodyBytes.length}\r\n\r\n`;
  const headBytes = encodeHead(head);
  const out = new Uint8Array(headBytes.length + bodyBytes.length);
  out.set(headBytes);
  out.set(bodyBytes, headBytes.length);
  return out;
}

/** Header values we echo must not split the response (the parsers refuse them, a Record may not). */
function unsafe(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x0d || c === 0x0a || c === 0x00) return true;
  }
  return false;
}

function isToken(name: string): boolean {
  if (name.length === 0) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    // RFC 9110 5.6.2 tchar, minus the rarely used symbols that no header name needs.
    const ok =
      (c >= 0x30 && c <= 0x39) ||
      (c >= 0x41 && c <= 0x5a) ||
      (c >= 0x61 && c <= 0x7a) ||
      "!#$%&'*+-.^_`|~".includes(name[i]);
    if (!ok) return false;
  }
  return true;
}

function refuse(message: string): PreparedHandshake {
  const error = new HandshakeError("BAD_REQUEST", message);
  return { ok: false, error, response: renderRejection(error) };
}

function chooseProtocol(
  offeredHeader: string | undefined,
  request: HixieRequest,
  options: HixieHandshakeOptions,
): string {
  if (offeredHeader === undefined || options.protocols === undefined) return "";
  const offered = offeredHeader
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
  if (offered.length === 0) return "";
  const choice =
    typeof options.protocols === "function"
      ? options.protocols(offered, request)
      : offered.find((p) => (options.protocols as readonly string[]).includes(p));
  return typeof choice === "string" && offered.includes(choice) ? choice : "";
}

/** Validate caller options once (thrown: the caller's mistake, not the peer's). */
export function checkHandshakeOptions(options: HixieHandshakeOptions): void {
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    if (!isToken(name)) throw new OptionError("headers", `invalid header name ${JSON.stringify(name)}`);
    if (typeof value !== "string" || unsafe(value)) {
      throw new OptionError("headers", `invalid value for header ${JSON.stringify(name)}`);
    }
  }
  const p = options.protocols;
  if (p !== undefined && typeof p !== "function" && !Array.isArray(p)) {
    throw new OptionError("protocols", "expected an array of strings or a function");
  }
}

export function prepareHandshake(
  draft: HixieDraft,
  request: HixieRequest,
  options: HixieHandshakeOptions = {},
): PreparedHandshake {
  // Both drafts: the request is a GET with a Host header.
  if (request.method !== "GET") return refuse(`WebSocket handshake must use GET, not ${request.method}`);
  const host = getHeader(request, "host");
  if (host === undefined || host.length === 0) return refuse("Missing Host header");
  const origin = getHeader(request, "origin");
  const target = request.target;
  if (!target.startsWith("/")) return refuse("Request target must be an absolute path");
  if (unsafe(host) || unsafe(target) || (origin !== undefined && unsafe(origin))) {
    return refuse("Invalid characters in request headers");
  }
  const location = `${options.secure ? "wss" : "ws"}://${host}${target}`;

  let parts: [number, number] | undefined;
  let prefix: string;
  let status: string;
  if (draft === "hixie-76") {
    const key1 = getHeader(request, "sec-websocket-key1");
    const key2 = getHeader(request, "sec-websocket-key2");
    if (key1 === undefined) return refuse("Missing required header: Sec-WebSocket-Key1");
    if (key2 === undefined) return refuse("Missing required header: Sec-WebSocket-Key2");
    const part1 = keyPart(key1);
    const part2 = keyPart(key2);
    if (part1 === null) return refuse("Invalid Sec-WebSocket-Key1");
    if (part2 === null) return refuse("Invalid Sec-WebSocket-Key2");
    parts = [part1, part2];
    prefix = "Sec-WebSocket-";
    // draft-76, server handshake: "HTTP/1.1 101 WebSocket Protocol Handshake".
    status = "HTTP/1.1 101 WebSocket Protocol Handshake";
  } else {
    prefix = "WebSocket-";
    // draft-75: the client compares the first 85 bytes exactly; "Web Socket" has a space in this draft.
    status = "HTTP/1.1 101 Web Socket Protocol Handshake";
  }
  const protocol = chooseProtocol(getHeader(request, `${prefix.toLowerCase()}protocol`), request, options);
  if (unsafe(protocol)) return refuse("Invalid characters in the subprotocol");

  // Header order of the drafts' examples: Upgrade, Connection, Origin, Location, Protocol.
  let head = `${status}\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\n`;
  if (origin !== undefined) head += `${prefix}Origin: ${origin}\r\n`;
  head += `${prefix}Location: ${location}\r\n`;
  if (protocol !== "") head += `${prefix}Protocol: ${protocol}\r\n`;
  for (const [name, value] of Object.entries(options.headers ?? {})) head += `${name}: ${value}\r\n`;
  head += "\r\n";
  return parts === undefined
    ? { ok: true, head: encodeHead(head), protocol }
    : { ok: true, head: encodeHead(head), protocol, parts };
}
