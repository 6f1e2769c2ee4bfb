/**
 * The server side of the RFC 6455 opening handshake (section 4.2), sans I/O. Contract:
 * `acceptHandshake(request, options)` validates a request that is already parsed (by
 * {@link HttpHeadParser} or by node:http) and returns either the 101 response bytes with the
 * chosen subprotocol and the negotiated extension sessions, or a HandshakeError with the
 * rejection bytes to write before closing. It never throws because of the request; it throws
 * a TypeError only for invalid options (e.g. a custom header with CR/LF in it).
 *
 * Decisions:
 * - Check order: method (405 + `Allow: GET`), HTTP version >= 1.1 (400), request target (400),
 *   Host (400), Upgrade (400), Connection (400), Sec-WebSocket-Version (426 +
 *   `Sec-WebSocket-Version: 13, 8, 7`), Sec-WebSocket-Key (400), Sec-WebSocket-Protocol syntax
 *   (400), Sec-WebSocket-Extensions syntax (400). A legacy (hixie) request therefore gets 426.
 * - Versions 7 and 8 (drafts hybi-07 and hybi-08, still sent by some old clients) are accepted
 *   like 13: their handshake and framing are RFC 6455's; only the origin header differs
 *   (`Sec-WebSocket-Origin`, see requestOrigin in src/node/origin.ts). websocket-driver accepts
 *   7, 8 and 13, ws 8 and 13.
 * - Subprotocols: with a list, the server's order of preference wins: the first server
 *   protocol that the client offered is selected (exact, case-sensitive match). With a
 *   callback, it gets the offered list and returns one of them, or null/undefined for none.
 *   No match: the handshake succeeds without `Sec-WebSocket-Protocol` (RFC 6455 4.2.2 lets
 *   the client decide whether to go on).
 * - Extensions: offers are grouped per name in the client's order of first appearance and
 *   each group is given to the matching {@link ServerExtension} (names compared exactly). An
 *   extension whose session claims an RSV bit already claimed by an earlier one is dropped.
 * - Exceptions from user code (protocol callback, `negotiate`) become a 500 rejection with the
 *   exception as `cause`, and sessions already created are closed; so does a callback that
 *   returns a protocol the client never offered.
 */

import { HandshakeError, type HandshakeErrorCode } from "../errors.js";
import type { ExtensionOffer, ExtensionSession, ServerExtension } from "../extensions/extension.js";
import { parseExtensions, renderExtension } from "../extensions/extension-header.js";
import { encodeBase64, isBase64Text } from "./base64.js";
import {
  asciiLower,
  assertHeader,
  isDigit,
  isToken,
  latin1,
  listHasToken,
  splitList,
  trimOws,
} from "./header-tokens.js";
import type { HttpHead } from "./http-head-parser.js";
import { statusText } from "./http-status.js";
import { sha1 } from "./sha1.js";

/** The Sec-WebSocket-Version values we accept, in the 426 answer's order (RFC 6455 4.4's example). */
export const SUPPORTED_VERSIONS = "13, 8, 7";

/** RFC 6455 1.3: the GUID appended to the key. */
export const WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

export interface HandshakeRequest {
  method: string;
  /** The request target: origin-form ("/chat?room=1") or absolute-form ("ws://host/chat"). */
  target: string;
  /** "1.1" (node:http's `httpVersion`) or "HTTP/1.1". */
  httpVersion: string;
  /** A Map with lowercased names, or node:http's `IncomingMessage.headers`. */
  headers: Map<string, string> | Record<string, string | string[] | undefined>;
}

export interface ServerHandshakeOptions {
  /** Server's protocols in order of preference, or a chooser. */
  protocols?: readonly string[] | ((offered: string[], request: HandshakeRequest) => string | null | undefined);
  extensions?: readonly ServerExtension[];
  /** Extra response headers (validated; the handshake's own headers cannot be overridden). */
  headers?: Record<string, string>;
  /**
   * Compute `Sec-WebSocket-Accept` from the (validated, trimmed) key: base64(SHA-1(key + GUID)).
   * Node passes one using node:crypto's native SHA-1. Default: {@link computeAccept} (pure JS).
   */
  computeAccept?: (key: string) => string;
  /** Encode the 101's head (Latin-1 text) to bytes. Node passes a native one. Default: a JS Latin-1 encoder. */
  encodeHead?: (head: string) => Uint8Array;
  /**
   * Render the common 101 (no custom `headers`) in one step from the validated key (24 ASCII
   * characters) and `tail`, the header lines after Sec-WebSocket-Accept ("" or the protocol and
   * extension lines, each ending in CRLF): the Latin-1 bytes of `SWITCHING_PREFIX +
   * computeAccept(key) + "\r\n" + tail + "\r\n"`. Node passes one that hashes and writes straight
   * into the response's bytes (no head string). Default: `computeAccept`, then `encodeHead`.
   */
  renderSwitching?: (key: string, tail: string) => Uint8Array;
}

export type ServerHandshakeResult =
  | { ok: true; response: Uint8Array; protocol: string; extensions: ExtensionSession[]; extensionsHeader: string }
  | { ok: false; error: HandshakeError; response: Uint8Array };

/** Adapt a request head from {@link HttpHeadParser} for {@link acceptHandshake}. */
export function toHandshakeRequest(head: HttpHead): HandshakeRequest {
  return { method: head.method ?? "", target: head.target ?? "", httpVersion: head.httpVersion, headers: head.headers };
}

/** Header names the handshake sets itself; custom headers may not override them. */
const RESERVED_RESPONSE_HEADERS = new Set([
  "upgrade",
  "connection",
  "sec-websocket-accept",
  "sec-websocket-protocol",
  "sec-websocket-extensions",
  "content-length",
  "transfer-encoding",
]);

/** The start of every 101 response, up to the accept value. */
export const SWITCHING_PREFIX =
  "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ";

/** RFC 6455 4.2.2: base64(SHA-1(key + GUID)), the key taken as a string (not decoded). */
export function computeAccept(key: string): string {
  return encodeBase64(sha1(latin1(key + WEBSOCKET_GUID)));
}

/** Read a header from either form of `headers`, several values joined with ", ". */
export function getHeader(headers: HandshakeRequest["headers"], name: string): string | undefined {
  const value = headers instanceof Map ? headers.get(name) : headers[name];
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value.join(", ") : value;
}

/**
 * Render an HTTP/1.1 response head (and body). Header names and values are validated (TypeError
 * on CR/LF injection). When a body is given and no Content-Length is, one is added.
 */
export function renderResponse(
  status: number,
  headers: Record<string, string> = {},
  body?: string | Uint8Array,
): Uint8Array {
  if (!Number.isInteger(status) || status < 100 || status > 999) throw new RangeError(`Invalid status ${status}`);
  const bodyBytes = body === undefined ? undefined : typeof body === "string" ? new TextEncoder().encode(body) : body;
  let head = `HTTP/1.1 ${status} ${statusText(status)}\r\n`;
  let hasLength = false;
  for (const name of Object.keys(headers)) {
    const value = headers[name];
    assertHeader(name, value);
    if (asciiLower(name) === "content-length") hasLength = true;
    head += `${name}: ${value}\r\n`;
  }
  if (bodyBytes !== undefined && !hasLength) head += `Content-Length: ${bodyBytes.length}\r\n`;
  head += "\r\n";
  const headBytes = latin1(head);
  if (bodyBytes === undefined || bodyBytes.length === 0) return headBytes;
  const out = new Uint8Array(headBytes.length + bodyBytes.length);
  out.set(headBytes);
  out.set(bodyBytes, headBytes.length);
  return out;
}

/**
 * Render a rejection: status line, the given headers, `Connection: close`, a text/plain
 * Content-Type, Content-Length, and the body (default: the status's reason phrase).
 */
export function renderRejection(
  status: number,
  headers: Record<string, string> = {},
  body?: string | Uint8Array,
): Uint8Array {
  const all: Record<string, string> = {};
  let hasType = false;
  for (const name of Object.keys(headers)) {
    const lower = asciiLower(name);
    if (lower === "connection" || lower === "content-length") continue;
    if (lower === "content-type") hasType = true;
    all[name] = headers[name];
  }
  all["Connection"] = "close";
  if (!hasType) all["Content-Type"] = "text/plain; charset=utf-8";
  return renderResponse(status, all, body ?? statusText(status));
}

function reject(
  code: HandshakeErrorCode,
  message: string,
  headers?: Record<string, string>,
  cause?: unknown,
): ServerHandshakeResult {
  const error = new HandshakeError(code, message, { headers, cause });
  return { ok: false, error, response: renderRejection(error.status, error.headers, message) };
}

/** "1.1" / "HTTP/1.1" -> major * 1000 + minor, or -1. */
function parseVersion(v: string): number {
  let i = v.startsWith("HTTP/") ? 5 : 0;
  let major = 0;
  let minor = 0;
  const start = i;
  while (i < v.length && isDigit(v.charCodeAt(i)) && i - start < 3) {
    major = major * 10 + v.charCodeAt(i++) - 0x30;
  }
  if (i === start || v.charCodeAt(i) !== 0x2e) return -1;
  const minorStart = ++i;
  while (i < v.length && isDigit(v.charCodeAt(i)) && i - minorStart < 3) {
    minor = minor * 10 + v.charCodeAt(i++) - 0x30;
  }
  if (i === minorStart || i !== v.length) return -1;
  return major * 1000 + minor;
}

/** RFC 3986 reg-name characters: unreserved / pct-encoded ("%") / sub-delims. */
function isRegNameChar(c: number): boolean {
  return (
    (c >= 0x61 && c <= 0x7a) ||
    (c >= 0x41 && c <= 0x5a) ||
    (c >= 0x30 && c <= 0x39) ||
    c === 0x2d || // -
    c === 0x2e || // .
    c === 0x5f || // _
    c === 0x7e || // ~
    c === 0x25 || // %
    c === 0x21 || // !
    c === 0x24 || // $
    (c >= 0x26 && c <= 0x2c) || // & ' ( ) * + ,
    c === 0x3b || // ;
    c === 0x3d // =
  );
}

/**
 * RFC 7230 5.4: Host = uri-host [ ":" port ]; uri-host = IP-literal / IPv4address / reg-name.
 * The host must not be empty (RFC 6455 4.1 requires the server's authority) and the port, if
 * present, is 1 to 5 digits not above 65535.
 */
export function isValidHost(host: string): boolean {
  const n = host.length;
  if (n === 0) return false;
  let i = 0;
  if (host.charCodeAt(0) === 0x5b /* [ */) {
    i = 1;
    while (i < n && host.charCodeAt(i) !== 0x5d /* ] */) {
      const c = host.charCodeAt(i);
      const ok =
        (c >= 0x30 && c <= 0x3a) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46) || c === 0x2e || c === 0x76;
      if (!ok) return false;
      i++;
    }
    if (i >= n || i === 1) return false;
    i++;
  } else {
    while (i < n && isRegNameChar(host.charCodeAt(i))) i++;
    if (i === 0) return false;
  }
  if (i === n) return true;
  if (host.charCodeAt(i) !== 0x3a /* : */) return false;
  i++;
  const portStart = i;
  let port = 0;
  while (i < n) {
    const c = host.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
    port = port * 10 + c - 0x30;
    i++;
  }
  return i - portStart >= 1 && i - portStart <= 5 && port <= 65535;
}

/** Request target: origin-form ("/...") or absolute-form ("scheme://..."), no SP, CTL or DEL. */
export function isValidTarget(target: string): boolean {
  if (target.length === 0) return false;
  for (let i = 0; i < target.length; i++) {
    const c = target.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f || c > 0xff) return false;
  }
  if (target.charCodeAt(0) === 0x2f) return true;
  const colon = target.indexOf("://");
  if (colon <= 0) return false;
  for (let i = 0; i < colon; i++) {
    const c = target.charCodeAt(i);
    const alpha = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a);
    if (!alpha && (i === 0 || !((c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === 0x2e))) return false;
  }
  return true;
}

/** RFC 6455 4.1: the key is a base64-encoded 16-byte nonce, so 24 characters ending in "==". */
export function isValidKey(key: string): boolean {
  // What strict decoding to 16 bytes means for 24 characters: 22 of the alphabet, then "==".
  return key.length === 24 && key.charCodeAt(22) === 0x3d && key.charCodeAt(23) === 0x3d && isBase64Text(key, 0, 22);
}

function closeAll(sessions: readonly ExtensionSession[]): void {
  for (const s of sessions) {
    try {
      s.close?.();
    } catch {
      // Closing is best effort: a failing close must not hide the original error.
    }
  }
}

/** Check custom response headers: valid, and none the handshake sets itself (TypeError otherwise). */
export function assertExtraHeaders(extra: Record<string, string>): void {
  for (const name of Object.keys(extra)) {
    assertHeader(name, extra[name]);
    if (RESERVED_RESPONSE_HEADERS.has(asciiLower(name))) {
      throw new TypeError(`Header "${name}" is set by the handshake and cannot be overridden`);
    }
  }
}

/** Validate a WebSocket upgrade request and build the response. */
export function acceptHandshake(
  request: HandshakeRequest,
  options: ServerHandshakeOptions = {},
): ServerHandshakeResult {
  const extra = options.headers;
  if (extra !== undefined) assertExtraHeaders(extra);
  const headers = request.headers;

  // RFC 6455 4.1 / 4.2.1: "An HTTP/1.1 or higher GET request".
  if (request.method !== "GET") return reject("METHOD_NOT_ALLOWED", "Method must be GET", { Allow: "GET" });
  if (parseVersion(request.httpVersion) < 1001) {
    return reject("BAD_REQUEST", "HTTP/1.1 or later is required");
  }
  // RFC 6455 4.2.1 (1): "including a Request-URI [RFC2616] that should be interpreted as a /resource name/".
  if (!isValidTarget(request.target)) return reject("BAD_REQUEST", "Invalid request target");
  // RFC 6455 4.2.1 (2): "A |Host| header field containing the server's authority."
  const host = getHeader(headers, "host");
  if (host === undefined || !isValidHost(trimOws(host))) return reject("BAD_REQUEST", "Missing or invalid Host header");
  // RFC 6455 4.2.1 (3): "An |Upgrade| header field containing the value "websocket", treated
  // as an ASCII case-insensitive value." Upgrade is a list (RFC 7230 6.7), so search it.
  if (!listHasToken(getHeader(headers, "upgrade"), "websocket")) {
    return reject("BAD_REQUEST", "Missing or invalid Upgrade header: expected websocket");
  }
  // RFC 6455 4.2.1 (4): "A |Connection| header field that includes the token "Upgrade",
  // treated as an ASCII case-insensitive value."
  if (!listHasToken(getHeader(headers, "connection"), "upgrade")) {
    return reject("BAD_REQUEST", "Missing or invalid Connection header: expected Upgrade");
  }
  // RFC 6455 4.2.2 / 4.4: on a version we do not speak, answer (e.g.) 426 with the versions we do.
  // 7 and 8 are drafts hybi-07/08: the same handshake and framing as 13.
  const wsVersion = getHeader(headers, "sec-websocket-version");
  const v = wsVersion === undefined ? "" : trimOws(wsVersion);
  if (v !== "13" && v !== "8" && v !== "7") {
    return reject("UNSUPPORTED_VERSION", `Sec-WebSocket-Version must be one of ${SUPPORTED_VERSIONS}`, {
      "Sec-WebSocket-Version": SUPPORTED_VERSIONS,
      Upgrade: "websocket",
    });
  }
  // RFC 6455 4.2.1 (5): "A |Sec-WebSocket-Key| header field with a base64-encoded value that,
  // when decoded, is 16 bytes in length."
  const rawKey = getHeader(headers, "sec-websocket-key");
  const key = rawKey === undefined ? "" : trimOws(rawKey);
  if (!isValidKey(key)) return reject("BAD_REQUEST", "Missing or invalid Sec-WebSocket-Key header");

  const negotiated = negotiate(request, options);
  if (!negotiated.ok) return reject(negotiated.code, negotiated.message, undefined, negotiated.cause);
  const { protocol, extensionsHeader } = negotiated;
  const sessions = ownSessions(negotiated.extensions);

  // RFC 6455 4.2.2 (5): the 101 response.
  if (extra === undefined || Object.keys(extra).length === 0) {
    // The common case, rendered from a fixed prefix (values still checked against CR/LF injection).
    let tail = "";
    if (protocol !== "") {
      assertHeader("Sec-WebSocket-Protocol", protocol);
      tail += `Sec-WebSocket-Protocol: ${protocol}\r\n`;
    }
    if (extensionsHeader !== "") {
      assertHeader("Sec-WebSocket-Extensions", extensionsHeader);
      tail += `Sec-WebSocket-Extensions: ${extensionsHeader}\r\n`;
    }
    const response =
      options.renderSwitching !== undefined
        ? options.renderSwitching(key, tail)
        : (options.encodeHead ?? latin1)(
            `${SWITCHING_PREFIX}${(options.computeAccept ?? computeAccept)(key)}\r\n${tail}\r\n`,
          );
    return { ok: true, response, protocol, extensions: sessions, extensionsHeader };
  }
  const accept = (options.computeAccept ?? computeAccept)(key);
  const response: Record<string, string> = {
    Upgrade: "websocket",
    Connection: "Upgrade",
    "Sec-WebSocket-Accept": accept,
  };
  if (protocol !== "") response["Sec-WebSocket-Protocol"] = protocol;
  if (extensionsHeader !== "") response["Sec-WebSocket-Extensions"] = extensionsHeader;
  Object.assign(response, extra);
  return { ok: true, response: renderResponse(101, response), protocol, extensions: sessions, extensionsHeader };
}

/** What {@link negotiate} decided, or why it refused. */
export type Negotiation =
  | { ok: true; protocol: string; extensions: ExtensionSession[]; extensionsHeader: string }
  | { ok: false; code: "BAD_REQUEST" | "CALLBACK_FAILED"; message: string; cause?: unknown };

const NOTHING_OFFERED_SESSIONS = Object.freeze([]) as unknown as ExtensionSession[];
/**
 * The negotiation of every request that offers neither subprotocols nor extensions (frozen:
 * shared). Its empty list is not handed out: a result's `extensions` is the caller's to change.
 */
const NOTHING_OFFERED: Negotiation = Object.freeze({
  ok: true as const,
  protocol: "",
  extensions: NOTHING_OFFERED_SESSIONS,
  extensionsHeader: "",
});

/** A negotiation's sessions as a result hands them out: the shared empty list is never one. */
export function ownSessions(sessions: ExtensionSession[]): ExtensionSession[] {
  return sessions === NOTHING_OFFERED_SESSIONS ? [] : sessions;
}

/**
 * The part of the opening handshake shared by RFC 6455 4.2.2 and RFC 8441 5 (which uses these
 * header fields "as defined in RFC 6455"): parse the offered subprotocols and extensions, pick
 * the subprotocol, negotiate the extensions. Refuses malformed offers (BAD_REQUEST) and failing
 * user code (CALLBACK_FAILED, sessions already created closed).
 */
export function negotiate(request: HandshakeRequest, options: ServerHandshakeOptions): Negotiation {
  const headers = request.headers;
  // RFC 6455 4.1: subprotocol values are tokens ("elements that comprise this value MUST be non-empty
  // strings with characters in the range U+0021 to U+007E not including separator characters").
  const protocolHeader = getHeader(headers, "sec-websocket-protocol");
  const extensionHeader = getHeader(headers, "sec-websocket-extensions");
  // Nothing offered (most requests): no subprotocol, no extension, nothing to call; one shared answer.
  if (protocolHeader === undefined && (extensionHeader === undefined || trimOws(extensionHeader) === "")) {
    return NOTHING_OFFERED;
  }
  const offeredProtocols = protocolHeader === undefined ? [] : splitList(protocolHeader);
  for (const p of offeredProtocols) {
    if (!isToken(p)) return { ok: false, code: "BAD_REQUEST", message: "Invalid Sec-WebSocket-Protocol header" };
  }
  if (protocolHeader !== undefined && offeredProtocols.length === 0) {
    return { ok: false, code: "BAD_REQUEST", message: "Empty Sec-WebSocket-Protocol header" };
  }

  let offers: ExtensionOffer[] = [];
  if (extensionHeader !== undefined && trimOws(extensionHeader) !== "") {
    const parsed = parseExtensions(extensionHeader);
    if (parsed === null) return { ok: false, code: "BAD_REQUEST", message: "Invalid Sec-WebSocket-Extensions header" };
    offers = parsed;
  }

  let protocol = "";
  try {
    protocol = selectProtocol(offeredProtocols, request, options.protocols);
  } catch (cause) {
    return { ok: false, code: "CALLBACK_FAILED", message: "Subprotocol selection failed", cause };
  }

  const sessions: ExtensionSession[] = [];
  const accepted: string[] = [];
  if (offers.length > 0 && options.extensions !== undefined && options.extensions.length > 0) {
    try {
      negotiateExtensions(offers, options.extensions, sessions, accepted);
    } catch (cause) {
      closeAll(sessions);
      return { ok: false, code: "CALLBACK_FAILED", message: "Extension negotiation failed", cause };
    }
  }
  return { ok: true, protocol, extensions: sessions, extensionsHeader: accepted.join(", ") };
}

function selectProtocol(
  offered: string[],
  request: HandshakeRequest,
  chooser: ServerHandshakeOptions["protocols"],
): string {
  if (chooser === undefined || offered.length === 0) return "";
  if (typeof chooser === "function") {
    const chosen = chooser(offered.slice(), request);
    if (chosen === null || chosen === undefined || chosen === "") return "";
    if (!offered.includes(chosen)) {
      throw new TypeError(`The protocols callback returned ${JSON.stringify(chosen)}, which the client did not offer`);
    }
    return chosen;
  }
  // Server's order of preference: the first of our protocols that the client offered.
  for (const p of chooser) if (offered.includes(p)) return p;
  return "";
}

function negotiateExtensions(
  offers: readonly ExtensionOffer[],
  extensions: readonly ServerExtension[],
  sessions: ExtensionSession[],
  accepted: string[],
): void {
  // Group offers per name, in the client's order of first appearance.
  const groups = new Map<string, ExtensionOffer[]>();
  for (const offer of offers) {
    const group = groups.get(offer.name);
    if (group === undefined) groups.set(offer.name, [offer]);
    else group.push(offer);
  }
  const used = { rsv1: false, rsv2: false, rsv3: false };
  for (const [name, group] of groups) {
    const extension = extensions.find((e) => e.name === name);
    if (extension === undefined) continue;
    const result = extension.negotiate(group);
    if (result === null) continue;
    const { session } = result;
    // RFC 6455 9: two extensions must not use the same RSV bit; drop the later one.
    if ((session.rsv1 && used.rsv1) || (session.rsv2 && used.rsv2) || (session.rsv3 && used.rsv3)) {
      session.close?.();
      continue;
    }
    const rendered = renderExtension(name, result.params);
    used.rsv1 ||= session.rsv1 === true;
    used.rsv2 ||= session.rsv2 === true;
    used.rsv3 ||= session.rsv3 === true;
    sessions.push(session);
    accepted.push(rendered);
  }
}
