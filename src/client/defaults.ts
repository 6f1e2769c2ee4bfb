/**
 * Defaults and small helpers of the reconnecting client: which WebSocket constructor to use,
 * which closes end reconnection, option checks. No platform access beyond `globalThis`.
 */
import type { CloseInfo, WebSocketConstructorLike } from "./types.js";

let defaultWebSocket: WebSocketConstructorLike | undefined;

/**
 * Set the constructor used when neither the `WebSocket` option nor `globalThis.WebSocket` is
 * available (the Node entry point registers wirecable's own WebSocket).
 */
export function setDefaultWebSocket(ctor: WebSocketConstructorLike | undefined): void {
  defaultWebSocket = ctor;
}

/** Default `shouldReconnect`: not after 1008 (policy violation) nor application codes 4000-4999. */
export function defaultShouldReconnect(close: CloseInfo): boolean {
  return close.code !== 1008 && !(close.code >= 4000 && close.code <= 4999);
}

export function resolveWebSocket(option: WebSocketConstructorLike | undefined): WebSocketConstructorLike {
  const ctor =
    option ?? defaultWebSocket ?? (globalThis as { WebSocket?: WebSocketConstructorLike }).WebSocket ?? undefined;
  if (typeof ctor !== "function") {
    throw new TypeError(
      "wirecable/client: no WebSocket implementation available. Pass one with the `WebSocket` option, " +
        "e.g. `new ReconnectingWebSocket(url, { WebSocket })` with WebSocket from 'wirecable' or 'ws' " +
        "(Node < 22 has no global WebSocket).",
    );
  }
  return ctor;
}

export function nonNegative(name: string, value: number): number {
  if (!(value >= 0)) throw new RangeError(`${name} must be a number >= 0, got ${value}`);
  return value;
}

export function isPromiseLike<T>(value: unknown): value is PromiseLike<T> {
  return typeof (value as PromiseLike<T> | null)?.then === "function";
}

export function errorOf(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
