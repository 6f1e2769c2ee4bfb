/**
 * ReconnectingWebSocket: one isomorphic client that keeps a WebSocket connection alive.
 *
 * Contract:
 * - States: connecting -> open -> (reconnecting -> connecting ...) -> closed. Every change
 *   emits its event synchronously, at the moment it happens and in order; there is no
 *   asynchronous close event: after `close()` returns, the state is "closed" and the `closed`
 *   event has fired.
 * - Reconnection uses exponential backoff with full jitter (see backoff.ts), stops after
 *   `maxRetries` consecutive failures, after `close()`, or when `shouldReconnect` says no
 *   (default: not after 1008 or 4000-4999, the "policy" closes of a server that does not want
 *   this client back).
 * - `send()` never throws for state reasons: it reports "sent", "queued", "dropped" or
 *   "closed". Queued messages are sent exactly once, in order, when a connection opens.
 *   A message handed to a socket that dies afterwards may be lost (at-most-once, like any
 *   WebSocket): acknowledge at the application level when that matters.
 * - A socket that is abandoned (timeout, stale, reconnect()) has its listeners removed at once;
 *   nothing it does later reaches the client.
 * - No `node:*` import: bundles for browsers. The WebSocket constructor is injectable.
 */
import { type BackoffOptions, backoffDelay } from "./backoff.js";
import { systemClock } from "./clock.js";
import { defaultShouldReconnect, errorOf, isPromiseLike, nonNegative, resolveWebSocket } from "./defaults.js";
import { Emitter } from "./emitter.js";
import { browserEnvironment } from "./environment.js";
import { TransportChoice } from "./fallback/transports.js";
import { Liveness } from "./liveness.js";
import { SendQueue } from "./send-queue.js";
import {
  type ClientEventMap,
  type ClientEventName,
  type ClientListener,
  type ClientOptions,
  ClientState,
  type Clock,
  type CloseCause,
  type CloseInfo,
  type ErrorKind,
  type Provider,
  type Sendable,
  type SendResult,
  type SocketListener,
  type TransportName,
  type WebSocketConstructorLike,
  type WebSocketLike,
} from "./types.js";

/** WHATWG readyState values. */
const OPEN = 1;
const CONNECTING = 0;

export class ReconnectingWebSocket {
  readonly #url: Provider<string | URL>;
  readonly #protocols: ClientOptions["protocols"];
  readonly #WebSocket: WebSocketConstructorLike;
  readonly #clock: Clock;
  readonly #backoff: BackoffOptions;
  readonly #maxRetries: number;
  readonly #connectionTimeout: number;
  readonly #minUptime: number;
  readonly #shouldReconnect: (close: CloseInfo) => boolean;
  readonly #binaryType: string;
  readonly #queue: SendQueue;
  readonly #liveness: Liveness;
  readonly #emitter: Emitter<ClientEventMap>;
  readonly #environment: ClientOptions["environment"];
  readonly #transports: TransportChoice;
  #unsubscribeEnvironment: Array<() => void> = [];

  #state: ClientState = ClientState.CLOSED;
  #socket: WebSocketLike | null = null;
  /** The transport of #socket, and whether it is the fallback of a WebSocket that failed. */
  #transport: TransportName = "websocket";
  #fellBack = false;
  #socketListeners: Array<[string, SocketListener]> = [];
  /** Incremented per attempt and on close(): late async results of older attempts are ignored. */
  #generation = 0;
  /** Consecutive failed attempts: the backoff exponent and what maxRetries counts. */
  #failures = 0;
  #attempt = 0;
  #currentUrl = "";
  #retryTimer: unknown = null;
  #connectTimer: unknown = null;
  #uptimeTimer: unknown = null;
  #fallbackTimer: unknown = null;

  constructor(url: Provider<string | URL>, options: ClientOptions = {}) {
    this.#url = url;
    this.#protocols = options.protocols;
    this.#WebSocket = resolveWebSocket(options.WebSocket);
    this.#clock = options.clock ?? systemClock;
    this.#backoff = {
      initialDelay: nonNegative("initialDelay", options.initialDelay ?? 1000),
      factor: options.factor ?? 2,
      maxDelay: nonNegative("maxDelay", options.maxDelay ?? 30_000),
      jitter: options.jitter ?? "full",
    };
    if (!(this.#backoff.factor >= 1)) throw new RangeError(`factor must be >= 1, got ${this.#backoff.factor}`);
    this.#maxRetries = nonNegative("maxRetries", options.maxRetries ?? Number.POSITIVE_INFINITY);
    this.#connectionTimeout = nonNegative("connectionTimeout", options.connectionTimeout ?? 10_000);
    this.#minUptime = nonNegative("minUptime", options.minUptime ?? 5000);
    this.#shouldReconnect = options.shouldReconnect ?? defaultShouldReconnect;
    this.#binaryType = options.binaryType ?? "arraybuffer";
    this.#queue = new SendQueue(options.queue?.size ?? 1000, options.queue?.policy ?? "drop-oldest");
    this.#liveness = new Liveness(this.#clock, options.heartbeat, options.staleTimeout ?? 0, {
      send: (message) => this.#socket?.send(message),
      onStale: (reason) =>
        this.#abandon({ code: 1006, reason: `stale connection: ${reason}`, wasClean: false }, "stale"),
    });
    this.#emitter = new Emitter<ClientEventMap>((error, type) => this.#listenerFailed(error, type));
    this.#environment = options.environment;
    this.#transports = new TransportChoice(options.transports, options.fallback, () => this.#clock.now());
    if (!options.startClosed) this.connect();
  }

  /** "connecting" | "open" | "reconnecting" | "closed". */
  get state(): ClientState {
    return this.#state;
  }

  /** WHATWG-style: 0 while connecting or waiting to reconnect, 1 open, 3 closed. */
  get readyState(): 0 | 1 | 3 {
    return this.#state === ClientState.OPEN ? 1 : this.#state === ClientState.CLOSED ? 3 : 0;
  }

  /** The subprotocol of the current connection ("" when not open). */
  get protocol(): string {
    return this.#state === ClientState.OPEN ? (this.#socket?.protocol ?? "") : "";
  }

  /** The URL of the current or last attempt. */
  get url(): string {
    return this.#currentUrl;
  }

  /** The transport of the current connection or attempt: "websocket", or "sse" (the HTTP fallback). */
  get transport(): TransportName {
    return this.#transport;
  }

  /** Consecutive failed attempts so far (0 after a connection stayed up `minUptime`). */
  get failures(): number {
    return this.#failures;
  }

  /** Messages waiting in the send queue. */
  get queued(): number {
    return this.#queue.length;
  }

  get bufferedAmount(): number {
    return this.#socket?.bufferedAmount ?? 0;
  }

  on<K extends ClientEventName>(type: K, listener: ClientListener<K>): () => void {
    return this.#emitter.on(type, listener);
  }

  off<K extends ClientEventName>(type: K, listener: ClientListener<K>): void {
    this.#emitter.off(type, listener);
  }

  /**
   * Send now if open, else queue. Never throws for state reasons; see {@link SendResult}.
   */
  send(data: Sendable): SendResult {
    if (this.#state === ClientState.CLOSED) return "closed";
    const socket = this.#socket;
    if (this.#state === ClientState.OPEN && socket && socket.readyState === OPEN) {
      try {
        socket.send(data);
        return "sent";
      } catch (error) {
        this.#emitError(errorOf(error), "send");
      }
    }
    const pushed = this.#queue.push(data);
    if (!pushed.ok) return "dropped";
    if (pushed.evicted !== undefined) this.#emitter.emit("dropped", { messages: [pushed.evicted] });
    return "queued";
  }

  /**
   * Close for good (until `connect()`): no reconnection, queued messages are discarded (and
   * reported in a `dropped` event), `closed` fires before this returns. Idempotent.
   * `code` must be 1000 or 3000-4999, as for the browser's WebSocket.
   */
  close(code = 1000, reason = ""): void {
    if (code !== 1000 && !(code >= 3000 && code <= 4999)) {
      throw new RangeError(`close code must be 1000 or 3000-4999, got ${code}`);
    }
    if (this.#state === ClientState.CLOSED) return;
    const socket = this.#detachSocket();
    if (socket && (socket.readyState === OPEN || socket.readyState === CONNECTING)) {
      try {
        socket.close(code, reason);
      } catch {
        // A platform refusing the reason (too long): the socket is abandoned either way.
        socket.close();
      }
    }
    this.#finish({ code, reason, wasClean: true }, "client");
  }

  /** Start (or restart after close) connecting; no-op unless closed. Resets the backoff. */
  connect(): void {
    if (this.#state !== ClientState.CLOSED) return;
    this.#failures = 0;
    this.#attempt = 0;
    this.#subscribeEnvironment();
    this.#startAttempt();
  }

  /**
   * Drop the current connection (or the wait) and connect again after a backoff delay (not at
   * once: many clients told to reconnect together must not come back together).
   */
  reconnect(reason = "reconnect requested"): void {
    if (this.#state === ClientState.CLOSED) {
      this.connect();
      return;
    }
    if (this.#state === ClientState.RECONNECTING) return;
    this.#detachSocket()?.close();
    this.#scheduleRetry({ code: 1000, reason, wasClean: true }, false);
  }

  /** @internal Report an error on behalf of a layer built on this client (the channels consumer). */
  _reportError(error: Error, kind: ErrorKind): void {
    this.#emitError(error, kind);
  }

  // --- attempts -------------------------------------------------------------------------

  #startAttempt(): void {
    this.#clearTimer("retry");
    const generation = ++this.#generation;
    const attempt = this.#attempt;
    this.#state = ClientState.CONNECTING;
    // The timeout covers the providers (a token refresh that hangs) as well as the handshake.
    if (this.#connectionTimeout > 0) {
      this.#connectTimer = this.#clock.setTimeout(() => {
        this.#connectTimer = null;
        this.#emitError(new Error(`connection not open within ${this.#connectionTimeout} ms`), "timeout");
        this.#abandon({ code: 1006, reason: "connection timeout", wasClean: false }, null);
      }, this.#connectionTimeout);
    }
    this.#emitter.emit("connecting", { attempt });
    if (generation !== this.#generation) return;
    let url: string | URL | PromiseLike<string | URL>;
    let protocols: string | string[] | undefined | PromiseLike<string | string[] | undefined>;
    try {
      url = typeof this.#url === "function" ? this.#url() : this.#url;
      protocols = typeof this.#protocols === "function" ? this.#protocols() : this.#protocols;
    } catch (error) {
      this.#providerFailed(error);
      return;
    }
    if (!isPromiseLike(url) && !isPromiseLike(protocols)) {
      this.#open(String(url), protocols, attempt);
      return;
    }
    Promise.all([url, protocols]).then(
      ([u, p]) => {
        if (generation === this.#generation && this.#state === ClientState.CONNECTING)
          this.#open(String(u), p, attempt);
      },
      (error: unknown) => {
        if (generation === this.#generation && this.#state === ClientState.CONNECTING) this.#providerFailed(error);
      },
    );
  }

  #providerFailed(error: unknown): void {
    const err = errorOf(error);
    this.#emitError(err, "provider");
    if (this.#state !== ClientState.CONNECTING) return;
    this.#socketGone({ code: 1006, reason: `provider failed: ${err.message}`, wasClean: false });
  }

  #open(url: string, protocols: string | string[] | undefined, attempt: number): void {
    this.#currentUrl = url;
    this.#connectWith(this.#transports.first(url), false, url, protocols, attempt);
  }

  /** Open a socket of `transport`; `fellBack`: after this attempt's WebSocket failed. */
  #connectWith(
    transport: TransportName,
    fellBack: boolean,
    url: string,
    protocols: string | string[] | undefined,
    attempt: number,
  ): void {
    this.#transport = transport;
    this.#fellBack = fellBack;
    let socket: WebSocketLike;
    try {
      socket = this.#transports.create(transport, this.#WebSocket, url, protocols);
    } catch (error) {
      // A malformed URL or protocol list: SyntaxError from the constructor.
      const err = errorOf(error);
      this.#emitError(err, "socket");
      if (this.#state === ClientState.CONNECTING) {
        this.#socketGone({ code: 1006, reason: err.message, wasClean: false });
      }
      return;
    }
    try {
      socket.binaryType = this.#binaryType;
    } catch {
      // Not every implementation accepts every binaryType ("nodebuffer" in browsers).
    }
    this.#socket = socket;
    const on = (type: string, listener: SocketListener) => {
      socket.addEventListener(type, listener);
      this.#socketListeners.push([type, listener]);
    };
    on("open", () => this.#onOpen(socket, attempt));
    on("message", (event: { data: unknown }) => {
      if (this.#socket !== socket) return;
      if (this.#liveness.received(event.data)) return;
      this.#emitter.emit("message", { data: event.data });
    });
    on("error", (event: { error?: unknown; message?: string }) => {
      if (this.#socket !== socket) return;
      this.#emitError(errorOf(event.error ?? event.message ?? "WebSocket error"), "socket");
    });
    on("close", (event: { code?: number; reason?: string; wasClean?: boolean }) => {
      if (this.#socket !== socket) return;
      this.#detachSocket();
      // Closed before it ever opened: what a blocked WebSocket does. Try the fallback now.
      if (this.#state === ClientState.CONNECTING && this.#fallBack(transport, url, protocols, attempt)) return;
      this.#socketGone({ code: event.code ?? 1006, reason: event.reason ?? "", wasClean: event.wasClean ?? false });
    });
    const wait = transport === "websocket" ? this.#transports.fallbackTimeout : 0;
    if (wait > 0) {
      this.#fallbackTimer = this.#clock.setTimeout(() => {
        this.#fallbackTimer = null;
        if (this.#socket !== socket || this.#state !== ClientState.CONNECTING) return;
        this.#emitError(new Error(`WebSocket not open within ${wait} ms: trying the HTTP fallback`), "timeout");
        this.#detachSocket();
        try {
          socket.close();
        } catch {
          // Already closing.
        }
        this.#fallBack(transport, url, protocols, attempt);
      }, wait);
    }
  }

  /** Try the next transport after `failed` in this attempt; false if there is none. */
  #fallBack(failed: TransportName, url: string, protocols: string | string[] | undefined, attempt: number): boolean {
    this.#clearTimer("fallback");
    const next = this.#transports.next(failed);
    if (next === null) return false;
    this.#connectWith(next, true, url, protocols, attempt);
    return true;
  }

  #onOpen(socket: WebSocketLike, attempt: number): void {
    if (this.#socket !== socket) return;
    this.#clearTimer("connect");
    this.#clearTimer("fallback");
    if (this.#fellBack) this.#transports.remember(this.#currentUrl);
    else if (this.#transport === "websocket") this.#transports.forget(this.#currentUrl);
    this.#state = ClientState.OPEN;
    if (this.#minUptime === 0) {
      this.#failures = 0;
      this.#attempt = 0;
    } else {
      this.#uptimeTimer = this.#clock.setTimeout(() => {
        this.#uptimeTimer = null;
        this.#failures = 0;
        this.#attempt = 0;
      }, this.#minUptime);
    }
    // Queued messages leave first, in order, before anything the open listeners send.
    for (let message = this.#queue.shift(); message !== undefined; message = this.#queue.shift()) {
      try {
        socket.send(message);
      } catch (error) {
        this.#queue.unshift(message);
        this.#emitError(errorOf(error), "send");
        break;
      }
    }
    this.#liveness.start();
    this.#emitter.emit("open", {
      attempt,
      protocol: socket.protocol,
      url: this.#currentUrl,
      transport: this.#transport,
    });
  }

  /** Give up on the current socket now (timeout, stale) and treat it as closed. */
  #abandon(info: CloseInfo, kind: ErrorKind | null): void {
    const socket = this.#detachSocket();
    if (!socket && this.#state !== ClientState.CONNECTING) return;
    if (kind === "stale") this.#emitError(new Error(info.reason), "stale");
    try {
      socket?.close();
    } catch {
      // Already closing.
    }
    if (this.#state === ClientState.OPEN || this.#state === ClientState.CONNECTING) this.#socketGone(info);
  }

  /** The socket is gone (closed, failed, abandoned): reconnect or stop. */
  #socketGone(info: CloseInfo): void {
    this.#clearTimer("connect");
    this.#clearTimer("fallback");
    this.#clearTimer("uptime");
    this.#liveness.stop();
    if (this.#state === ClientState.CLOSED) return;
    let allowed: boolean;
    try {
      allowed = this.#shouldReconnect(info);
    } catch (error) {
      this.#emitError(errorOf(error), "listener");
      allowed = false;
    }
    if (!allowed) {
      this.#finish(info, "should-not-reconnect");
      return;
    }
    this.#scheduleRetry(info, true);
  }

  #scheduleRetry(info: CloseInfo, countMaxRetries: boolean): void {
    this.#clearTimer("connect");
    this.#clearTimer("uptime");
    this.#liveness.stop();
    if (countMaxRetries && this.#failures >= this.#maxRetries) {
      this.#finish(info, "retries-exhausted");
      return;
    }
    const delay = backoffDelay(this.#failures, this.#backoff, this.#clock.random());
    this.#failures++;
    this.#attempt++;
    this.#state = ClientState.RECONNECTING;
    this.#generation++;
    this.#retryTimer = this.#clock.setTimeout(() => {
      this.#retryTimer = null;
      this.#startAttempt();
    }, delay);
    this.#emitter.emit("reconnecting", { attempt: this.#attempt, delay, close: info });
  }

  #finish(info: CloseInfo, cause: CloseCause): void {
    this.#generation++;
    this.#clearTimer("retry");
    this.#clearTimer("connect");
    this.#clearTimer("fallback");
    this.#clearTimer("uptime");
    this.#liveness.stop();
    for (const unsubscribe of this.#unsubscribeEnvironment) unsubscribe();
    this.#unsubscribeEnvironment = [];
    this.#state = ClientState.CLOSED;
    // The client will not reconnect by itself: queued messages would wait forever.
    const dropped = this.#queue.clear();
    if (dropped.length > 0) this.#emitter.emit("dropped", { messages: dropped });
    this.#emitter.emit("closed", { ...info, cause });
  }

  /** Remove our listeners from the current socket and forget it. Returns it. */
  #detachSocket(): WebSocketLike | null {
    const socket = this.#socket;
    if (!socket) return null;
    for (const [type, listener] of this.#socketListeners) socket.removeEventListener(type, listener);
    this.#socketListeners = [];
    // Some implementations (ws) throw on an "error" nobody listens to: keep one, silent.
    socket.addEventListener("error", () => {});
    this.#socket = null;
    return socket;
  }

  // --- environment, timers, errors --------------------------------------------------------

  #subscribeEnvironment(): void {
    if (this.#unsubscribeEnvironment.length > 0) return;
    const env = this.#environment === undefined ? browserEnvironment() : this.#environment;
    if (!env) return;
    this.#unsubscribeEnvironment.push(
      env.onOnline(() => {
        // The network is back: retry now rather than at the end of a long backoff.
        if (this.#state === ClientState.RECONNECTING) this.#startAttempt();
      }),
      env.onVisible(() => {
        // Background tabs throttle timers: a pending retry may be far behind, and an open
        // socket may have died silently.
        if (this.#state === ClientState.RECONNECTING) this.#startAttempt();
        else if (this.#state === ClientState.OPEN) this.#liveness.check();
      }),
    );
  }

  #clearTimer(which: "retry" | "connect" | "uptime" | "fallback"): void {
    const key =
      which === "retry"
        ? this.#retryTimer
        : which === "connect"
          ? this.#connectTimer
          : which === "uptime"
            ? this.#uptimeTimer
            : this.#fallbackTimer;
    if (key !== null) this.#clock.clearTimeout(key);
    if (which === "retry") this.#retryTimer = null;
    else if (which === "connect") this.#connectTimer = null;
    else if (which === "uptime") this.#uptimeTimer = null;
    else this.#fallbackTimer = null;
  }

  #emitError(error: Error, kind: ErrorKind): void {
    this.#emitter.emit("error", { error, kind });
  }

  #listenerFailed(error: unknown, type: ClientEventName): void {
    if (type !== "error") {
      this.#emitError(errorOf(error), "listener");
      return;
    }
    // An error listener that throws: report without recursion and without crashing.
    const report = (globalThis as { reportError?: (e: unknown) => void }).reportError;
    if (typeof report === "function") report(error);
    else console.error(error);
  }
}
