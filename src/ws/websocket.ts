/**
 * `WebSocket` of `wirecable/ws`: ws 8's class (EventEmitter with ws's events and arguments, the
 * EventTarget attributes, `send(data, options, cb)`, `ping`/`pong`/`close`/`terminate`/
 * `pause`/`resume`, `binaryType`, `bufferedAmount`, readyState constants) over a wirecable
 * {@link Connection}, which owns the frames, the timers and the socket (made with the socket's
 * settings: socket-settings.ts). The client's opening handshake is client.ts's.
 *
 * Contract:
 * - ws's state machine: CONNECTING, OPEN once the handshake completed, CLOSING once a close
 *   frame was sent or received (or the socket ended), CLOSED when `close` is emitted, after the
 *   socket has closed. `close` gets `(code, reason: Buffer)`: the peer's code (1005 for none) if
 *   its close frame arrived, else 1006. Text messages arrive as Buffers with `isBinary` false.
 * - Errors as ws reports them: peer mistakes as ws's errors (`WS_ERR_*` codes, ws's messages; the
 *   close frame carries the code and no reason), at most one `error` per socket; socket errors
 *   after the handshake are not reported (`close` with 1006 follows).
 * - ws's footgun kept by default: an `error` with no listener, or a listener that throws, is
 *   thrown out of the event loop (an uncaught exception). `unhandledErrors: "ignore"` (option
 *   of the client and of WebSocketServer) makes an unheard error harmless and a throwing
 *   listener close only its connection with 1011.
 */
import { EventEmitter } from "node:events";
import type { ClientRequest, IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { Connection } from "../node/connection.js";
import { ownMessage } from "../node/lent-messages.js";
import type { ExtensionSession } from "../protocol/extensions/extension.js";
import { toBuffer } from "./buffers.js";
import { abortHandshake, initAsClient, type WsClientOptions } from "./client.js";
import { isProtocolError, wsError } from "./errors.js";
import {
  addEventListener,
  type CloseEvent,
  defineEventAttributes,
  type ErrorEvent,
  type Event,
  type EventListenerLike,
  kWasCleanClose,
  type MessageEvent,
  removeEventListener,
} from "./event-target.js";
import { defaultSettings, type SocketSettings, wsConnection } from "./socket-settings.js";

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;
const READY_STATES = ["CONNECTING", "OPEN", "CLOSING", "CLOSED"];
const BINARY_TYPES = ["nodebuffer", "arraybuffer", "fragments", "blob"];
const EMPTY_BUFFER = Buffer.alloc(0);

export type BinaryType = "nodebuffer" | "arraybuffer" | "fragments" | "blob";
/** A send waiting behind a Blob being read. */
interface QueuedSend {
  ready: boolean;
  run: () => void;
  cb: ((err?: Error | null) => void) | undefined;
}
export type WsData = string | Buffer | ArrayBuffer | ArrayBufferView | Blob | number | readonly number[];

/** Internal hooks for the client handshake and the server (not part of ws's API). */
export const kInternal = Symbol("wirecable.ws.internal");

export interface WebSocketInternal {
  settings: SocketSettings;
  redirects: number;
  req: ClientRequest | null;
  setUrl(url: string): void;
  setReadyState(state: number): void;
  emitErrorAndClose(error: Error): void;
  adopt(
    socket: Duplex,
    head: Buffer,
    role: "server" | "client",
    protocol: string,
    sessions: readonly ExtensionSession[],
    extensionNames: string,
    extensionsHeader: string,
  ): void;
}

export type On<A extends unknown[]> = (this: WebSocket, ...args: A) => void;
/** What a `message` listener gets: a Buffer (text, or binary as "nodebuffer"), or the binaryType's shape. */
export type MessageData = Buffer | ArrayBuffer | Buffer[] | Blob;

export interface WebSocket {
  on(event: "message", listener: On<[data: MessageData, isBinary: boolean]>): this;
  on(event: "close", listener: On<[code: number, reason: Buffer]>): this;
  on(event: "error", listener: On<[error: Error]>): this;
  on(event: "open", listener: On<[]>): this;
  on(event: "ping" | "pong", listener: On<[data: Buffer]>): this;
  on(event: "upgrade", listener: On<[response: IncomingMessage]>): this;
  on(event: "unexpected-response", listener: On<[request: ClientRequest, response: IncomingMessage]>): this;
  on(event: "redirect", listener: On<[url: string, request: ClientRequest]>): this;
  // biome-ignore lint/suspicious/noExplicitAny: other events, as EventEmitter
  on(event: string | symbol, listener: (this: WebSocket, ...args: any[]) => void): this;
  once(event: "message", listener: On<[data: MessageData, isBinary: boolean]>): this;
  once(event: "close", listener: On<[code: number, reason: Buffer]>): this;
  once(event: "error", listener: On<[error: Error]>): this;
  once(event: "open", listener: On<[]>): this;
  once(event: "ping" | "pong", listener: On<[data: Buffer]>): this;
  // biome-ignore lint/suspicious/noExplicitAny: other events, as EventEmitter
  once(event: string | symbol, listener: (this: WebSocket, ...args: any[]) => void): this;
}

// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: typed event overloads for the class
export class WebSocket extends EventEmitter {
  declare static readonly CONNECTING: 0;
  declare static readonly OPEN: 1;
  declare static readonly CLOSING: 2;
  declare static readonly CLOSED: 3;
  declare readonly CONNECTING: 0;
  declare readonly OPEN: 1;
  declare readonly CLOSING: 2;
  declare readonly CLOSED: 3;
  declare onopen: ((event: Event) => void) | null;
  declare onerror: ((event: ErrorEvent) => void) | null;
  declare onclose: ((event: CloseEvent) => void) | null;
  declare onmessage: ((event: MessageEvent) => void) | null;

  #binaryType: BinaryType = "nodebuffer";
  #readyState = CONNECTING;
  #conn: Connection | null = null;
  #url: string | undefined;
  #protocol = "";
  #extensions = "";
  /** Bytes "sent" while not open (ws counts them in bufferedAmount). */
  #bufferedAmount = 0;
  #closeCode = 1006;
  #closeMessage: Buffer = EMPTY_BUFFER;
  #errorEmitted = false;
  #paused = false;
  #writer: ReturnType<Connection["startMessage"]> | null = null;
  /** Events held back while allowSynchronousEvents is false (one per macrotask). */
  #deferred: Array<() => void> | null = null;
  /** Sends waiting for a Blob to be read, in order. */
  #sendQueue: QueuedSend[] | null = null;
  [kWasCleanClose] = false;
  readonly [kInternal]: WebSocketInternal;

  constructor(
    address: string | URL | null,
    protocols?: string | string[] | WsClientOptions,
    options?: WsClientOptions,
  ) {
    super();
    const self = this;
    this[kInternal] = {
      settings: defaultSettings(),
      redirects: 0,
      req: null,
      setUrl(url: string) {
        self.#url = url;
      },
      setReadyState(state: number) {
        self.#readyState = state;
      },
      emitErrorAndClose(error: Error) {
        self.#readyState = CLOSING;
        self.#errorEmitted = true;
        self.#emitError(error);
        self.#emitClose();
      },
      adopt: (socket, head, role, protocol, sessions, names, header) =>
        this.#adopt(socket, head, role, protocol, sessions, names, header),
    };
    if (address === null) return;
    let list: string[];
    let opts = options;
    if (protocols === undefined) {
      list = opts?.protocols === undefined ? [] : [opts.protocols].flat();
    } else if (!Array.isArray(protocols)) {
      if (typeof protocols === "object" && protocols !== null) {
        opts = protocols as WsClientOptions;
        list = opts.protocols === undefined ? [] : [opts.protocols].flat();
      } else {
        list = [protocols as string];
      }
    } else {
      list = protocols;
    }
    initAsClient(this, address, list, opts);
  }

  get binaryType(): BinaryType {
    return this.#binaryType;
  }
  set binaryType(type: BinaryType) {
    if (!BINARY_TYPES.includes(type)) return;
    this.#binaryType = type;
  }
  get bufferedAmount(): number {
    return (this.#conn?.bufferedAmount ?? 0) + this.#bufferedAmount;
  }
  get extensions(): string {
    return this.#extensions;
  }
  get isPaused(): boolean {
    return this.#paused;
  }
  get protocol(): string {
    return this.#protocol;
  }
  get readyState(): number {
    return this.#readyState;
  }
  get url(): string | undefined {
    return this.#url;
  }

  /** The Connection underneath, once open (wirecable's API: `closed`, `remoteAddress`...). */
  get connection(): Connection | null {
    return this.#conn;
  }

  addEventListener(type: string, listener: EventListenerLike, options?: { once?: boolean }): void {
    addEventListener.call(this, type, listener, options);
  }
  removeEventListener(type: string, listener: EventListenerLike): void {
    removeEventListener.call(this, type, listener);
  }

  close(code?: number, data?: string | Buffer): void {
    if (this.#readyState === CLOSED) return;
    if (this.#readyState === CONNECTING) {
      abortHandshake(this, this[kInternal].req, "WebSocket was closed before the connection was established");
      return;
    }
    const conn = this.#conn;
    if (this.#readyState === CLOSING || conn === null) {
      // A second close() after the closing handshake: end the socket now (ws does the same).
      if (conn !== null && conn.readyState === CLOSED) conn.socket.end();
      return;
    }
    let reason = "";
    if (code !== undefined) {
      if (typeof code !== "number" || !isValidStatusCode(code)) {
        throw new TypeError("First argument must be a valid error code number");
      }
      if (data !== undefined && data.length > 0) {
        const bytes = typeof data === "string" ? Buffer.from(data) : toBuffer(data);
        if (bytes.length > 123) throw new RangeError("The message must not be greater than 123 bytes");
        reason = bytes.toString();
      }
    }
    this.#readyState = CLOSING;
    // Queued behind Blobs being read, as ws's sender does; else at once.
    this.#whenReady(() => {
      if (conn.readyState !== OPEN) return;
      conn.close(code ?? 1005, reason);
      // ws writes the close frame at once: it is not left counted in bufferedAmount.
      conn.flushNow();
    });
  }

  pause(): void {
    if (this.#readyState === CONNECTING || this.#readyState === CLOSED) return;
    this.#paused = true;
    this.#conn?.socket.pause();
  }

  resume(): void {
    if (this.#readyState === CONNECTING || this.#readyState === CLOSED) return;
    this.#paused = false;
    this.#conn?.socket.resume();
  }

  ping(
    data?: WsData | ((err?: Error | null) => void),
    mask?: boolean | ((err?: Error | null) => void),
    cb?: (err?: Error | null) => void,
  ): void {
    this.#control("ping", data, mask, cb);
  }

  pong(
    data?: WsData | ((err?: Error | null) => void),
    mask?: boolean | ((err?: Error | null) => void),
    cb?: (err?: Error | null) => void,
  ): void {
    this.#control("pong", data, mask, cb);
  }

  #control(
    kind: "ping" | "pong",
    data: WsData | ((err?: Error | null) => void) | undefined,
    mask: boolean | ((err?: Error | null) => void) | undefined,
    cb: ((err?: Error | null) => void) | undefined,
  ): void {
    if (this.#readyState === CONNECTING) throw new Error("WebSocket is not open: readyState 0 (CONNECTING)");
    if (typeof data === "function") {
      cb = data;
      data = undefined;
    } else if (typeof mask === "function") {
      cb = mask;
    }
    if (typeof data === "number") data = data.toString();
    if (this.#readyState !== OPEN) {
      this.#sendAfterClose(data, cb);
      return;
    }
    let bytes = data === undefined || data === null ? EMPTY_BUFFER : toBuffer(data as Exclude<WsData, number | Blob>);
    if (this.#sendQueue !== null) bytes = ownMessage(bytes); // queued: see send
    if (bytes.length > 125) throw new RangeError("The data size must not be greater than 125 bytes");
    this.#whenReady(() => {
      const conn = this.#conn!;
      if (kind === "ping") conn.ping(bytes);
      else conn.pong(bytes);
      if (cb) conn.afterWrite(cb);
    });
  }

  send(data: WsData, options?: SendOptions | ((err?: Error | null) => void), cb?: (err?: Error | null) => void): void {
    if (this.#readyState === CONNECTING) throw new Error("WebSocket is not open: readyState 0 (CONNECTING)");
    if (typeof options === "function") {
      cb = options;
      options = {};
    }
    if (typeof data === "number") data = data.toString();
    if (this.#readyState !== OPEN) {
      this.#sendAfterClose(data, cb);
      return;
    }
    const opts = { binary: typeof data !== "string", compress: true, fin: true, ...options };
    if (typeof Blob !== "undefined" && data instanceof Blob) {
      const job: QueuedSend = { ready: false, run: () => {}, cb };
      (this.#sendQueue ??= []).push(job);
      data.arrayBuffer().then(
        (buffer) => {
          const bytes = Buffer.from(buffer);
          job.run = () => this.#sendNow(bytes, opts, cb);
          job.ready = true;
          this.#drainSendQueue();
        },
        (error: Error) => {
          // As ws: the callbacks of everything queued get the error; 'error' only while open.
          this.#abandonSendQueue(error);
          if (this.#readyState === CLOSED) return;
          this.#emitError(error);
          this.#conn?.terminate();
        },
      );
      return;
    }
    let payload = data === undefined || data === null ? EMPTY_BUFFER : data;
    // Queued behind a Blob: lent bytes (a wirecable `lendMessages` handler's), in any view or
    // ArrayBuffer, are copied.
    if (this.#sendQueue !== null && typeof payload !== "string")
      payload = ownMessage(toBuffer(payload as Exclude<WsData, number | Blob>));
    this.#whenReady(() => this.#sendNow(payload as string | Buffer | ArrayBuffer | ArrayBufferView, opts, cb), cb);
  }

  /** Run now, or after the Blobs being read (sends keep their order). */
  #whenReady(run: () => void, cb?: (err?: Error | null) => void): void {
    if (this.#sendQueue === null) run();
    else this.#sendQueue.push({ ready: true, run, cb });
  }

  #drainSendQueue(): void {
    const queue = this.#sendQueue;
    while (queue !== null && queue.length > 0 && queue[0]!.ready) queue.shift()!.run();
    if (queue !== null && queue.length === 0 && this.#sendQueue === queue) this.#sendQueue = null;
  }

  /** The socket closed (or a Blob failed) before queued sends went out: their callbacks get `error`. */
  #abandonSendQueue(error: Error): void {
    const queue = this.#sendQueue;
    if (queue === null) return;
    this.#sendQueue = null;
    // At once, while readyState is still CLOSING (as ws: before 'close').
    for (const job of queue) job.cb?.(error);
  }

  #sendNow(
    data: string | Buffer | ArrayBuffer | ArrayBufferView | readonly number[],
    opts: Required<Pick<SendOptions, "binary" | "compress" | "fin">>,
    cb: ((err?: Error | null) => void) | undefined,
  ): void {
    const conn = this.#conn;
    // Checked on the connection: a close() queued behind a Blob has not been sent yet.
    if (conn === null || conn.readyState !== OPEN) {
      this.#sendAfterClose(data, cb);
      return;
    }
    const bytes = typeof data === "string" ? data : toBuffer(data);
    const kind = opts.binary ? "binary" : "text";
    if (!opts.fin || this.#writer !== null) {
      const writer = (this.#writer ??= conn.startMessage(kind, { compress: opts.compress }));
      if (opts.fin) {
        this.#writer = null;
        writer.end(bytes);
      } else writer.write(bytes);
    } else {
      conn.send(bytes, { binary: opts.binary, compress: opts.compress });
    }
    if (cb) conn.afterWrite(cb);
  }

  terminate(): void {
    if (this.#readyState === CLOSED) return;
    if (this.#readyState === CONNECTING) {
      abortHandshake(this, this[kInternal].req, "WebSocket was closed before the connection was established");
      return;
    }
    this.#readyState = CLOSING;
    this.#abandonSendQueue(new Error("The socket was closed while the blob was being read"));
    this.#conn?.terminate();
  }

  #sendAfterClose(data: unknown, cb: ((err?: Error | null) => void) | undefined): void {
    if (data) {
      const length =
        typeof Blob !== "undefined" && data instanceof Blob
          ? data.size
          : toBuffer(data as Exclude<WsData, number | Blob>).length;
      this.#bufferedAmount += length;
    }
    if (cb) {
      const state = this.#readyState;
      process.nextTick(cb, new Error(`WebSocket is not open: readyState ${state} (${READY_STATES[state]})`));
    }
  }

  // ---- events ---------------------------------------------------------------------------------

  /** Emit, applying the unhandledErrors policy to a throwing listener. */
  #dispatch(name: string, ...args: unknown[]): void {
    try {
      this.emit(name, ...args);
    } catch (error) {
      this.#listenerThrew(error);
    }
  }

  #dispatchMessage(data: unknown, isBinary: boolean): void {
    try {
      this.emit("message", data, isBinary);
    } catch (error) {
      this.#listenerThrew(error);
    }
  }

  #listenerThrew(error: unknown): void {
    if (this[kInternal].settings.unhandledErrors === "ignore") {
      const err = error instanceof Error ? error : new Error(String(error));
      this.#conn?.fail(err);
      return;
    }
    // ws lets it escape to the event loop: an uncaught exception.
    process.nextTick(() => {
      throw error;
    });
  }

  #emitError(error: Error): void {
    if (this.listenerCount("error") === 0) {
      if (this[kInternal].settings.unhandledErrors === "ignore") return;
      // ws: an 'error' without a listener crashes the process (EventEmitter throws it).
      process.nextTick(() => {
        throw error;
      });
      return;
    }
    this.#dispatch("error", error);
  }

  #emitClose(): void {
    this.#readyState = CLOSED;
    this.#dispatch("close", this.#closeCode, this.#closeMessage);
  }

  /** Deliver now, or one event per macrotask when allowSynchronousEvents is false (ws 8.17). */
  #event(fn: () => void): void {
    if (this[kInternal].settings.allowSynchronousEvents && this.#deferred === null) {
      fn();
      return;
    }
    if (this.#deferred === null) {
      this.#deferred = [fn];
      setImmediate(() => this.#runDeferred());
    } else this.#deferred.push(fn);
  }

  #runDeferred(): void {
    const queue = this.#deferred;
    if (queue === null) return;
    const fn = queue.shift();
    fn?.();
    if (queue.length === 0) this.#deferred = null;
    else setImmediate(() => this.#runDeferred());
  }

  #adopt(
    socket: Duplex,
    head: Buffer,
    role: "server" | "client",
    protocol: string,
    sessions: readonly ExtensionSession[],
    extensionNames: string,
    extensionsHeader: string,
  ): void {
    const settings = this[kInternal].settings;
    this.#protocol = protocol;
    this.#extensions = extensionNames;
    // As ws: bytes that came with the handshake go back into the socket (they arrive as 'data').
    if (head.length > 0) socket.unshift(head);
    const conn = wsConnection(socket, role, settings, protocol, sessions, extensionsHeader);
    this.#conn = conn;
    const sync = settings.allowSynchronousEvents;
    conn.on("message", (message, isBinary) => {
      const data = message as Buffer; // textAsBuffer: text arrives as a Buffer too
      const payload = isBinary ? this.#binary(data) : data;
      // The usual case without a closure per message: delivered at once, nothing deferred.
      if (sync && this.#deferred === null) this.#dispatchMessage(payload, isBinary);
      else this.#event(() => this.#dispatchMessage(payload, isBinary));
    });
    conn.on("ping", (data: Buffer) => this.#event(() => this.#dispatch("ping", data)));
    conn.on("pong", (data: Buffer) => this.#event(() => this.#dispatch("pong", data)));
    conn.on("closing", () => {
      if (this.#readyState === OPEN) this.#readyState = CLOSING;
    });
    conn.on("error", (error: Error) => {
      // Socket errors are not reported (ws: 'close' with 1006 follows); peer mistakes are, once.
      if (!isProtocolError(error) || this.#errorEmitted) return;
      this.#errorEmitted = true;
      const mapped = wsError(error, role);
      this.#event(() => this.#emitError(mapped));
    });
    conn.on("close", (code: number, reason: string, wasClean: boolean) => {
      if (this.#readyState === OPEN) this.#readyState = CLOSING;
      this.#abandonSendQueue(new Error("The socket was closed while the blob was being read"));
      this.#writer = null;
      this[kWasCleanClose] = wasClean;
      if (wasClean) {
        this.#closeCode = code;
        this.#closeMessage = reason.length === 0 ? EMPTY_BUFFER : Buffer.from(reason);
      }
      const done = (): void => this.#event(() => this.#emitClose());
      if (socket.destroyed || (socket as Socket).closed) done();
      else socket.once("close", done);
    });
    this.#readyState = OPEN;
    this.#dispatch("open");
  }

  #binary(data: Buffer): unknown {
    switch (this.#binaryType) {
      case "arraybuffer":
        return data.buffer.slice(data.byteOffset, data.byteOffset + data.length);
      case "fragments":
        return [data];
      case "blob":
        return new Blob([data as Uint8Array<ArrayBuffer>]);
      default:
        return data;
    }
  }
}

for (const [name, value] of [
  ["CONNECTING", CONNECTING],
  ["OPEN", OPEN],
  ["CLOSING", CLOSING],
  ["CLOSED", CLOSED],
] as const) {
  // As ws: enumerable, read-only constants on the class and on the prototype.
  Object.defineProperty(WebSocket, name, { enumerable: true, value });
  Object.defineProperty(WebSocket.prototype, name, { enumerable: true, value });
}
for (const property of ["binaryType", "bufferedAmount", "extensions", "isPaused", "protocol", "readyState", "url"]) {
  Object.defineProperty(WebSocket.prototype, property, { enumerable: true });
}
defineEventAttributes(WebSocket.prototype);

export interface SendOptions {
  binary?: boolean;
  compress?: boolean;
  fin?: boolean;
  /** Accepted for ws compatibility; clients always mask, servers never do. */
  mask?: boolean;
}

/** ws's rule for close codes an application may send. */
export function isValidStatusCode(code: number): boolean {
  return (
    (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999)
  );
}
