/**
 * Public types of the isomorphic reconnecting client. Contract: nothing here touches the
 * platform; the client only needs a WHATWG-shaped WebSocket constructor (the browser's, ours
 * from `wirecable` in Node, or `ws`) and a clock, both injectable.
 */

/** The smallest WHATWG WebSocket surface the client relies on. */
export interface WebSocketLike {
  readonly readyState: number;
  readonly protocol: string;
  readonly bufferedAmount?: number;
  binaryType?: string;
  send(data: string | ArrayBufferLike | ArrayBufferView | Blob): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: string, listener: SocketListener): void;
  removeEventListener(type: string, listener: SocketListener): void;
}

/** Listener type at the platform boundary: DOM, ws and wirecable each type their events differently. */
// biome-ignore lint/suspicious/noExplicitAny: the event types of DOM, ws and wirecable sockets differ.
export type SocketListener = (event: any) => void;

/** `new WebSocket(url, protocols)`, as in browsers. */
export type WebSocketConstructorLike = new (url: string, protocols?: string | string[]) => WebSocketLike;

/** "websocket": the WebSocket; "sse": WebSocket sessions over HTTP (an event stream down, POSTs up). */
export type TransportName = "websocket" | "sse";

/** When a client falls back from the WebSocket to the HTTP transport (docs/fallback.md). */
export interface FallbackPolicy {
  /** A WebSocket attempt not open after this long (ms) falls back at once. Default 4 000; 0: only on failure. */
  timeout?: number;
  /** How long a fallback that worked is used without trying the WebSocket, ms. Default 600 000. */
  remember?: number;
  /** The fetch the fallback uses. Default `globalThis.fetch`. */
  fetch?: typeof fetch;
}

/** Time and entropy, injectable so tests are deterministic. */
export interface Clock {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /** Milliseconds, monotonic enough for intervals. */
  now(): number;
  /** Uniform in [0, 1): the jitter source. */
  random(): number;
}

/**
 * Where the client hears about the network coming back and the page becoming visible. In
 * browsers this is built from `window` and `document`; tests inject their own.
 */
export interface EnvironmentSource {
  /** Subscribe to "the network is back" (`window` `online`). Returns an unsubscribe function. */
  onOnline(listener: () => void): () => void;
  /** Subscribe to "the page became visible again" (`document` `visibilitychange`). */
  onVisible(listener: () => void): () => void;
}

export type Awaitable<T> = T | Promise<T>;
/** A value, or a function returning it (possibly async): evaluated before every attempt. */
export type Provider<T> = T | (() => Awaitable<T>);

export type Sendable = string | ArrayBufferLike | ArrayBufferView | Blob;

/**
 * What `send()` did with a message:
 * - "sent": handed to the open socket;
 * - "queued": kept and sent, in order, once a connection opens;
 * - "dropped": refused, because the queue is full under the "reject" policy or disabled (size 0);
 * - "closed": refused, because `close()` was called (call `connect()` to start again).
 */
export type SendResult = "sent" | "queued" | "dropped" | "closed";

/** What a full send queue does: evict the oldest message, or refuse the new one. */
export type QueuePolicy = "drop-oldest" | "reject";

export const ClientState = {
  /** A socket is being opened (or the URL/protocol providers are running). */
  CONNECTING: "connecting",
  OPEN: "open",
  /** Waiting for the backoff delay before the next attempt. */
  RECONNECTING: "reconnecting",
  /** Final: `close()` was called, retries were exhausted, or `shouldReconnect` said no. */
  CLOSED: "closed",
} as const;
export type ClientState = (typeof ClientState)[keyof typeof ClientState];

/** A socket close as seen by the client (a real close event, or one synthesized for a timeout). */
export interface CloseInfo {
  readonly code: number;
  readonly reason: string;
  readonly wasClean: boolean;
}

export interface HeartbeatOptions {
  /** Send the heartbeat after this long without receiving anything (ms). Default 25 000. */
  interval?: number;
  /** The connection is stale if no reply arrives within this (ms). Default 10 000. */
  timeout?: number;
  /** What to send. Default "ping". */
  message?: string | (() => Sendable);
  /**
   * What counts as the reply: a string compared with the message data, a predicate, or
   * "any" (default): any incoming message proves liveness. Matched replies (string or
   * predicate) are consumed and not emitted as `message` events.
   */
  reply?: "any" | string | ((data: unknown) => boolean);
}

export interface ClientOptions {
  /** WebSocket constructor. Default: `globalThis.WebSocket` (browsers, Node >= 22). */
  WebSocket?: WebSocketConstructorLike;
  /**
   * Transports in the order tried: "websocket", then "sse" (the HTTP fallback of a wirecable
   * server with `fallback`: an event stream down, POSTs up) when the WebSocket looks blocked.
   * One entry forces it. Default ["websocket", "sse"]. See docs/fallback.md.
   */
  transports?: readonly TransportName[];
  /** When to fall back, and for how long; see {@link FallbackPolicy}. */
  fallback?: FallbackPolicy;
  /** Subprotocols, or an (async) provider evaluated before every attempt. */
  protocols?: Provider<string | string[] | undefined>;
  /** Default "arraybuffer" (binary messages arrive as ArrayBuffer, in browsers and Node). */
  binaryType?: "arraybuffer" | "blob" | "nodebuffer";
  /** First backoff ceiling (ms). Default 1 000. */
  initialDelay?: number;
  /** Growth of the backoff ceiling per failed attempt. Default 2. */
  factor?: number;
  /** Cap of the backoff ceiling (ms). Default 30 000. */
  maxDelay?: number;
  /** "full" (default): delay uniform in [0, ceiling). "none": exactly the ceiling. */
  jitter?: "full" | "none";
  /** Consecutive failed attempts before giving up (state "closed"). Default Infinity. */
  maxRetries?: number;
  /** An attempt that is not open after this long (ms) is abandoned. Default 10 000. */
  connectionTimeout?: number;
  /**
   * A connection must stay open this long (ms) before the backoff resets, so a server that
   * accepts and drops at once still backs off. Default 5 000; 0 resets on every open.
   */
  minUptime?: number;
  /** Whether to reconnect after this close. Default: not after 1008 or 4000-4999. */
  shouldReconnect?: (close: CloseInfo) => boolean;
  /** Send queue for messages sent while not open. Default { size: 1000, policy: "drop-oldest" }. */
  queue?: { size?: number; policy?: QueuePolicy };
  /** Application-level heartbeat (off by default; browsers cannot send ping frames). */
  heartbeat?: HeartbeatOptions | false;
  /** Reconnect when nothing at all was received for this long (ms). Off by default. */
  staleTimeout?: number;
  /** Do not connect on construction; call `connect()`. Default false. */
  startClosed?: boolean;
  /** Time and randomness. Default: the global timers, `Date.now`, `Math.random`. */
  clock?: Clock;
  /** Online / visibility signals. Default: `window`/`document` when present; `null` disables. */
  environment?: EnvironmentSource | null;
}

export interface ClientEventMap {
  /** `attempt` is 0 for the first connection, n for the nth retry since the last stable one. */
  connecting: { readonly attempt: number };
  open: {
    readonly attempt: number;
    readonly protocol: string;
    readonly url: string;
    /** "websocket", or "sse" when this connection runs over the HTTP fallback. */
    readonly transport: TransportName;
  };
  message: { readonly data: unknown };
  reconnecting: { readonly attempt: number; readonly delay: number; readonly close: CloseInfo };
  closed: CloseInfo & { readonly cause: CloseCause };
  error: { readonly error: Error; readonly kind: ErrorKind };
  /** Messages evicted from a full queue (policy "drop-oldest"). */
  dropped: { readonly messages: readonly Sendable[] };
}

/** Why the client reached its final "closed" state. */
export type CloseCause = "client" | "retries-exhausted" | "should-not-reconnect";

/** Where an `error` event came from. */
export type ErrorKind = "socket" | "timeout" | "stale" | "provider" | "listener" | "send";

export type ClientEventName = keyof ClientEventMap;
export type ClientListener<K extends ClientEventName> = (event: ClientEventMap[K]) => void;
