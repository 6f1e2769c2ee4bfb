/**
 * The ActionCable v1 JSON wire protocol, both directions, as spoken by the official
 * `@rails/actioncable` client (src/internal.js, connection.js, subscriptions.js) and Rails' server
 * (action_cable/connection/base.rb, subscriptions.rb, channel/base.rb): JSON text messages over
 * the `actioncable-v1-json` subprotocol. The server sends `welcome`, `ping`,
 * `confirm_subscription`, `reject_subscription`, `disconnect` ({ reason, reconnect }) and
 * channel broadcasts ({ identifier, message }); the client sends `subscribe`, `unsubscribe` and
 * `message` commands ({ command, identifier, data? }), where `identifier` is the JSON of the
 * subscription's params and `data` the JSON of the action payload.
 *
 * The one home of the wire format for the cable server (src/channels) and the consumer
 * (src/client): pure functions, no I/O, nothing of Node (it is in the browser bundle).
 * Parsers never throw on peer input: `parseCommand` returns a command or a {@link CableError}
 * saying why the text is not one; `parseServerMessage` returns null for what is not a message.
 * Encoders build the exact JSON Rails sends, with keys in Rails' order, and splice
 * already-encoded payloads verbatim.
 */
import { CableError } from "./errors.js";
import { type HistoryRequest, isMessageId, PROTOCOL_V1_EXT_JSON, parseHistoryRequest } from "./extensions.js";

/**
 * Subprotocols the client offers, in its order. The last one is a sentinel: offered last so
 * that a server that supports none of ours picks it, and the client can tell (see selectProtocol).
 */
export const CABLE_PROTOCOLS = ["actioncable-v1-json", "actioncable-unsupported"] as const;
export const PROTOCOL_V1_JSON = "actioncable-v1-json";
export const PROTOCOL_UNSUPPORTED = "actioncable-unsupported";
export const DEFAULT_MOUNT_PATH = "/cable";

/** Server message types (ActionCable INTERNAL.message_types). */
export const MessageType = {
  welcome: "welcome",
  disconnect: "disconnect",
  ping: "ping",
  confirmation: "confirm_subscription",
  rejection: "reject_subscription",
} as const;

/** Disconnect reasons (ActionCable INTERNAL.disconnect_reasons). */
export const DisconnectReason = {
  unauthorized: "unauthorized",
  invalidRequest: "invalid_request",
  serverRestart: "server_restart",
  remote: "remote",
} as const;
export type DisconnectReason = (typeof DisconnectReason)[keyof typeof DisconnectReason];

/**
 * Choose the subprotocol. Rails hands its two protocols to websocket-driver, which takes the
 * first of the client's offers that it knows: a client offering only `actioncable-unsupported`
 * gets that one back (the official client then closes without reconnecting: it is how a server
 * tells an old client it no longer speaks its version). We prefer v1-json wherever it appears.
 * No offer at all: no subprotocol, and (like Rails) the connection still proceeds in v1 JSON.
 * A client offering the extensions (extensions.ts; the official client never does) gets them.
 */
export function selectProtocol(offered: readonly string[]): string | null {
  if (offered.includes(PROTOCOL_V1_EXT_JSON)) return PROTOCOL_V1_EXT_JSON;
  if (offered.includes(PROTOCOL_V1_JSON)) return PROTOCOL_V1_JSON;
  if (offered.includes(PROTOCOL_UNSUPPORTED)) return PROTOCOL_UNSUPPORTED;
  return null;
}

export const WELCOME = '{"type":"welcome"}';

export function encodePing(unixSeconds: number): string {
  return `{"type":"ping","message":${unixSeconds}}`;
}

export function encodeDisconnect(reason: DisconnectReason | string, reconnect: boolean): string {
  return `{"type":"disconnect","reason":${JSON.stringify(reason)},"reconnect":${reconnect}}`;
}

/** `identifier` is the client's string, echoed byte for byte (JSON.stringify round-trips it). */
export function encodeConfirm(identifier: string): string {
  return `{"identifier":${JSON.stringify(identifier)},"type":"confirm_subscription"}`;
}

export function encodeReject(identifier: string): string {
  return `{"identifier":${JSON.stringify(identifier)},"type":"reject_subscription"}`;
}

/** A message for one subscription; `messageJson` is already-encoded JSON, spliced as is. */
export function encodeMessage(identifier: string, messageJson: string): string {
  return `{"identifier":${JSON.stringify(identifier)},"message":${messageJson}}`;
}

/**
 * A client command. `history` (subscribe, and the history command) and `id` (message) are the
 * extensions' (extensions.ts): parsed always, acted on only on connections that negotiated them.
 */
export type CableCommand =
  | { command: "subscribe"; identifier: string; params: IdentifierParams; history?: HistoryRequest }
  | { command: "unsubscribe"; identifier: string }
  | { command: "message"; identifier: string; data: Record<string, unknown>; id?: string }
  | { command: "history"; identifier: string; history: HistoryRequest };

/** The decoded identifier: a JSON object with a string `channel`, plus the channel's params. */
export interface IdentifierParams {
  channel: string;
  [key: string]: unknown;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Validate an identifier string: it must decode to a JSON object whose `channel` is a non-empty
 * string. Rails raised on anything else deep inside `safe_constantize`; we report it plainly.
 */
export function parseIdentifier(identifier: unknown): IdentifierParams | CableError {
  if (typeof identifier !== "string" || identifier.length === 0) {
    return new CableError("INVALID_IDENTIFIER", "identifier must be a non-empty string");
  }
  let decoded: unknown;
  try {
    decoded = JSON.parse(identifier);
  } catch {
    return new CableError("INVALID_IDENTIFIER", "identifier is not JSON");
  }
  if (!isPlainObject(decoded)) return new CableError("INVALID_IDENTIFIER", "identifier is not a JSON object");
  if (typeof decoded.channel !== "string" || decoded.channel.length === 0) {
    return new CableError("INVALID_IDENTIFIER", "identifier has no string `channel`");
  }
  return decoded as IdentifierParams;
}

/**
 * A peer's value named in an error message, bounded: a string's first 64 characters, otherwise
 * its type. Never JSON.stringify: it recurses, and 5,000 levels of nested arrays (9 KiB, which
 * JSON.parse accepts) exhaust the stack.
 */
function describeValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.slice(0, 64));
  if (value === null || typeof value !== "object") return String(value);
  return Array.isArray(value) ? "an array" : "an object";
}

/** Parse one text message from the client into a command, or say why it is not one. */
export function parseCommand(text: string): CableCommand | CableError {
  let decoded: unknown;
  try {
    decoded = JSON.parse(text);
  } catch {
    return new CableError("MALFORMED_COMMAND", "command is not JSON");
  }
  if (!isPlainObject(decoded)) return new CableError("MALFORMED_COMMAND", "command is not a JSON object");
  const { command, identifier } = decoded;
  if (command !== "subscribe" && command !== "unsubscribe" && command !== "message" && command !== "history") {
    return new CableError("UNKNOWN_COMMAND", `unrecognized command: ${describeValue(command)}`);
  }
  const params = parseIdentifier(identifier);
  if (params instanceof CableError) return params;
  const id = identifier as string;
  if (command === "subscribe" || command === "history") {
    if (decoded.history === undefined) {
      if (command === "subscribe") return { command, identifier: id, params };
      return new CableError("MALFORMED_COMMAND", "history command without `history`");
    }
    const history = parseHistoryRequest(decoded.history);
    if (history instanceof CableError) return history;
    return command === "subscribe"
      ? { command, identifier: id, params, history }
      : { command, identifier: id, history };
  }
  if (command === "unsubscribe") return { command, identifier: id };
  if (decoded.id !== undefined && !isMessageId(decoded.id)) {
    return new CableError("MALFORMED_COMMAND", "message `id` must be 1-64 characters of [A-Za-z0-9_.:-]");
  }
  // `data` is itself a JSON string (Subscription#send: data: JSON.stringify(data)).
  if (typeof decoded.data !== "string")
    return new CableError("MALFORMED_COMMAND", "message `data` must be a JSON string");
  let data: unknown;
  try {
    data = JSON.parse(decoded.data);
  } catch {
    return new CableError("MALFORMED_COMMAND", "message `data` is not JSON");
  }
  if (!isPlainObject(data)) return new CableError("MALFORMED_COMMAND", "message `data` is not a JSON object");
  return decoded.id === undefined
    ? { command, identifier: id, data }
    : { command, identifier: id, data, id: decoded.id };
}

// ---- client side ---------------------------------------------------------------------------

/**
 * A command as the client sends it: `identifier` and `data` are JSON strings; `history` and `id`
 * only on connections with the extensions (extensions.ts).
 */
export interface Command {
  command: "subscribe" | "unsubscribe" | "message" | "history";
  identifier: string;
  data?: string;
  id?: string;
  history?: HistoryRequest;
}

/** The text of a command, keys in @rails/actioncable's order. */
export function encodeCommand(command: Command): string {
  return JSON.stringify(command);
}

/**
 * One message from the server, after JSON parsing; fields absent where not applicable. The ones
 * after `reconnect` come only with the extensions (extensions.ts) and are unchecked peer data.
 */
export interface ServerMessage {
  type?: string;
  identifier?: string;
  message?: unknown;
  reason?: string;
  reconnect?: boolean;
  features?: unknown;
  streams?: unknown;
  stream_id?: unknown;
  epoch?: unknown;
  offset?: unknown;
  id?: unknown;
  reply?: unknown;
  error?: unknown;
}

/** Parse a server message; null when it is not a JSON object (ignored, as @rails/actioncable does). */
export function parseServerMessage(data: unknown): ServerMessage | null {
  if (typeof data !== "string") return null;
  try {
    const value: unknown = JSON.parse(data);
    return isPlainObject(value) ? (value as ServerMessage) : null;
  } catch {
    return null;
  }
}
