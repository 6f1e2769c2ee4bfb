/**
 * The opening handshake of WebSockets over HTTP/2 (RFC 8441), sans I/O: an extended CONNECT
 * request (`:method` CONNECT, `:protocol` websocket) answered with a 2xx on the same stream.
 * The HTTP/2 layer (node:http2, a browser) carries the header blocks; this module only reads and
 * writes header field objects, names lowercased, pseudo-header fields included.
 *
 * Exactly RFC 8441's differences from RFC 6455 4: no Upgrade, Connection, Sec-WebSocket-Key or
 * Sec-WebSocket-Accept (section 5: "superseded by the :protocol pseudo-header field"); Origin,
 * Sec-WebSocket-Version, -Protocol and -Extensions are used "as defined in [RFC6455]", so the
 * subprotocol and extension negotiation is the HTTP/1.1 handshake's own ({@link negotiate},
 * {@link checkServerChoice}). Frames and masking are unchanged; this module ends where they start.
 *
 * Server, `acceptExtendedConnect(request, options)`: checks, in order, `:method` CONNECT (405),
 * `:protocol` websocket (400), `:scheme` http or https (400, section 5), `:path` (400),
 * `:authority` (400), Sec-WebSocket-Version 13 (400 with `sec-websocket-version: 13`: 426 would
 * need an Upgrade header, which HTTP/2 forbids), then the negotiation (400 for malformed offers,
 * 500 when user code throws); returns the response header fields (`:status` 200) or a
 * HandshakeError whose `headers` are HTTP/2 header fields. Never throws because of the request;
 * a TypeError for invalid custom headers in `options`.
 *
 * Client, {@link ExtendedConnectHandshake}: the constructor checks the options as the HTTP/1.1
 * client does (TypeError naming the culprit); `headers()` is the request's header fields;
 * `response(status, headers)` judges the answer: any 2xx opens the WebSocket (CONNECT's
 * success, RFC 9110 9.3.6), anything else is a HandshakeError with that status.
 */
import { HandshakeError, type HandshakeErrorCode } from "../errors.js";
import type { ClientExtension, ExtensionSession } from "../extensions/extension.js";
import {
  type CheckedRequestOptions,
  checkRequestOptions,
  checkServerChoice,
  extensionOffers,
} from "./client-handshake.js";
import { asciiLower, trimOws } from "./header-tokens.js";
import { basicCredentials } from "./proxy.js";
import {
  assertExtraHeaders,
  type HandshakeRequest,
  isValidHost,
  isValidTarget,
  negotiate,
  ownSessions,
  type ServerHandshakeOptions,
} from "./server-handshake.js";

/** HTTP/2 header fields, names lowercased: node:http2's objects, or a Map. */
export type Http2Headers = Map<string, string> | Record<string, string | string[] | number | undefined>;

export type ExtendedConnectResult =
  | {
      ok: true;
      /** The response's header fields: `:status` 200 and the negotiated Sec-WebSocket-* fields. */
      headers: Record<string, string | number>;
      protocol: string;
      extensions: ExtensionSession[];
      extensionsHeader: string;
    }
  | { ok: false; error: HandshakeError };

/**
 * Header fields that are connection-specific in HTTP/1.1 and malformed in HTTP/2 (RFC 9113
 * 8.2.2): never sent on a stream, whatever the custom headers say.
 */
const CONNECTION_SPECIFIC = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "te",
]);

function header(headers: Http2Headers, name: string): string | undefined {
  const value = headers instanceof Map ? headers.get(name) : headers[name];
  if (value === undefined) return undefined;
  if (typeof value === "number") return String(value);
  return Array.isArray(value) ? value.join(", ") : value;
}

function refuse(
  code: HandshakeErrorCode,
  message: string,
  headers?: Record<string, string>,
  cause?: unknown,
): ExtendedConnectResult {
  return { ok: false, error: new HandshakeError(code, message, { headers, cause }) };
}

/** Validate an extended CONNECT request for a WebSocket (RFC 8441 4, 5) and build the 200 response's header fields. */
export function acceptExtendedConnect(
  request: { headers: Http2Headers },
  options: ServerHandshakeOptions = {},
): ExtendedConnectResult {
  const extra = options.headers ?? {};
  assertExtraHeaders(extra);
  const h = request.headers;
  // RFC 8441 4: "A CONNECT request ... with a :protocol pseudo-header field".
  if (header(h, ":method") !== "CONNECT")
    return refuse("METHOD_NOT_ALLOWED", "Method must be CONNECT", { allow: "CONNECT" });
  // RFC 8441 5: ":protocol ... MUST have a value of "websocket" to initiate a WebSocket connection".
  if (header(h, ":protocol") !== "websocket")
    return refuse("BAD_REQUEST", "The :protocol pseudo-header must be websocket");
  // RFC 8441 5: "The scheme of the target URI MUST be "https" for "wss"-schemed WebSockets and
  // "http" for "ws"-schemed WebSockets"; 4: :scheme and :path "MUST also be included".
  const scheme = header(h, ":scheme");
  if (scheme !== "https" && scheme !== "http")
    return refuse("BAD_REQUEST", "The :scheme pseudo-header must be https or http");
  const path = header(h, ":path");
  if (path === undefined || path.charCodeAt(0) !== 0x2f || !isValidTarget(path)) {
    return refuse("BAD_REQUEST", "Missing or invalid :path pseudo-header");
  }
  const authority = header(h, ":authority");
  if (authority === undefined || !isValidHost(authority))
    return refuse("BAD_REQUEST", "Missing or invalid :authority pseudo-header");
  // RFC 8441 5: Sec-WebSocket-Version is used as in RFC 6455 4.2.1 (6): 13. (Drafts 7 and 8
  // predate HTTP/2: no client sends them over it.)
  const version = header(h, "sec-websocket-version");
  if (version === undefined || trimOws(version) !== "13") {
    return refuse("BAD_REQUEST", "Sec-WebSocket-Version must be 13", { "sec-websocket-version": "13" });
  }

  const handshakeRequest: HandshakeRequest = {
    method: "CONNECT",
    target: path,
    httpVersion: "2.0",
    headers: h instanceof Map ? h : (h as HandshakeRequest["headers"]),
  };
  const negotiated = negotiate(handshakeRequest, options);
  if (!negotiated.ok) return refuse(negotiated.code, negotiated.message, undefined, negotiated.cause);

  const response: Record<string, string | number> = { ":status": 200 };
  if (negotiated.protocol !== "") response["sec-websocket-protocol"] = negotiated.protocol;
  if (negotiated.extensionsHeader !== "") response["sec-websocket-extensions"] = negotiated.extensionsHeader;
  for (const name of Object.keys(extra)) {
    const lower = asciiLower(name);
    if (!CONNECTION_SPECIFIC.has(lower)) response[lower] = extra[name]!;
  }
  return {
    ok: true,
    headers: response,
    protocol: negotiated.protocol,
    extensions: ownSessions(negotiated.extensions),
    extensionsHeader: negotiated.extensionsHeader,
  };
}

export interface ExtendedConnectOptions {
  /** The WebSocket URL (ws: or wss:; http(s) accepted). */
  url: string | URL;
  origin?: string;
  protocols?: string[];
  extensions?: ClientExtension[];
  /** Extra request header fields (sent lowercased; a custom Host becomes `:authority`). */
  headers?: Record<string, string>;
}

export type ExtendedConnectClientResult =
  | { ok: true; protocol: string; extensions: ExtensionSession[]; extensionsHeader: string }
  | { ok: false; error: HandshakeError };

/** The client side of RFC 8441 5 (see the module comment). */
export class ExtendedConnectHandshake {
  /** The URL the request is for (ws: or wss:). */
  readonly url: URL;
  readonly #checked: CheckedRequestOptions;
  readonly #headers: Record<string, string>;

  constructor(options: ExtendedConnectOptions) {
    const checked = checkRequestOptions(options);
    for (const name of checked.customNames) {
      if (name.charCodeAt(0) === 0x3a || CONNECTION_SPECIFIC.has(name)) {
        throw new TypeError(`Header "${name}" cannot be sent on an HTTP/2 stream`);
      }
    }
    this.#checked = checked;
    const url = checked.url;
    this.url = url;
    const custom = checked.custom;
    let authority = url.host;
    const headers: Record<string, string> = {
      ":method": "CONNECT",
      ":protocol": "websocket",
      ":scheme": url.protocol === "wss:" ? "https" : "http",
      ":path": `${url.pathname || "/"}${url.search}`,
      ":authority": authority,
      "sec-websocket-version": "13",
    };
    if (options.origin !== undefined && !checked.customNames.has("origin")) headers.origin = options.origin;
    if (checked.protocols.length > 0) headers["sec-websocket-protocol"] = checked.protocols.join(", ");
    const offers = extensionOffers(checked.extensions);
    if (offers.length > 0) headers["sec-websocket-extensions"] = offers.join(", ");
    const credentials = basicCredentials(url);
    if (credentials !== undefined && !checked.customNames.has("authorization")) headers.authorization = credentials;
    for (const name of Object.keys(custom)) {
      const lower = asciiLower(name);
      // RFC 9113 8.3.1: :authority carries what Host does in HTTP/1.1.
      if (lower === "host") authority = custom[name]!;
      else headers[lower] = custom[name]!;
    }
    headers[":authority"] = authority;
    this.#headers = headers;
  }

  /** The request's header fields, pseudo-header fields first (a fresh object on every call). */
  headers(): Record<string, string> {
    return { ...this.#headers };
  }

  /** Judge the server's response: its `:status` and header fields. */
  response(status: number, headers: Http2Headers): ExtendedConnectClientResult {
    if (!(status >= 200 && status <= 299)) {
      return {
        ok: false,
        error: new HandshakeError("UNEXPECTED_RESPONSE", `Unexpected server response: ${status}`, { status }),
      };
    }
    const choice = checkServerChoice(
      header(headers, "sec-websocket-protocol"),
      header(headers, "sec-websocket-extensions"),
      this.#checked.protocols,
      this.#checked.extensions,
    );
    if (!choice.ok)
      return { ok: false, error: new HandshakeError("BAD_RESPONSE", choice.message, { cause: choice.cause }) };
    return {
      ok: true,
      protocol: choice.protocol,
      extensions: choice.extensions,
      extensionsHeader: choice.extensionsHeader,
    };
  }
}
