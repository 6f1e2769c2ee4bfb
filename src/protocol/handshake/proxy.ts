/**
 * HTTP CONNECT tunnelling for clients (RFC 9110 section 9.3.6), sans I/O. Contract:
 * `connectRequest` renders the CONNECT request (throws a TypeError/RangeError on an invalid
 * target or header); {@link ProxyResponse} reads the proxy's answer: a 2xx opens the tunnel
 * (bytes after the head are the tunnel's first bytes, `remainder`), anything else is a
 * HandshakeError carrying the proxy's status, headers and (up to 4 KiB of) body, e.g. a 407
 * with `Proxy-Authenticate`. Like {@link ClientHandshake}, `receive` returns null while it
 * needs bytes and `finish()` gives the final answer at EOF.
 */

import { HandshakeError } from "../errors.js";
import { encodeBase64 } from "./base64.js";
import { asciiLower, assertHeader, latin1 } from "./header-tokens.js";
import type { HeadLimits } from "./http-head-parser.js";
import { HttpResponseReader, type ResponseOutcome } from "./http-response-reader.js";

/** Percent-decode URL userinfo; malformed escapes are kept as written. */
function decodeUserinfo(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * `Basic` credentials (RFC 7617) from a URL's userinfo, percent-decoded and UTF-8 encoded, or
 * undefined when the URL has none.
 */
export function basicCredentials(url: URL): string | undefined {
  if (url.username === "" && url.password === "") return undefined;
  const pair = `${decodeUserinfo(url.username)}:${decodeUserinfo(url.password)}`;
  return `Basic ${encodeBase64(new TextEncoder().encode(pair))}`;
}

/** authority-form host: IPv6 literals in brackets (RFC 9112 3.2.3). */
function authorityHost(host: string): string {
  if (host.length === 0) throw new TypeError("Empty CONNECT target host");
  for (let i = 0; i < host.length; i++) {
    const c = host.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f || c === 0x2f || c === 0x40 || c === 0x3f || c === 0x23) {
      throw new TypeError(`Invalid CONNECT target host ${JSON.stringify(host)}`);
    }
  }
  if (host.startsWith("[")) return host;
  return host.includes(":") ? `[${host}]` : host;
}

/** The CONNECT request bytes for `target` through `proxyUrl` (credentials from its userinfo). */
export function connectRequest(
  target: { host: string; port: number },
  proxyUrl: string | URL,
  headers: Record<string, string> = {},
): Uint8Array {
  const url = typeof proxyUrl === "string" ? new URL(proxyUrl) : proxyUrl;
  if (!Number.isInteger(target.port) || target.port < 1 || target.port > 65535) {
    throw new RangeError(`Invalid CONNECT target port ${target.port}`);
  }
  // RFC 9112 3.2.3: CONNECT uses the authority-form; Host carries the same authority.
  const authority = `${authorityHost(target.host)}:${target.port}`;
  let head = `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n`;
  const custom = new Set<string>();
  for (const name of Object.keys(headers)) {
    assertHeader(name, headers[name]);
    custom.add(asciiLower(name));
  }
  const credentials = basicCredentials(url);
  if (credentials !== undefined && !custom.has("proxy-authorization"))
    head += `Proxy-Authorization: ${credentials}\r\n`;
  for (const name of Object.keys(headers)) {
    if (asciiLower(name) === "host") continue;
    head += `${name}: ${headers[name]}\r\n`;
  }
  return latin1(`${head}\r\n`);
}

export type ProxyResult = { ok: true; remainder: Uint8Array } | { ok: false; error: HandshakeError };

/** Reads the proxy's answer to CONNECT. */
export class ProxyResponse {
  #reader: HttpResponseReader;
  #result: ProxyResult | null = null;

  constructor(options: { limits?: HeadLimits; maxErrorBody?: number } = {}) {
    // RFC 9110 9.3.6: "Any 2xx (Successful) response indicates that the sender (and all
    // inbound proxies) will switch to tunnel mode immediately after the response header section".
    this.#reader = new HttpResponseReader(
      (status) => status >= 200 && status < 300,
      options.limits,
      options.maxErrorBody,
    );
  }

  /** Feed bytes from the proxy. null: need more; then the final result (the same one on later calls). */
  receive(bytes: Uint8Array): ProxyResult | null {
    if (this.#result !== null) return this.#result;
    const outcome = this.#reader.push(bytes);
    return outcome === null ? null : this.#settle(outcome);
  }

  /** The proxy closed the connection: the final result with whatever arrived. */
  finish(): ProxyResult {
    return this.#result ?? this.#settle(this.#reader.finish());
  }

  #settle(outcome: ResponseOutcome): ProxyResult {
    let result: ProxyResult;
    if (outcome.kind === "switch") result = { ok: true, remainder: outcome.remainder };
    else if (outcome.kind === "invalid") {
      result = {
        ok: false,
        error: new HandshakeError("BAD_RESPONSE", `Invalid response from the proxy: ${outcome.error.message}`, {
          cause: outcome.error,
        }),
      };
    } else {
      const { head, body } = outcome;
      const status = head.status ?? 0;
      result = {
        ok: false,
        error: new HandshakeError(
          "PROXY_REFUSED",
          `Proxy refused the tunnel: ${status} ${head.statusText ?? ""}`.trimEnd(),
          {
            status,
            response: { status, statusText: head.statusText ?? "", headers: head.rawHeaders, body },
          },
        ),
      };
    }
    this.#result = result;
    return result;
  }
}
