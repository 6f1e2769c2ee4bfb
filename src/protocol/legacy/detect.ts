/**
 * Which protocol an opening handshake speaks: RFC 6455 ("hybi"), or one of the legacy drafts
 * draft-hixie-thewebsocketprotocol-75 and -76 (Safari 5.0, Chrome 4-13, Firefox 4 beta era).
 *
 * Contract: `detectDraft(request)` only looks at headers; it never throws. It returns null when
 * the request is not a WebSocket upgrade at all (no `Upgrade: WebSocket` or no `Connection`
 * token `Upgrade`), so the caller can answer it as plain HTTP.
 */

/**
 * A parsed request, the same shape as `HandshakeRequest` in docs/contracts.md: header names
 * lowercased (a Map, or Node's `IncomingMessage.headers` record).
 */
export interface HixieRequest {
  readonly method: string;
  readonly target: string;
  readonly httpVersion: string;
  readonly headers: ReadonlyMap<string, string> | Readonly<Record<string, string | string[] | undefined>>;
}

export type DetectedDraft = "hixie-75" | "hixie-76" | "hybi";

/** One header's value (lowercased name), repeated headers joined with ", " as in HttpHead. */
export function getHeader(request: HixieRequest, name: string): string | undefined {
  const headers = request.headers;
  if (headers instanceof Map) return headers.get(name);
  const value = (headers as Readonly<Record<string, string | string[] | undefined>>)[name];
  return Array.isArray(value) ? value.join(", ") : value;
}

/** True if the comma-separated header value contains `token` (ASCII case-insensitive). */
export function hasToken(value: string | undefined, token: string): boolean {
  if (value === undefined) return false;
  for (const part of value.split(",")) {
    if (part.trim().toLowerCase() === token) return true;
  }
  return false;
}

export function detectDraft(request: HixieRequest): DetectedDraft | null {
  // Both drafts: "Upgrade: WebSocket" and "Connection: Upgrade" (RFC 6455
  // clients send "websocket"; the match is case-insensitive in every version).
  if (!hasToken(getHeader(request, "upgrade"), "websocket")) return null;
  if (!hasToken(getHeader(request, "connection"), "upgrade")) return null;
  // RFC 6455 4.1: every hybi client sends Sec-WebSocket-Key (and Sec-WebSocket-Version).
  if (getHeader(request, "sec-websocket-key") !== undefined) return "hybi";
  if (getHeader(request, "sec-websocket-version") !== undefined) return "hybi";
  // draft-76: the client sends Sec-WebSocket-Key1 and Sec-WebSocket-Key2 (one without the
  // other is still draft-76, and fails its handshake).
  if (
    getHeader(request, "sec-websocket-key1") !== undefined ||
    getHeader(request, "sec-websocket-key2") !== undefined
  ) {
    return "hixie-76";
  }
  return "hixie-75";
}
