/**
 * The opt-in extensions of the ActionCable wire (docs/channels.md, "Delivery guarantees"):
 * acknowledgements, resumable streams (history) and presence, both directions.
 *
 * Contract:
 * - They exist only on connections that negotiated the subprotocol `actioncable-v1-ext-json`
 *   (AnyCable's name for its extended protocol; the history messages keep AnyCable's shapes:
 *   `stream_id`/`epoch`/`offset` on broadcasts, the `history` command, `confirm_history` and
 *   `reject_history`). The official `@rails/actioncable` client never offers it, so it never sees
 *   any of this: its connections get exactly Rails' protocol (protocol.ts).
 * - Server -> client: `welcome` with `features`; `confirm_subscription` with the starting
 *   `streams` positions of streams that keep history; stamped broadcasts; `confirm_history` /
 *   `reject_history` (with the `streams` that could not be resumed, their current position and
 *   why); `ack` (`id` with `reply` or `error`); `presence` (`message`: `info` or `update`).
 * - Client -> server: `subscribe` and `history` with `history.streams` (the last position seen per
 *   stream); `message` with an `id` to be acknowledged.
 * - Like protocol.ts: pure functions, no I/O, nothing of Node; parsers never throw on peer input.
 */
import { CableError } from "./errors.js";

export const PROTOCOL_V1_EXT_JSON = "actioncable-v1-ext-json";

/** What a server speaking the extensions can do, listed in its `welcome`. */
export const Feature = { acks: "acks", history: "history", presence: "presence" } as const;
export type Feature = (typeof Feature)[keyof typeof Feature];

/** Extension message types (server -> client). */
export const ExtMessageType = {
  confirmHistory: "confirm_history",
  rejectHistory: "reject_history",
  ack: "ack",
  presence: "presence",
} as const;

/** A place in a stream's history: its epoch and the offset of the last message seen. */
export interface WirePosition {
  readonly epoch: string;
  readonly offset: number;
}

/** A stream that could not be resumed: where it is now, and why (`epoch` or `too_old`). */
export interface WireResync extends WirePosition {
  readonly reason: string;
}

/** `history` of a subscribe or history command. */
export interface HistoryRequest {
  readonly streams: Readonly<Record<string, WirePosition>>;
}

/** Streams named in one history request, at most (a subscription streams from a handful). */
export const MAX_HISTORY_STREAMS = 256;
const MAX_STREAM_NAME = 1024;
const MAX_EPOCH = 64;
/** Command ids: 1-64 characters of [A-Za-z0-9_.:-]. */
const MESSAGE_ID = /^[A-Za-z0-9_.:-]{1,64}$/;

const id = (identifier: string) => `{"identifier":${JSON.stringify(identifier)}`;

export function encodeWelcomeExt(features: readonly Feature[]): string {
  return `{"type":"welcome","features":${JSON.stringify(features)}}`;
}

/** confirm_subscription with the positions the subscription starts from (none: Rails' message). */
export function encodeConfirmExt(identifier: string, streams: Readonly<Record<string, WirePosition>>): string {
  return `${id(identifier)},"type":"confirm_subscription","streams":${encodePositions(streams)}}`;
}

/** A broadcast with its position (`messageJson` spliced as is). */
export function encodeStampedMessage(
  identifier: string,
  messageJson: string,
  stream: string,
  position: WirePosition,
): string {
  return `${id(identifier)},"message":${messageJson},"stream_id":${JSON.stringify(stream)},"epoch":${JSON.stringify(position.epoch)},"offset":${position.offset}}`;
}

export function encodeConfirmHistory(identifier: string): string {
  return `${id(identifier)},"type":"confirm_history"}`;
}

export function encodeRejectHistory(identifier: string, streams: Readonly<Record<string, WireResync>>): string {
  const parts = Object.entries(streams).map(
    ([name, s]) =>
      `${JSON.stringify(name)}:{"epoch":${JSON.stringify(s.epoch)},"offset":${s.offset},"reason":${JSON.stringify(s.reason)}}`,
  );
  return `${id(identifier)},"type":"reject_history","streams":{${parts.join(",")}}}`;
}

/** An acknowledgement; `outcomeJson` is `{"reply":…}` or `{"error":{"code":…,"message":…}}`, spliced. */
export function encodeAck(identifier: string, messageId: string, outcomeJson: string): string {
  return `${id(identifier)},"type":"ack","id":${JSON.stringify(messageId)},${outcomeJson.slice(1)}`;
}

/** The outcome of an action: its return value (undefined: null). */
export function replyOutcome(reply: unknown): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(reply === undefined ? null : reply);
  } catch {
    json = undefined;
  }
  return json === undefined ? errorOutcome("HANDLER_ERROR", "reply is not JSON") : `{"reply":${json}}`;
}

export function errorOutcome(code: string, message: string): string {
  return `{"error":{"code":${JSON.stringify(code)},"message":${JSON.stringify(message)}}}`;
}

/** A presence message (`messageJson`: `{"type":"info",…}` or `{"type":"update",…}`, spliced). */
export function encodePresence(identifier: string, messageJson: string): string {
  return `${id(identifier)},"type":"presence","message":${messageJson}}`;
}

function encodePositions(streams: Readonly<Record<string, WirePosition>>): string {
  const parts = Object.entries(streams).map(
    ([name, p]) => `${JSON.stringify(name)}:{"epoch":${JSON.stringify(p.epoch)},"offset":${p.offset}}`,
  );
  return `{${parts.join(",")}}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A position sent by a peer, or undefined when it is not one. */
export function parsePosition(value: unknown): WirePosition | undefined {
  if (!isPlainObject(value)) return undefined;
  const { epoch, offset } = value;
  if (typeof epoch !== "string" || epoch.length > MAX_EPOCH) return undefined;
  if (typeof offset !== "number" || !Number.isSafeInteger(offset) || offset < 0) return undefined;
  return { epoch, offset };
}

/** The `history` of a command: `{ streams: { name: { epoch, offset } } }`, bounded. */
export function parseHistoryRequest(value: unknown): HistoryRequest | CableError {
  const bad = (why: string) => new CableError("MALFORMED_COMMAND", `history request: ${why}`);
  if (!isPlainObject(value)) return bad("not an object");
  const streams = value.streams ?? {};
  if (!isPlainObject(streams)) return bad("`streams` is not an object");
  const names = Object.keys(streams);
  if (names.length > MAX_HISTORY_STREAMS) return bad(`more than ${MAX_HISTORY_STREAMS} streams`);
  const out: Record<string, WirePosition> = Object.create(null);
  for (const name of names) {
    if (name.length > MAX_STREAM_NAME) return bad("stream name too long");
    const position = parsePosition(streams[name]);
    if (position === undefined) return bad("a position is not {epoch, offset}");
    out[name] = position;
  }
  return { streams: out };
}

export function isMessageId(value: unknown): value is string {
  return typeof value === "string" && MESSAGE_ID.test(value);
}
