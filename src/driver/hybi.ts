/**
 * websocket-driver's drivers as hosts of wirecable's sans-I/O engine: `Hybi` (RFC 6455 server
 * driver for a parsed request) and `Client` (which also writes the request and checks the
 * answer). The engine does the framing; this file adds websocket-driver's API and behaviour:
 * its states ("connecting", "open", "closing", "closed"), its event objects, its error
 * messages and close codes (also in the close frames it sends), frames queued before `start()`,
 * ping callbacks by payload, `maxLength`, `requireMasking`, and listeners that throw out of
 * `parse()` (as websocket-driver's do) without input being lost: events not yet delivered go
 * out on the next call.
 */
import { createHash, randomBytes } from "node:crypto";
import { EventEmitter } from "node:events";
import { Engine } from "../protocol/engine.js";
import { ProtocolError } from "../protocol/errors.js";
import type { ExtensionSession } from "../protocol/extensions/extension.js";
import { HttpHeadParser } from "../protocol/handshake/http-head-parser.js";
import { WEBSOCKET_GUID } from "../protocol/handshake/server-handshake.js";
import type { EngineEvent, EngineHost, WebSocketEngine } from "../protocol/types.js";
import { Extensions, type WebSocketExtension } from "./extensions.js";
import { Headers, urlAuthorization } from "./headers.js";
import { ProxyStream } from "./proxy.js";
import { IO, Messages } from "./streams.js";

export const MAX_LENGTH = 0x3ffffff;
const STATES = ["connecting", "open", "closing", "closed"];
const VALID_OPTIONS = ["allowDrafts", "maxLength", "masking", "requireMasking", "protocols"];

export interface DriverOptions {
  allowDrafts?: boolean;
  maxLength?: number;
  masking?: boolean;
  requireMasking?: boolean;
  protocols?: string | string[];
}

/** What websocket-driver reads of a request: Node's IncomingMessage fits. */
export interface DriverRequest {
  method?: string;
  url?: string;
  headers: Record<string, string | string[] | undefined>;
  body?: Uint8Array;
  socket?: { encrypted?: boolean; secure?: boolean };
  connection?: { authorized?: boolean };
}

export class ConnectEvent {}
export class OpenEvent {}
export class CloseEvent {
  constructor(
    readonly code: number,
    readonly reason: string,
  ) {}
}
export class MessageEvent {
  constructor(readonly data: string | Buffer) {}
}
export class PingEvent {
  constructor(readonly data: string) {}
}
export class PongEvent {
  constructor(readonly data: string) {}
}

/** websocket-extensions' validateOptions: unknown keys throw. */
export function validateOptions<T extends object>(options: T | undefined, validKeys: string[]): T {
  for (const key in options ?? {}) {
    if (!validKeys.includes(key)) throw new Error(`Unrecognized option: ${key}`);
  }
  return (options ?? {}) as T;
}

export function isWebSocket(request: DriverRequest): boolean {
  const connection = String(request.headers.connection ?? "");
  const upgrade = String(request.headers.upgrade ?? "");
  return (
    request.method === "GET" &&
    connection.toLowerCase().split(/ *, */).includes("upgrade") &&
    upgrade.toLowerCase() === "websocket"
  );
}

export function generateAccept(key: string): string {
  return createHash("sha1")
    .update(key + WEBSOCKET_GUID)
    .digest("base64");
}

/** websocket-driver's words (and close codes) for the engine's protocol errors. */
function describe(error: ProtocolError): { code: number; reason: string } {
  const d = error.detail ?? 0;
  switch (error.code) {
    case "BAD_OPCODE":
      return { code: 1002, reason: `Unrecognized frame opcode: ${d}` };
    case "BAD_RSV":
      return {
        code: 1002,
        reason: `One or more reserved bits are on: reserved1 = ${d & 0x40 ? 1 : 0}, reserved2 = ${d & 0x20 ? 1 : 0}, reserved3 = ${d & 0x10 ? 1 : 0}`,
      };
    case "CONTROL_FRAME_FRAGMENTED":
      return { code: 1002, reason: `Received fragmented control frame: opcode = ${d}` };
    case "EXPECTED_CONTINUATION":
      return { code: 1002, reason: "Received new data frame but previous continuous frame is unfinished" };
    case "UNEXPECTED_CONTINUATION":
      return { code: 1002, reason: "Received unexpected continuation frame" };
    case "BAD_MASKING":
      return { code: 1003, reason: "Received unmasked frame but masking is required" };
    case "CONTROL_FRAME_TOO_LONG":
      return { code: 1002, reason: `Received control frame having too long payload: ${d}` };
    case "MESSAGE_TOO_BIG":
    case "LENGTH_TOO_LARGE":
    case "TOO_MANY_FRAGMENTS":
      return { code: 1009, reason: "WebSocket frame length too large" };
    case "INVALID_UTF8":
      return { code: 1007, reason: "Could not decode a text frame as UTF-8" };
    case "INVALID_CLOSE_CODE":
    case "INVALID_CLOSE_PAYLOAD":
      return { code: 1002, reason: "" };
    case "EXTENSION_ERROR":
      return { code: 1010, reason: error.message };
    default:
      return { code: error.closeCode, reason: error.message };
  }
}

type FrameArgs = [buffer: unknown, type?: string, code?: number];

export class Hybi extends EventEmitter {
  readyState = 0;
  version = "hybi-13";
  protocol: string | null | undefined;
  url: string | null;
  readonly io: IO;
  messages: Messages;
  protected readonly _request: DriverRequest | null;
  protected readonly _options: DriverOptions;
  protected readonly _maxLength: number;
  protected readonly _headers = new Headers();
  protected readonly _extensions = new Extensions();
  protected readonly _protocols: string[];
  protected _engine: WebSocketEngine | null = null;
  #queue: FrameArgs[] = [];
  #events: Array<() => void> = [];
  /** Inside a call into the engine: events wait for its end. */
  #busy = false;
  #pingCallbacks = new Map<string, () => void>();

  constructor(request: DriverRequest | null, url: string | null, options?: DriverOptions) {
    super();
    this._request = request;
    this.url = url;
    this._options = validateOptions(options, VALID_OPTIONS);
    this._maxLength = this._options.maxLength || MAX_LENGTH;
    this.io = new IO(this);
    this.messages = new Messages(this);
    this.#bindMessages();
    const protocols = this._options.protocols ?? [];
    this._protocols = typeof protocols === "string" ? protocols.split(/ *, */) : protocols;
    if (request === null) return;
    let offered = request.headers["sec-websocket-protocol"];
    if (offered !== undefined) {
      if (typeof offered === "string") offered = offered.split(/ *, */);
      this.protocol = offered.filter((p) => this._protocols.includes(p))[0];
    }
  }

  #bindMessages(): void {
    this.messages.on("error", () => {});
    this.on("message", (event: MessageEvent) => {
      if (this.messages.readable) this.messages.emit("data", event.data);
    });
    this.on("error", (error: Error) => {
      if (this.messages.readable) this.messages.emit("error", error);
    });
    this.on("close", () => {
      const messages = this.messages;
      if (!messages.readable) return;
      messages.readable = messages.writable = false;
      messages.emit("end");
    });
  }

  getState(): string | null {
    return STATES[this.readyState] ?? null;
  }

  /** Register a websocket-extensions extension (before start). */
  addExtension(extension: WebSocketExtension): boolean {
    this._extensions.add(extension);
    return true;
  }

  setHeader(name: string, value: unknown): boolean {
    if (this.readyState > 0) return false;
    this._headers.set(name, value);
    return true;
  }

  start(): boolean {
    if (this.readyState !== 0) return false;
    const request = this._request!;
    if (!isWebSocket(request)) return this._failHandshake(new Error("Not a WebSocket request"));
    let response: Buffer;
    let sessions: ExtensionSession[];
    try {
      ({ response, sessions } = this._handshakeResponse(request));
    } catch (error) {
      return this._failHandshake(error as Error);
    }
    this._write(response);
    this._open(sessions);
    return true;
  }

  _handshakeResponse(request: DriverRequest): { response: Buffer; sessions: ExtensionSession[] } {
    const key = request.headers["sec-websocket-key"];
    const version = request.headers["sec-websocket-version"];
    if (version !== "13") throw new Error(`Unsupported WebSocket version: ${version}`);
    if (typeof key !== "string") throw new Error("Missing handshake request header: Sec-WebSocket-Key");
    this._headers.set("Upgrade", "websocket");
    this._headers.set("Connection", "Upgrade");
    this._headers.set("Sec-WebSocket-Accept", generateAccept(key));
    if (this.protocol) this._headers.set("Sec-WebSocket-Protocol", this.protocol);
    const offer = request.headers["sec-websocket-extensions"];
    const answer = this._extensions.generateResponse(Array.isArray(offer) ? offer.join(", ") : offer);
    if (answer.header) this._headers.set("Sec-WebSocket-Extensions", answer.header);
    const head = ["HTTP/1.1 101 Switching Protocols", this._headers.toString(), ""].join("\r\n");
    return { response: Buffer.from(head, "utf8"), sessions: answer.sessions };
  }

  _failHandshake(error: Error): false {
    const headers = new Headers();
    headers.set("Content-Type", "text/plain");
    headers.set("Content-Length", Buffer.byteLength(error.message, "utf8"));
    this._write(Buffer.from(["HTTP/1.1 400 Bad Request", headers.toString(), error.message].join("\r\n"), "utf8"));
    this.readyState = 3;
    this.emit("error", new Error(error.message));
    this.emit("close", new CloseEvent(1002, error.message));
    return false;
  }

  /** The handshake is done: an engine for the frames, then what was queued before. */
  protected _open(sessions: ExtensionSession[]): void {
    const role = this._request === null ? "client" : "server";
    this._engine = new Engine(this._engineHost(), {
      role,
      maxPayload: this._maxLength,
      maxFragments: 0,
      extensions: sessions,
      protocol: this.protocol ?? "",
      requireMasking: this._options.requireMasking === true,
      echoCloseReason: true,
      closeReason: describe,
      alloc: (size) => Buffer.allocUnsafe(size),
    });
    this._opened();
  }

  /** The engine is open: what was queued goes out, then `open`. */
  protected _opened(): void {
    this.readyState = 1;
    const queued = this.#queue;
    this.#queue = [];
    for (const args of queued) this.frame(...args);
    this.emit("open", new OpenEvent());
  }

  /**
   * The engine's host (also for a subclass's own engine, the hixie drafts): bytes to the driver's
   * io stream, events translated. No timers and no socket: as in websocket-driver, closing the
   * transport is left to the application, on `close`.
   */
  protected _engineHost(): EngineHost {
    return {
      output: (chunk) => this._write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)),
      outputRange: (bytes, start, end) => this._write(Buffer.from(bytes.subarray(start, end))),
      dispatch: (event) => this.#onEngineEvent(event),
      awaitClose: () => {},
      closeTransport: () => {},
    };
  }

  /** Run a call into the engine; its events go out after it. */
  protected _call(fn: () => void): void {
    const outer = this.#busy;
    this.#busy = true;
    try {
      fn();
    } finally {
      this.#busy = outer;
    }
    if (!outer) this._dispatch();
  }

  /** Engine events wait here and go out after the engine call, so that a throw reaches the caller. */
  #onEngineEvent(event: EngineEvent): void {
    this.#translate(event);
    if (!this.#busy) this._dispatch();
  }

  #translate(event: EngineEvent): void {
    switch (event.type) {
      case "open":
        if (this.readyState <= 0) this.#events.push(() => this._opened());
        return;
      case "text":
        this.#events.push(() => this.emit("message", new MessageEvent(event.data)));
        return;
      case "binary":
        this.#events.push(() => this.emit("message", new MessageEvent(Buffer.from(event.data))));
        return;
      case "ping": {
        const data = Buffer.from(event.data).toString();
        this.#events.push(() => this.emit("ping", new PingEvent(data)));
        return;
      }
      case "pong": {
        const data = Buffer.from(event.data).toString();
        const callback = this.#pingCallbacks.get(data);
        this.#pingCallbacks.delete(data);
        this.#events.push(() => {
          callback?.();
          this.emit("pong", new PongEvent(data));
        });
        return;
      }
      case "closing":
        this.readyState = 2;
        return;
      case "error": {
        const err = event.error;
        const reason = err instanceof ProtocolError ? describe(err).reason : err.message;
        // A bad close frame: websocket-driver closes with 1002 and reports no error.
        if (reason === "") return;
        this.#events.push(() => this.emit("error", new Error(reason)));
        return;
      }
      case "close": {
        this.readyState = 3;
        // websocket-driver reports 1000 for a close frame without a code, and a failure's own code.
        const code = event.code === 1005 || event.code === 1006 ? 1000 : event.code;
        const reason = event.reason;
        this.#events.push(() => this.emit("close", new CloseEvent(code, reason)));
        return;
      }
      default:
        return;
    }
  }

  /** Deliver what the engine reported; a listener that throws leaves the rest for the next call. */
  protected _dispatch(): void {
    const events = this.#events;
    while (events.length > 0) events.shift()!();
  }

  parse(chunk: Uint8Array | number[]): void {
    this._dispatch();
    const engine = this._engine;
    if (engine === null || this.readyState === 3) return;
    const bytes = Buffer.isBuffer(chunk) ? Buffer.from(chunk) : Buffer.from(chunk as number[]);
    this._call(() => engine.receiveData(bytes));
  }

  text(message: string): boolean {
    if (this.readyState > 1) return false;
    return this.frame(message, "text");
  }

  binary(message: Uint8Array): boolean {
    if (this.readyState > 1) return false;
    return this.frame(message, "binary");
  }

  ping(message?: string | Uint8Array | number, callback?: () => void): boolean {
    if (this.readyState > 1) return false;
    const payload = message ?? "";
    if (callback) this.#pingCallbacks.set(Buffer.from(String(payload)).toString(), callback);
    return this.frame(payload, "ping");
  }

  pong(message?: string | Uint8Array | number): boolean {
    if (this.readyState > 1) return false;
    return this.frame(message ?? "", "pong");
  }

  close(reason?: string, code?: number): boolean {
    const why = reason || "";
    const status = code || 1000;
    if (this.readyState <= 0) {
      this.readyState = 3;
      this.emit("close", new CloseEvent(status, why));
      return true;
    }
    if (this.readyState === 1) {
      this.readyState = 2;
      const engine = this._engine!;
      this._call(() => engine.close(status, why));
      return true;
    }
    return false;
  }

  /** Send `buffer` as a frame of `type` (text, binary, ping, pong, close with `code`). */
  frame(buffer: unknown, type?: string, code?: number): boolean {
    if (this.readyState <= 0) {
      this.#queue.push([buffer, type, code]);
      return true;
    }
    if (this.readyState > 2) return false;
    const engine = this._engine!;
    let data: string | Uint8Array = Array.isArray(buffer)
      ? Buffer.from(buffer)
      : typeof buffer === "number"
        ? String(buffer)
        : (buffer as string | Uint8Array);
    const kind = type ?? (typeof data === "string" ? "text" : "binary");
    if (this.readyState === 2 && kind !== "close") return true; // closing: dropped, as websocket-driver
    let ok = true;
    this._call(() => {
      switch (kind) {
        case "text":
          engine.send(typeof data === "string" ? data : Buffer.from(data).toString(), { binary: false });
          break;
        case "binary":
          engine.send(typeof data === "string" ? Buffer.from(data) : data, { binary: true });
          break;
        case "ping":
          engine.ping(data);
          break;
        case "pong":
          engine.pong(data);
          break;
        case "close":
          if (typeof data !== "string") data = Buffer.from(data).toString();
          engine.close(code ?? 1000, data);
          break;
        default:
          ok = false;
      }
    });
    return ok;
  }

  _write(chunk: Buffer): void {
    if (this.io.readable) this.io.emit("data", chunk);
  }
}

/** websocket-driver's Client: writes the opening request, checks the answer, then frames. */
export class Client extends Hybi {
  static generateKey(): string {
    return randomBytes(16).toString("base64");
  }
  statusCode: number | undefined;
  headers: Record<string, string> | undefined;
  readonly #key: string;
  readonly #accept: string;
  readonly #http = new HttpHeadParser("response");
  readonly #pathname: string;

  constructor(url: string, options?: DriverOptions) {
    super(null, url, options);
    this.readyState = -1;
    this.#key = Client.generateKey();
    this.#accept = generateAccept(this.#key);
    let uri: URL | null;
    try {
      uri = new URL(url);
    } catch {
      uri = null;
    }
    if (uri === null || (uri.protocol !== "ws:" && uri.protocol !== "wss:")) {
      throw new Error(`${url} is not a valid WebSocket URL`);
    }
    this.#pathname = (uri.pathname || "/") + (uri.search || "");
    this._headers.set("Host", uri.host);
    this._headers.set("Upgrade", "websocket");
    this._headers.set("Connection", "Upgrade");
    this._headers.set("Sec-WebSocket-Key", this.#key);
    this._headers.set("Sec-WebSocket-Version", "13");
    if (this._protocols.length > 0) this._headers.set("Sec-WebSocket-Protocol", this._protocols.join(", "));
    const auth = urlAuthorization(uri);
    if (auth) this._headers.set("Authorization", auth);
  }

  /** A CONNECT request through an HTTP proxy, to pipe before this driver's own io. */
  proxy(origin: string, options?: unknown): ProxyStream {
    return new ProxyStream(this.url!, origin, options);
  }

  override start(): boolean {
    if (this.readyState !== -1) return false;
    const offer = this._extensions.generateOffer();
    if (offer) this._headers.set("Sec-WebSocket-Extensions", offer);
    this._write(Buffer.from([`GET ${this.#pathname} HTTP/1.1`, this._headers.toString(), ""].join("\r\n"), "utf8"));
    this.readyState = 0;
    return true;
  }

  override parse(chunk: Uint8Array | number[]): void {
    if (this.readyState === 3) return;
    if (this.readyState > 0) {
      super.parse(chunk);
      return;
    }
    const result = this.#http.push(Buffer.from(chunk as Uint8Array));
    if (result === null) return;
    if (result instanceof Error) {
      this.#fail("Parse Error");
      return;
    }
    this.statusCode = result.status;
    this.headers = Object.fromEntries(result.headers);
    const sessions = this.#validate();
    if (sessions === null) return;
    this._open(sessions);
    const rest = this.#http.remainder();
    if (rest.byteLength > 0) super.parse(Buffer.from(rest));
  }

  #validate(): ExtensionSession[] | null {
    const headers = this.headers!;
    if (this.statusCode !== 101) return this.#fail(`Unexpected response code: ${this.statusCode}`);
    const upgrade = headers.upgrade ?? "";
    const connection = headers.connection ?? "";
    const accept = headers["sec-websocket-accept"] ?? "";
    const protocol = headers["sec-websocket-protocol"] ?? "";
    if (upgrade === "") return this.#fail("'Upgrade' header is missing");
    if (upgrade.toLowerCase() !== "websocket") return this.#fail("'Upgrade' header value is not 'WebSocket'");
    if (connection === "") return this.#fail("'Connection' header is missing");
    if (connection.toLowerCase() !== "upgrade") return this.#fail("'Connection' header value is not 'Upgrade'");
    if (accept !== this.#accept) return this.#fail("Sec-WebSocket-Accept mismatch");
    this.protocol = null;
    if (protocol !== "") {
      if (!this._protocols.includes(protocol)) return this.#fail("Sec-WebSocket-Protocol mismatch");
      this.protocol = protocol;
    }
    try {
      return this._extensions.activate(headers["sec-websocket-extensions"]);
    } catch (error) {
      return this.#fail((error as Error).message);
    }
  }

  #fail(message: string): null {
    const full = `Error during WebSocket handshake: ${message}`;
    this.readyState = 3;
    this.emit("error", new Error(full));
    this.emit("close", new CloseEvent(1002, full));
    return null;
  }
}
