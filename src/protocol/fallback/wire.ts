/**
 * The wire of the HTTP fallback transport (for networks that block WebSockets), shared by the
 * Node server (src/node/fallback) and the browser client (src/client/fallback). Sans I/O.
 *
 * A fallback session carries one WebSocket connection over plain HTTP requests on the
 * WebSocket's own URL (same path, same query: `authenticate` sees what it sees for an upgrade),
 * told apart by the query parameter {@link FALLBACK_PARAM}. Every request is a POST, so that
 * browsers always send `Origin` (they leave it out of same-origin GETs) and the server's origin
 * check means what it means for a WebSocket:
 *
 * - `?wirecable=open&wirecable-protocols=a,b` opens a session and IS its downstream: a
 *   `text/event-stream` response (Server-Sent Events) whose first event is {@link OPEN_EVENT}
 *   (session id, token, subprotocol), then one event per message or control frame the server
 *   sends (see {@link DownEvent}).
 * - `?wirecable=send&wirecable-session=ID&wirecable-offset=N[&wirecable-ack=M]`, header
 *   {@link TOKEN_HEADER}: the upstream. The body is the next bytes of the client's WebSocket
 *   frames (masked, RFC 6455 5.3), a byte stream that starts at offset N: a retried POST is
 *   recognised by its offset and never delivered twice, and a frame may span two POSTs. M is the
 *   number of downstream events received so far (the server forgets what it kept to replay them).
 *   Answers: 204 accepted; 404 no such session (or a wrong token); 409 an offset gap or another
 *   POST of the session still running; 413 body too large; 400 malformed.
 * - `?wirecable=resume&wirecable-session=ID&wirecable-offset=M`, header {@link TOKEN_HEADER}: a
 *   new downstream after the previous one broke (a proxy cut it): the events from index M on
 *   (0 = the first after `open`), then the live ones. Answers 200 (the stream), 404, or 410 when
 *   the events from M are no longer kept (the session is then over).
 */

/** The query parameter that marks a fallback request, and names its operation. */
export const FALLBACK_PARAM = "wirecable";
export const SESSION_PARAM = "wirecable-session";
export const OFFSET_PARAM = "wirecable-offset";
export const ACK_PARAM = "wirecable-ack";
export const PROTOCOLS_PARAM = "wirecable-protocols";
/** The session's secret, in a header (never in the URL, which proxies log). */
export const TOKEN_HEADER = "wirecable-token";
export const EVENT_STREAM = "text/event-stream";

export const FallbackOp = {
  open: "open",
  send: "send",
  resume: "resume",
} as const;
export type FallbackOp = (typeof FallbackOp)[keyof typeof FallbackOp];

/** The first event of a session's stream: its data is {@link OpenInfo} as JSON. */
export const OPEN_EVENT = "open";

/**
 * Downstream event types. A text message without CR goes as the default event ("message"), its
 * lines as `data:` lines; with a CR (which SSE would turn into a line break) as "text", a JSON
 * string. Binary messages and ping payloads are base64; "close" is the server's close frame.
 */
export const DownEvent = {
  message: "message",
  text: "text",
  binary: "binary",
  ping: "ping",
  close: "close",
} as const;

export interface OpenInfo {
  /** The session id: the owning process's name, ".", 128 random bits (base64url). */
  session: string;
  /** The session's secret (128 random bits, base64url): sent back in {@link TOKEN_HEADER}. */
  token: string;
  /** The negotiated subprotocol, "" for none. */
  protocol: string;
}

/** A session id or token: base64url characters and ".", bounded. */
const ID = /^[A-Za-z0-9_.-]{1,100}$/;

export function isWireId(value: unknown): value is string {
  return typeof value === "string" && ID.test(value);
}

/** The `open` event's data, or null if it is not one. */
export function parseOpenInfo(data: string): OpenInfo | null {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return null;
  }
  const info = value as Partial<OpenInfo> | null;
  if (typeof info !== "object" || info === null) return null;
  if (!isWireId(info.session) || !isWireId(info.token) || typeof info.protocol !== "string") return null;
  return { session: info.session, token: info.token, protocol: info.protocol };
}

/** The `close` event's data: `{"code":1000,"reason":"..."}`. */
export function parseCloseInfo(data: string): { code: number; reason: string } | null {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return null;
  }
  const info = value as { code?: unknown; reason?: unknown } | null;
  if (typeof info !== "object" || info === null) return null;
  if (typeof info.code !== "number" || !Number.isInteger(info.code) || typeof info.reason !== "string") return null;
  return { code: info.code, reason: info.reason };
}

/**
 * The fallback URL of a WebSocket URL: ws(s) becomes http(s), the fragment goes, and the
 * fallback parameters are appended to the query, whose own parameters stay byte for byte.
 */
export function fallbackUrl(url: string, params: Record<string, string | number>): string {
  const target = new URL(url);
  if (target.protocol === "ws:") target.protocol = "http:";
  else if (target.protocol === "wss:") target.protocol = "https:";
  target.hash = "";
  let extra = "";
  for (const [name, value] of Object.entries(params)) {
    extra += `${extra === "" ? "" : "&"}${encodeURIComponent(name)}=${encodeURIComponent(String(value))}`;
  }
  const href = target.href;
  return `${href}${target.search === "" ? (href.endsWith("?") ? "" : "?") : "&"}${extra}`;
}
