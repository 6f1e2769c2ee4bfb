/**
 * A WHATWG-compatible `WebSocket` for Node (https://websockets.spec.whatwg.org/), built on
 * {@link connect}: browser code runs unchanged. EventTarget with `on*` properties,
 * readyState constants (static and instance), `binaryType` ("blob" default, "arraybuffer", or
 * "nodebuffer"), `bufferedAmount`, `protocol`, `extensions`, `url`; `send` of string,
 * ArrayBuffer, ArrayBufferView and Blob (Blob bytes are read asynchronously but sent in call
 * order); `close(code?, reason?)` with the spec's InvalidAccessError / SyntaxError.
 *
 * Differences from browsers, on purpose: a third constructor argument takes {@link ClientOptions}
 * (headers, TLS, proxy...); a listener that throws is reported (`process.emitWarning`) instead
 * of crashing the process, as Node's own EventTarget would.
 */

import { type ClientOptions, connect } from "./client.js";
import type { AnyConnection } from "./connection.js";
import { ownMessage } from "./lent-messages.js";
import { toBytes } from "./output-buffers.js";

export type BinaryType = "blob" | "arraybuffer" | "nodebuffer";

/** WHATWG CloseEvent (Node 20 has no global one). */
export class CloseEvent extends Event {
  readonly code: number;
  readonly reason: string;
  readonly wasClean: boolean;
  constructor(type: string, init?: { code?: number; reason?: string; wasClean?: boolean }) {
    super(type);
    this.code = init?.code ?? 0;
    this.reason = init?.reason ?? "";
    this.wasClean = init?.wasClean ?? false;
  }
}

/** An `error` event carrying the underlying error (browsers expose a plain Event). */
export class ErrorEvent extends Event {
  readonly error: unknown;
  readonly message: string;
  constructor(type: string, init?: { error?: unknown; message?: string }) {
    super(type);
    this.error = init?.error;
    this.message = init?.message ?? (init?.error instanceof Error ? init.error.message : "");
  }
}

/**
 * The `message` event: a MessageEvent whose `data` is a string for text, and for binary a Blob,
 * ArrayBuffer or Buffer ("nodebuffer") by `binaryType`. Declared here because Node's types have
 * no generic MessageEvent without the DOM library.
 */
export interface WebSocketMessageEvent extends Event {
  readonly data: string | Blob | ArrayBuffer | Buffer;
  readonly origin: string;
  readonly lastEventId: string;
}

/** The events a {@link WebSocket} dispatches, as the DOM's WebSocketEventMap. */
export interface WebSocketEventMap {
  open: Event;
  message: WebSocketMessageEvent;
  error: ErrorEvent;
  close: CloseEvent;
}

/** addEventListener's options (the DOM's AddEventListenerOptions, which Node's types keep to themselves). */
export interface WebSocketListenerOptions {
  capture?: boolean;
  once?: boolean;
  passive?: boolean;
  signal?: AbortSignal;
}

/** A listener of event `K`: a function called with the WebSocket as `this`, or an object with handleEvent. */
export type WebSocketListener<K extends keyof WebSocketEventMap> =
  | ((this: WebSocket, event: WebSocketEventMap[K]) => void)
  | { handleEvent(event: WebSocketEventMap[K]): void };

/** An `on<event>` handler property's value. */
export type WebSocketHandler<K extends keyof WebSocketEventMap> =
  | ((this: WebSocket, event: WebSocketEventMap[K]) => void)
  | null;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Any listener EventTarget takes (the DOM's EventListenerOrEventListenerObject). */
export type AnyEventListener = ((event: Event) => void) | { handleEvent(event: Event): void };

function byteLength(data: string | ArrayBuffer | ArrayBufferView | Blob): number {
  if (typeof data === "string") return Buffer.byteLength(data);
  if (data instanceof Blob) return data.size;
  return data.byteLength;
}

export class WebSocket extends EventTarget {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  declare readonly CONNECTING: 0;
  declare readonly OPEN: 1;
  declare readonly CLOSING: 2;
  declare readonly CLOSED: 3;

  readonly url: string;
  #readyState = 0;
  #protocol = "";
  #extensions = "";
  #binaryType: BinaryType = "blob";
  #conn: AnyConnection | undefined;
  /** Bytes "sent" after closing (the spec counts them) plus Blobs waiting to be read. */
  #extraBuffered = 0;
  /** Sends queued behind a Blob being read, to keep call order. */
  #queue: Array<string | ArrayBuffer | ArrayBufferView | Blob> | undefined;
  #handlers = new Map<string, AnyEventListener>();
  #wrapped = new Map<string, WeakMap<object, EventListener>>();
  #closeRequest: { code?: number; reason?: string } | undefined;

  constructor(url: string | URL, protocols?: string | string[], options?: ClientOptions) {
    super();
    let parsed: URL;
    try {
      parsed = new URL(String(url));
    } catch {
      throw new DOMException(`Invalid URL: ${String(url)}`, "SyntaxError");
    }
    // WHATWG: http(s) map to ws(s); any other scheme and fragments are errors.
    if (parsed.protocol === "http:") parsed.protocol = "ws:";
    else if (parsed.protocol === "https:") parsed.protocol = "wss:";
    if (!["ws:", "wss:", "ws+unix:", "wss+unix:"].includes(parsed.protocol)) {
      throw new DOMException(`Unsupported URL scheme: ${parsed.protocol}`, "SyntaxError");
    }
    if (parsed.hash !== "" || String(url).includes("#")) {
      throw new DOMException("URL fragments are not allowed", "SyntaxError");
    }
    const list = protocols === undefined ? [] : typeof protocols === "string" ? [protocols] : [...protocols];
    if (list.some((p) => !TOKEN.test(p)) || new Set(list).size !== list.length) {
      throw new DOMException("Invalid or duplicate subprotocol", "SyntaxError");
    }
    this.url = parsed.href;
    connect(parsed, { ...options, protocols: list.length > 0 ? list : undefined }).then(
      (conn) => this.#opened(conn),
      (error) => this.#failed(error),
    );
  }

  /** CLOSING from the start of the closing handshake until TCP is closed and `close` fires. */
  get readyState(): number {
    if (this.#readyState === 1 && this.#conn !== undefined && this.#conn.readyState >= 2) return 2;
    return this.#readyState;
  }
  get protocol(): string {
    return this.#protocol;
  }
  get extensions(): string {
    return this.#extensions;
  }
  get binaryType(): BinaryType {
    return this.#binaryType;
  }
  set binaryType(value: BinaryType) {
    // WHATWG: other values are ignored.
    if (value === "blob" || value === "arraybuffer" || value === "nodebuffer") this.#binaryType = value;
  }
  get bufferedAmount(): number {
    return (this.#conn?.bufferedAmount ?? 0) + this.#extraBuffered;
  }

  send(data: string | ArrayBuffer | ArrayBufferView | Blob): void {
    if (this.#readyState === 0) throw new DOMException("WebSocket is still connecting", "InvalidStateError");
    if (
      typeof data !== "string" &&
      !(data instanceof Blob) &&
      !(data instanceof ArrayBuffer) &&
      !ArrayBuffer.isView(data)
    ) {
      data = String(data); // WebIDL: anything else is converted to a string
    }
    if (this.#readyState !== 1) {
      // WHATWG: after closing starts, bufferedAmount still grows by the data's size.
      this.#extraBuffered += byteLength(data);
      return;
    }
    if (this.#queue !== undefined) {
      if (data instanceof Blob) this.#extraBuffered += data.size;
      // Sent later: lent bytes (lendMessages), whatever view or ArrayBuffer holds them, are copied.
      this.#queue.push(typeof data === "string" || data instanceof Blob ? data : ownMessage(toBytes(data)));
      return;
    }
    if (data instanceof Blob) {
      this.#extraBuffered += data.size;
      this.#queue = [data];
      void this.#drainQueue();
      return;
    }
    this.#conn!.send(data);
  }

  async #drainQueue(): Promise<void> {
    const queue = this.#queue!;
    while (queue.length > 0) {
      const item = queue.shift()!;
      if (item instanceof Blob) {
        let bytes: ArrayBuffer;
        try {
          bytes = await item.arrayBuffer();
        } catch (error) {
          this.#conn?.fail(error as Error);
          break;
        }
        this.#extraBuffered -= item.size;
        if (this.#readyState === 1) this.#conn!.send(bytes, { binary: true });
      } else if (this.#readyState === 1) {
        this.#conn!.send(item);
      }
    }
    this.#queue = undefined;
  }

  close(code?: number, reason?: string): void {
    if (code !== undefined && code !== 1000 && !(Number.isInteger(code) && code >= 3000 && code <= 4999)) {
      throw new DOMException(`Invalid close code ${code}: use 1000 or 3000-4999`, "InvalidAccessError");
    }
    if (reason !== undefined && Buffer.byteLength(reason) > 123) {
      throw new DOMException("The close reason must be at most 123 UTF-8 bytes", "SyntaxError");
    }
    if (this.#readyState >= 2) return;
    if (this.#readyState === 0) {
      // WHATWG: fail the connection while connecting.
      this.#readyState = 2;
      this.#closeRequest = { code, reason };
      return;
    }
    this.#readyState = 2;
    if (this.#queue !== undefined) {
      // Let queued Blobs go first, then close.
      const conn = this.#conn!;
      void (async () => {
        while (this.#queue !== undefined) await new Promise((r) => setImmediate(r));
        conn.close(code ?? 1000, reason ?? "");
      })();
      return;
    }
    this.#conn!.close(code ?? 1000, reason ?? "");
  }

  #opened(conn: AnyConnection): void {
    if (this.#closeRequest !== undefined) {
      conn.terminate();
      this.#failed(new Error("WebSocket was closed before the connection was established"));
      return;
    }
    this.#conn = conn;
    this.#readyState = 1;
    this.#protocol = conn.protocol;
    this.#extensions = conn.extensions;
    let lastError: unknown;
    conn.on("message", (data: string | Buffer, isBinary: boolean) => {
      let payload: unknown = data;
      if (isBinary) {
        const buf = data as Buffer;
        if (this.#binaryType === "arraybuffer")
          payload = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
        else if (this.#binaryType === "blob") payload = new Blob([buf as Uint8Array<ArrayBuffer>]);
        else payload = ownMessage(buf); // listeners may keep it: a lent message is copied
      }
      this.dispatchEvent(new MessageEvent("message", { data: payload, origin: new URL(this.url).origin }));
    });
    conn.on("error", (error: unknown) => {
      lastError = error;
    });
    conn.on("close", (code: number, reason: string, wasClean: boolean) => {
      this.#readyState = 3;
      if (!wasClean && lastError !== undefined) this.dispatchEvent(new ErrorEvent("error", { error: lastError }));
      this.dispatchEvent(new CloseEvent("close", { code, reason, wasClean }));
    });
    this.dispatchEvent(new Event("open"));
  }

  #failed(error: unknown): void {
    this.#readyState = 3;
    this.dispatchEvent(new ErrorEvent("error", { error }));
    this.dispatchEvent(new CloseEvent("close", { code: 1006, reason: "", wasClean: false }));
  }

  // ---- listeners that cannot crash the process --------------------------------------------

  #wrap(type: string, listener: AnyEventListener): EventListener {
    let map = this.#wrapped.get(type);
    if (map === undefined) this.#wrapped.set(type, (map = new WeakMap()));
    let wrapped = map.get(listener);
    if (wrapped === undefined) {
      wrapped = (event: Event) => {
        try {
          if (typeof listener === "function") listener.call(this, event);
          else listener.handleEvent(event);
        } catch (error) {
          process.emitWarning(
            `WebSocket ${type} listener threw: ${error instanceof Error ? error.stack : String(error)}`,
          );
        }
      };
      map.set(listener, wrapped);
    }
    return wrapped;
  }

  override addEventListener<K extends keyof WebSocketEventMap>(
    type: K,
    listener: WebSocketListener<K> | null,
    options?: boolean | WebSocketListenerOptions,
  ): void;
  override addEventListener(
    type: string,
    listener: AnyEventListener | null,
    options?: boolean | WebSocketListenerOptions,
  ): void;
  override addEventListener(
    type: string,
    listener: AnyEventListener | null,
    options?: boolean | WebSocketListenerOptions,
  ): void {
    if (listener === null) return;
    super.addEventListener(type, this.#wrap(type, listener), options);
  }

  override removeEventListener<K extends keyof WebSocketEventMap>(
    type: K,
    listener: WebSocketListener<K> | null,
    options?: boolean | WebSocketListenerOptions,
  ): void;
  override removeEventListener(
    type: string,
    listener: AnyEventListener | null,
    options?: boolean | WebSocketListenerOptions,
  ): void;
  override removeEventListener(
    type: string,
    listener: AnyEventListener | null,
    options?: boolean | WebSocketListenerOptions,
  ): void {
    if (listener === null) return;
    const wrapped = this.#wrapped.get(type)?.get(listener);
    if (wrapped !== undefined) super.removeEventListener(type, wrapped, options);
  }

  #getHandler(type: string): AnyEventListener | null {
    return this.#handlers.get(type) ?? null;
  }

  #setHandler(type: string, handler: unknown): void {
    const old = this.#handlers.get(type);
    if (old !== undefined) this.removeEventListener(type, old);
    this.#handlers.delete(type);
    if (typeof handler === "function") {
      this.#handlers.set(type, handler as AnyEventListener);
      this.addEventListener(type, handler as AnyEventListener);
    }
  }

  get onopen(): WebSocketHandler<"open"> {
    return this.#getHandler("open") as WebSocketHandler<"open">;
  }
  set onopen(handler: WebSocketHandler<"open">) {
    this.#setHandler("open", handler);
  }
  get onmessage(): WebSocketHandler<"message"> {
    return this.#getHandler("message") as WebSocketHandler<"message">;
  }
  set onmessage(handler: WebSocketHandler<"message">) {
    this.#setHandler("message", handler);
  }
  get onerror(): WebSocketHandler<"error"> {
    return this.#getHandler("error") as WebSocketHandler<"error">;
  }
  set onerror(handler: WebSocketHandler<"error">) {
    this.#setHandler("error", handler);
  }
  get onclose(): WebSocketHandler<"close"> {
    return this.#getHandler("close") as WebSocketHandler<"close">;
  }
  set onclose(handler: WebSocketHandler<"close">) {
    this.#setHandler("close", handler);
  }
}

for (const [name, value] of Object.entries({ CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 })) {
  Object.defineProperty(WebSocket.prototype, name, { value, enumerable: true });
}
