/**
 * The engine's events delivered to a connection's listeners (the connection's EngineHost
 * `dispatch` hands them over after its own bookkeeping: timers, rate limit, close).
 *
 * Contract: a whole message becomes `message` (text as a string, or with `textAsBuffer` as a
 * Buffer of its UTF-8 bytes; binary as a Buffer) unless it exceeds the rate limit (`bucket`: the
 * connection fails with 1008, RATE_LIMITED); ping, pong, open and closing become their
 * events; an engine error becomes `error`. A listener that throws is reported as `error` and
 * fails only this connection (RFC 6455 7.4.1: 1011); nothing thrown leaves this function.
 */
import { ProtocolError } from "../protocol/errors.js";
import type { EngineEvent } from "../protocol/types.js";
import type { AnyConnection } from "./connection.js";
import type { ConnectionEvents } from "./connection-types.js";
import { asBuffer } from "./output-buffers.js";
import type { TokenBucket } from "./rate-limiter.js";
import { emitSafe, emitTwo } from "./shaped-emitter.js";
import { wheel } from "./timer-wheel.js";

export function deliver(
  conn: AnyConnection,
  event: Exclude<EngineEvent, { type: "close" }>,
  textAsBuffer: boolean,
  bucket: TokenBucket | undefined,
): void {
  switch (event.type) {
    case "text":
    case "binary":
      if (bucket !== undefined && !bucket.take(wheel.now)) {
        conn.fail(new ProtocolError("RATE_LIMITED", "rate limit exceeded"));
        return;
      }
      try {
        if (event.type === "text") emitTwo(conn, "message", textAsBuffer ? asBuffer(event.bytes) : event.data, false);
        else emitTwo(conn, "message", asBuffer(event.data), true);
      } catch (error) {
        handlerFailed(conn, error);
      }
      return;
    case "ping":
      emitOrFail(conn, "ping", asBuffer(event.data));
      return;
    case "pong":
      emitOrFail(conn, "pong", asBuffer(event.data));
      return;
    case "open":
      emitOrFail(conn, "open");
      return;
    case "closing":
      emitOrFail(conn, "closing", event.code, event.reason);
      return;
    case "error":
      emitSafe(conn, "error", event.error);
      return;
  }
}

/**
 * A text message as its string (the engine's `dispatchText`), as `deliver` would. Only a
 * connection without a rate limit gets here (connection-engine.ts startEngine: the string is
 * decoded before this call, and a refused message must not be); `track`: the message is the
 * connection's last activity (idle timeout).
 */
export function deliverText(conn: AnyConnection, data: string, track: boolean): void {
  if (track) conn.lastMessage = wheel.now;
  try {
    emitTwo(conn, "message", data, false);
  } catch (error) {
    handlerFailed(conn, error);
  }
}

function emitOrFail<E extends keyof ConnectionEvents>(
  conn: AnyConnection,
  name: E,
  ...args: ConnectionEvents[E]
): void {
  try {
    conn.emit(name, ...args);
  } catch (error) {
    handlerFailed(conn, error);
  }
}

/** A user handler threw: report it and close this connection only (RFC 6455 7.4.1: 1011). */
function handlerFailed(conn: AnyConnection, error: unknown): void {
  const err = error instanceof Error ? error : new Error(String(error));
  emitSafe(conn, "error", err);
  conn.fail(err);
}
