/**
 * The ActionCable wire protocol, as spoken by @rails/actioncable 8 (src/internal.js,
 * connection.js, subscriptions.js): JSON text messages over the `actioncable-v1-json`
 * subprotocol. The server sends `welcome`, `ping` (every 3 s), `confirm_subscription`,
 * `reject_subscription`, `disconnect` ({ reason, reconnect }) and channel broadcasts
 * ({ identifier, message }); the client sends `subscribe`, `unsubscribe` and `message`
 * commands ({ command, identifier, data? }), where `identifier` is the JSON of the
 * subscription's params and `data` the JSON of the action payload.
 */

export const CABLE_PROTOCOL = "actioncable-v1-json";
/** Offered last so that a server that supports none of ours picks it, and we can tell. */
export const CABLE_UNSUPPORTED = "actioncable-unsupported";

export const MessageType = {
  WELCOME: "welcome",
  DISCONNECT: "disconnect",
  PING: "ping",
  CONFIRMATION: "confirm_subscription",
  REJECTION: "reject_subscription",
} as const;

/** `disconnect` reasons sent by Rails. */
export const DisconnectReason = {
  UNAUTHORIZED: "unauthorized",
  INVALID_REQUEST: "invalid_request",
  SERVER_RESTART: "server_restart",
  REMOTE: "remote",
} as const;

/** One message from the server, after JSON parsing; fields absent where not applicable. */
export interface ServerMessage {
  type?: string;
  identifier?: string;
  message?: unknown;
  reason?: string;
  reconnect?: boolean;
}

export interface Command {
  command: "subscribe" | "unsubscribe" | "message";
  identifier: string;
  data?: string;
}

/** Parse a server frame; null when it is not a JSON object (ignored, like ActionCable would choke). */
export function parseServerMessage(data: unknown): ServerMessage | null {
  if (typeof data !== "string") return null;
  try {
    const value: unknown = JSON.parse(data);
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as ServerMessage) : null;
  } catch {
    return null;
  }
}
