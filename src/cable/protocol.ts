/**
 * The ActionCable v1 JSON wire protocol, as spoken by the official `@rails/actioncable` client
 * (src/internal.js, connection.js, subscriptions.js) and Rails' server
 * (action_cable/connection/base.rb, subscriptions.rb, channel/base.rb).
 *
 * Contract: pure functions, no I/O. `parseCommand` never throws on peer input: it returns either
 * a command or a {@link CableError} describing why the text is not one. Encoders build the exact
 * JSON Rails sends, with keys in Rails' order, and splice already-encoded payloads verbatim.
 */
import { CableError } from "./errors.js";

/** Subprotocols the client offers, in its order. The last one is a sentinel (see selectProtocol). */
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
 */
export function selectProtocol(offered: readonly string[]): string | null {
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

export type CableCommand =
  | { command: "subscribe"; identifier: string; params: IdentifierParams }
  | { command: "unsubscribe"; identifier: string }
  | { command: "message"; identifier: string; data: Record<string, unknown> };

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
  if (command !== "subscribe" && command !== "unsubscribe" && command !== "message") {
    return new CableError("UNKNOWN_COMMAND", `unrecognized command: ${JSON.stringify(command)?.slice(0, 64)}`);
  }
  const params = parseIdentifier(identifier);
  if (params instanceof CableError) return params;
  const id = identifier as string;
  if (command === "subscribe") return { command, identifier: id, params };
  if (command === "unsubscribe") return { command, identifier: id };
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
  return { command, identifier: id, data };
}
