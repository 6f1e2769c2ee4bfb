/**
 * The client side of the RFC 6455 opening handshake (section 4.1), sans I/O. Contract:
 * the constructor validates the options (TypeError naming the culprit) and draws the key;
 * `request()` returns the GET request bytes; `receive(bytes)` is fed the server's bytes and
 * returns null while it needs more, then the final result exactly once (later calls return
 * the same result and ignore their bytes); `finish()` is called by the I/O layer at EOF and
 * always returns a final result. Nothing here throws because of the server's bytes.
 *
 * Results:
 * - `{ ok: true, protocol, extensions, extensionsHeader, remainder }`: 101 and every check
 *   passed; `remainder` holds frames that arrived with the response.
 * - `{ ok: false, error }` where `error.status` is the server's status when it answered with
 *   anything but 101 (`error.response` then has its status, statusText, raw headers and up to
 *   DEFAULT_MAX_ERROR_BODY bytes of body: enough to report, follow a `Location` or answer a
 *   `WWW-Authenticate`), and 502 when the answer was invalid (malformed or oversized head,
 *   a failed RFC 6455 4.1 check; `response` is set when a head was parsed).
 *
 * Non-101 bodies: the result waits for Content-Length bytes, the end of a chunked body, or
 * EOF when the body has no length (then the I/O layer must call `finish()` when the socket
 * closes), at most DEFAULT_MAX_ERROR_BODY bytes. Interim 1xx answers are skipped.
 *
 * Decisions: a URL's userinfo becomes `Authorization: Basic` unless the caller sets one; a
 * custom `Host` or `Origin` header replaces ours; the handshake's own headers (Upgrade,
 * Connection, Sec-WebSocket-*) cannot be set as custom headers. A fragment in the URL is
 * ignored (RFC 6455 3: fragments are meaningless for WebSocket URIs).
 */

import { HandshakeError } from "../errors.js";
import type { ClientExtension, ExtensionSession } from "../extensions/extension.js";
import { parseExtensions, renderExtension } from "../extensions/extension-header.js";
import { encodeBase64 } from "./base64.js";
import { asciiLower, assertHeader, isToken, latin1, listHasToken, trimOws } from "./header-tokens.js";
import type { HeadLimits, HttpHead } from "./http-head-parser.js";
import { HttpResponseReader, type ResponseOutcome } from "./http-response-reader.js";
import { basicCredentials } from "./proxy.js";
import { computeAccept } from "./server-handshake.js";

export interface ClientHandshakeOptions {
  url: string | URL;
  origin?: string;
  protocols?: string[];
  extensions?: ClientExtension[];
  headers?: Record<string, string>;
  /** Key entropy (fills the array). Default `crypto.getRandomValues`. */
  randomFill?: (b: Uint8Array) => void;
  limits?: HeadLimits;
  /** Max bytes of a non-101 body kept for the error. Default DEFAULT_MAX_ERROR_BODY (4 KiB). */
  maxErrorBody?: number;
}

export type ClientHandshakeResult =
  | { ok: true; protocol: string; extensions: ExtensionSession[]; extensionsHeader: string; remainder: Uint8Array }
  | { ok: false; error: HandshakeError };

const RESERVED_REQUEST_HEADERS = new Set([
  "upgrade",
  "connection",
  "sec-websocket-key",
  "sec-websocket-version",
  "sec-websocket-accept",
  "sec-websocket-protocol",
  "sec-websocket-extensions",
  "content-length",
  "transfer-encoding",
]);

const defaultRandomFill = (b: Uint8Array): void => {
  crypto.getRandomValues(b);
};

/** The server's answer is not a valid upgrade (502, BAD_RESPONSE): what it said is kept. */
function failed(message: string, head?: HttpHead, cause?: unknown): ClientHandshakeResult {
  const response =
    head === undefined
      ? undefined
      : {
          status: head.status ?? 0,
          statusText: head.statusText ?? "",
          headers: head.rawHeaders,
          body: new Uint8Array(0),
        };
  return { ok: false, error: new HandshakeError("BAD_RESPONSE", message, { response, cause }) };
}

/** A client's request options, checked by {@link checkRequestOptions}. */
export interface CheckedRequestOptions {
  /** The URL, ws: or wss: (http(s) mapped), without fragment. */
  url: URL;
  protocols: string[];
  extensions: ClientExtension[];
  custom: Record<string, string>;
  /** The custom header names, lowercased. */
  customNames: Set<string>;
}

/**
 * Check what a client's opening request is made of, for RFC 6455 4.1 and RFC 8441 alike:
 * the URL scheme and host, the subprotocols (tokens, unique), the custom headers (valid, none
 * the handshake sets itself) and the origin. Throws a TypeError naming the culprit.
 */
export function checkRequestOptions(
  options: Pick<ClientHandshakeOptions, "url" | "origin" | "protocols" | "extensions" | "headers">,
): CheckedRequestOptions {
  const url = new URL(typeof options.url === "string" ? options.url : options.url.href);
  // WHATWG WebSockets: http(s) URLs are accepted as ws(s).
  if (url.protocol === "http:") url.protocol = "ws:";
  else if (url.protocol === "https:") url.protocol = "wss:";
  if (url.protocol !== "ws:" && url.protocol !== "wss:") {
    throw new TypeError(`Invalid WebSocket URL scheme "${url.protocol}": expected ws: or wss:`);
  }
  if (url.hostname === "") throw new TypeError("The WebSocket URL has no host");
  url.hash = "";

  const protocols = options.protocols ?? [];
  const seen = new Set<string>();
  for (const p of protocols) {
    // RFC 6455 4.1 (10): each subprotocol is a token, and elements MUST be unique.
    if (typeof p !== "string" || !isToken(p)) throw new TypeError(`Invalid subprotocol ${JSON.stringify(p)}`);
    if (seen.has(p)) throw new TypeError(`Duplicate subprotocol "${p}"`);
    seen.add(p);
  }

  const custom = options.headers ?? {};
  const customNames = new Set<string>();
  for (const name of Object.keys(custom)) {
    assertHeader(name, custom[name]);
    const lower = asciiLower(name);
    if (RESERVED_REQUEST_HEADERS.has(lower)) {
      throw new TypeError(`Header "${name}" is set by the handshake and cannot be given as a custom header`);
    }
    customNames.add(lower);
  }
  if (options.origin !== undefined) assertHeader("Origin", options.origin);
  return { url, protocols: protocols.slice(), extensions: (options.extensions ?? []).slice(), custom, customNames };
}

/** The Sec-WebSocket-Extensions offers of `extensions`, rendered, in order. */
export function extensionOffers(extensions: readonly ClientExtension[]): string[] {
  const offers: string[] = [];
  for (const ext of extensions) for (const params of ext.offers()) offers.push(renderExtension(ext.name, params));
  return offers;
}

export class ClientHandshake {
  /** The Sec-WebSocket-Key sent (base64 of 16 random bytes). */
  readonly key: string;
  /** The URL the request is for (ws: or wss:). */
  readonly url: URL;
  readonly #request: Uint8Array;
  readonly #protocols: readonly string[];
  readonly #extensions: readonly ClientExtension[];
  readonly #reader: HttpResponseReader;
  #result: ClientHandshakeResult | null = null;

  constructor(options: ClientHandshakeOptions) {
    const { url, protocols, extensions, custom, customNames } = checkRequestOptions(options);
    this.url = url;
    this.#protocols = protocols;
    this.#extensions = extensions;

    // RFC 6455 4.1 (7): "a randomly selected 16-byte value that has been base64-encoded".
    const nonce = new Uint8Array(16);
    (options.randomFill ?? defaultRandomFill)(nonce);
    this.key = encodeBase64(nonce);

    const offers = extensionOffers(extensions);

    // RFC 6455 4.1 (2)-(12). url.host already omits the scheme's default port and brackets IPv6.
    const lines = [`GET ${url.pathname || "/"}${url.search} HTTP/1.1`];
    if (!customNames.has("host")) lines.push(`Host: ${url.host}`);
    lines.push(
      "Upgrade: websocket",
      "Connection: Upgrade",
      `Sec-WebSocket-Key: ${this.key}`,
      "Sec-WebSocket-Version: 13",
    );
    if (options.origin !== undefined && !customNames.has("origin")) lines.push(`Origin: ${options.origin}`);
    if (protocols.length > 0) lines.push(`Sec-WebSocket-Protocol: ${protocols.join(", ")}`);
    if (offers.length > 0) lines.push(`Sec-WebSocket-Extensions: ${offers.join(", ")}`);
    const credentials = basicCredentials(url);
    if (credentials !== undefined && !customNames.has("authorization")) lines.push(`Authorization: ${credentials}`);
    for (const name of Object.keys(custom)) lines.push(`${name}: ${custom[name]}`);
    this.#request = latin1(`${lines.join("\r\n")}\r\n\r\n`);

    this.#reader = new HttpResponseReader((status) => status === 101, options.limits, options.maxErrorBody);
  }

  /** The GET request bytes to write (the same bytes on every call). */
  request(): Uint8Array {
    return this.#request;
  }

  /** Feed bytes from the server. null: need more; then the final result. */
  receive(bytes: Uint8Array): ClientHandshakeResult | null {
    if (this.#result !== null) return this.#result;
    const outcome = this.#reader.push(bytes);
    return outcome === null ? null : this.#settle(outcome);
  }

  /** The connection ended (EOF or error): the final result with whatever arrived. */
  finish(): ClientHandshakeResult {
    return this.#result ?? this.#settle(this.#reader.finish());
  }

  #settle(outcome: ResponseOutcome): ClientHandshakeResult {
    let result: ClientHandshakeResult;
    if (outcome.kind === "invalid") {
      result = failed(`Invalid handshake response: ${outcome.error.message}`, undefined, outcome.error);
    } else if (outcome.kind === "answer") {
      // RFC 6455 4.1: "If the status code received from the server is not 101, the client
      // handles the response per HTTP procedures" (authentication, redirects...).
      const { head, body } = outcome;
      const status = head.status ?? 0;
      result = {
        ok: false,
        error: new HandshakeError(
          "UNEXPECTED_RESPONSE",
          `Unexpected server response: ${status} ${head.statusText ?? ""}`.trimEnd(),
          {
            status,
            response: { status, statusText: head.statusText ?? "", headers: head.rawHeaders, body },
          },
        ),
      };
    } else {
      result = this.#validate(outcome.head, outcome.remainder);
    }
    this.#result = result;
    return result;
  }

  /** RFC 6455 4.1, the client's checks of a 101 response. */
  #validate(head: HttpHead, remainder: Uint8Array): ClientHandshakeResult {
    const h = head.headers;
    // (2) "If the response lacks an |Upgrade| header field or the |Upgrade| header field contains
    // a value that is not an ASCII case-insensitive match for the value "websocket"..."
    const upgrade = h.get("upgrade");
    if (upgrade === undefined || asciiLower(trimOws(upgrade)) !== "websocket") {
      return failed("Invalid Upgrade header in the server's response: expected websocket", head);
    }
    // (3) "...the |Connection| header field doesn't contain a token that is an ASCII
    // case-insensitive match for the value "Upgrade"..."
    if (!listHasToken(h.get("connection"), "upgrade")) {
      return failed("Invalid Connection header in the server's response: expected Upgrade", head);
    }
    // (4) Sec-WebSocket-Accept, "ignoring any leading and trailing whitespace".
    const accept = h.get("sec-websocket-accept");
    if (accept === undefined || trimOws(accept) !== computeAccept(this.key)) {
      return failed("Missing or mismatched Sec-WebSocket-Accept in the server's response", head);
    }
    const choice = checkServerChoice(
      h.get("sec-websocket-protocol"),
      h.get("sec-websocket-extensions"),
      this.#protocols,
      this.#extensions,
    );
    if (!choice.ok) return failed(choice.message, head, choice.cause);
    const { protocol, extensions: sessions, extensionsHeader } = choice;
    return { ok: true, protocol, extensions: sessions, extensionsHeader, remainder };
  }
}

/** What the server chose, as {@link checkServerChoice} found it. */
export type ServerChoice =
  | { ok: true; protocol: string; extensions: ExtensionSession[]; extensionsHeader: string }
  | { ok: false; message: string; cause?: unknown };

/**
 * RFC 6455 4.1 (5) and (6), shared with RFC 8441 (which uses these header fields "as defined in
 * RFC 6455"): the subprotocol the server selected must have been offered, and each extension
 * it accepted offered, accepted once, and accepted by its extension. On failure, the sessions
 * already created are closed.
 */
export function checkServerChoice(
  protocolHeader: string | undefined,
  extensionsValue: string | undefined,
  offered: readonly string[],
  extensions: readonly ClientExtension[],
): ServerChoice {
  // (6) "If the response includes a |Sec-WebSocket-Protocol| header field and this header field
  // indicates the use of a subprotocol that was not present in the client's handshake..."
  // A missing header is allowed: the server chose no subprotocol (protocol "").
  let protocol = "";
  if (protocolHeader !== undefined) {
    protocol = trimOws(protocolHeader);
    if (offered.length === 0) return { ok: false, message: "The server selected a subprotocol but none was requested" };
    if (!offered.includes(protocol)) {
      return {
        ok: false,
        message: `The server selected a subprotocol that was not offered: ${JSON.stringify(protocol)}`,
      };
    }
  }
  // (5) Extensions: each must have been offered, at most once, and accepted by its extension.
  const extensionsHeader = extensionsValue === undefined ? "" : trimOws(extensionsValue);
  const sessions: ExtensionSession[] = [];
  if (extensionsHeader !== "") {
    const parsed = parseExtensions(extensionsHeader);
    if (parsed === null)
      return { ok: false, message: "Invalid Sec-WebSocket-Extensions header in the server's response" };
    const used = { rsv1: false, rsv2: false, rsv3: false };
    const names = new Set<string>();
    for (const element of parsed) {
      const ext = extensions.find((e) => e.name === element.name);
      let problem: string | undefined;
      let cause: unknown;
      if (ext === undefined) problem = `The server accepted an extension that was not offered: "${element.name}"`;
      else if (names.has(element.name)) problem = `The server accepted the extension "${element.name}" twice`;
      else {
        try {
          const session = ext.accept(element);
          if ((session.rsv1 && used.rsv1) || (session.rsv2 && used.rsv2) || (session.rsv3 && used.rsv3)) {
            session.close?.();
            problem = `The extension "${element.name}" uses an RSV bit already in use`;
          } else {
            used.rsv1 ||= session.rsv1 === true;
            used.rsv2 ||= session.rsv2 === true;
            used.rsv3 ||= session.rsv3 === true;
            sessions.push(session);
            names.add(element.name);
          }
        } catch (err) {
          cause = err;
          problem = `The extension "${element.name}" refused the server's answer: ${err instanceof Error ? err.message : String(err)}`;
        }
      }
      if (problem !== undefined) {
        for (const s of sessions) {
          try {
            s.close?.();
          } catch {
            // best effort
          }
        }
        return { ok: false, message: problem, cause };
      }
    }
  }
  return { ok: true, protocol, extensions: sessions, extensionsHeader };
}
