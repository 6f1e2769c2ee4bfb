/**
 * websocket-driver's `Driver.server()`: a driver that reads the HTTP request itself from its
 * `io` stream, emits 'connect' once the head is in, then delegates to the driver
 * `Driver.http()` picks for it (calls made before are queued and replayed). And `http()`:
 * RFC 6455 unless `allowDrafts` and the request is a hixie-75/76 one.
 */
import { HttpHeadParser } from "../protocol/handshake/http-head-parser.js";
import { Draft } from "./draft.js";
import { ConnectEvent, type DriverOptions, type DriverRequest, Hybi, validateOptions } from "./hybi.js";

const EVENTS = ["open", "message", "error", "close", "ping", "pong"];
const DELEGATED = ["addExtension", "setHeader", "start", "frame", "text", "binary", "ping", "close"] as const;

export function isSecureRequest(request: DriverRequest): boolean {
  if (request.connection && request.connection.authorized !== undefined) return true;
  if (request.socket?.encrypted || request.socket?.secure) return true;
  const headers = request.headers;
  if (!headers) return false;
  if (headers.https === "on") return true;
  if (headers["x-forwarded-ssl"] === "on") return true;
  if (headers["x-forwarded-scheme"] === "https") return true;
  if (headers["x-forwarded-proto"] === "https") return true;
  return false;
}

export function determineUrl(request: DriverRequest): string {
  const scheme = isSecureRequest(request) ? "wss:" : "ws:";
  return `${scheme}//${request.headers.host}${request.url}`;
}

export function http(request: DriverRequest, options?: DriverOptions): Hybi {
  const opts = { ...validateOptions(options, ["allowDrafts", "maxLength", "masking", "requireMasking", "protocols"]) };
  if (opts.requireMasking === undefined) opts.requireMasking = true;
  const headers = request.headers;
  const version = headers["sec-websocket-version"];
  const key = headers["sec-websocket-key"];
  const url = determineUrl(request);
  if (!opts.allowDrafts || version || key) return new Hybi(request, url, opts);
  const draft = headers["sec-websocket-key1"] || headers["sec-websocket-key2"] ? "hixie-76" : "hixie-75";
  return new Draft(request, url, opts, draft);
}

export class Server extends Hybi {
  method: string | undefined;
  headers: Record<string, string> | undefined;
  body: Buffer | undefined;
  #delegate: Hybi | null = null;
  #pending: Array<[string, unknown[]]> = [];
  readonly #http = new HttpHeadParser("request");

  constructor(options?: DriverOptions) {
    super(null, null, options);
    this.removeAllListeners("error");
    this.on("error", () => {});
  }

  override parse(chunk: Uint8Array | number[]): void {
    if (this.#delegate !== null) {
      this.#delegate.parse(chunk);
      return;
    }
    const head = this.#http.push(Buffer.from(chunk as Uint8Array));
    if (head === null) return;
    if (head instanceof Error) {
      this.emit("error", head);
      return;
    }
    this.method = head.method;
    this.url = head.target ?? "/";
    this.headers = Object.fromEntries(head.headers);
    this.body = Buffer.from(this.#http.remainder());
    const request: DriverRequest = { method: this.method, url: this.url, headers: this.headers };
    const delegate = http(request, this._options);
    this.#delegate = delegate;
    delegate.messages = this.messages;
    (delegate as { io: unknown }).io = this.io;
    for (const [method, args] of this.#pending) (delegate[method as "start"] as (...a: unknown[]) => unknown)(...args);
    this.#pending = [];
    for (const event of EVENTS) delegate.on(event, (e: unknown) => this.emit(event, e));
    this.protocol = delegate.protocol;
    this.version = delegate.version;
    if (this.body.byteLength > 0) delegate.parse(this.body);
    this.emit("connect", new ConnectEvent());
  }

  /** The driver picked for the request, once its head arrived (internal). */
  delegateOf(): Hybi | null {
    return this.#delegate;
  }

  /** A call made before the request arrived, replayed on the delegate (internal). */
  queueCall(method: string, args: unknown[]): void {
    this.#pending.push([method, args]);
  }

  override getState(): string | null {
    return this.#delegate === null ? "connecting" : this.#delegate.getState();
  }
}

for (const method of DELEGATED) {
  Object.defineProperty(Server.prototype, method, {
    configurable: true,
    writable: true,
    value(this: Server & { [k: string]: unknown }, ...args: unknown[]) {
      const delegate = (this as unknown as { delegateOf(): Hybi | null }).delegateOf();
      if (delegate !== null) return (delegate[method] as (...a: unknown[]) => unknown).apply(delegate, args);
      (this as unknown as { queueCall(m: string, a: unknown[]): void }).queueCall(method, args);
      return true;
    },
  });
}
