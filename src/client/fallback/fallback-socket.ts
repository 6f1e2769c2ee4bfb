/**
 * FallbackSocket: a WebSocket over plain HTTP, for networks that block WebSocket upgrades,
 * shaped like the browser's WebSocket (readyState, protocol, bufferedAmount, binaryType,
 * send/close, open/message/error/close events, `on*` handlers) so that ReconnectingWebSocket and
 * the ActionCable consumer use it as they use a WebSocket. Talks to a wirecable server with
 * `fallback` enabled (the wire: src/protocol/fallback/wire.ts). Browser-safe: fetch, streams,
 * TextDecoder, crypto.getRandomValues.
 *
 * Contract:
 * - Downstream: the `open` POST's response is a text/event-stream read with fetch (not
 *   EventSource: every request carries the session's token in a header, and a broken stream is
 *   resumed by this class, exactly where it stopped, instead of silently reopened). A stream that
 *   breaks without the server's close is resumed (up to 3 tries within ~3 s); if that fails the
 *   socket closes with 1006, as a WebSocket whose TCP connection dies.
 * - Upstream: `send` frames each message as a browser WebSocket does (RFC 6455, masked, with
 *   the engine's frame encoder) and the frames leave in POSTs, one at a time, batched: what is
 *   sent while a POST runs goes in the next. A POST that fails on the network is retried with the
 *   same offset (the server never delivers bytes twice); the socket closes with 1006 after 3
 *   failures or when the server no longer knows the session. `bufferedAmount` counts what has
 *   not been accepted yet.
 * - Pings are answered with pongs; the server's close frame is echoed; `close()` sends ours and
 *   waits for the server's (at most `closeTimeout`), as RFC 6455 7 has it.
 * - Events are dispatched asynchronously (never inside `send`/`close`), in order; a listener that
 *   throws is reported (reportError) and does not stop the others.
 */
import { SseParser } from "../../protocol/fallback/sse.js";
import {
  ACK_PARAM,
  DownEvent,
  EVENT_STREAM,
  FALLBACK_PARAM,
  FallbackOp,
  fallbackUrl,
  OFFSET_PARAM,
  OPEN_EVENT,
  PROTOCOLS_PARAM,
  parseCloseInfo,
  parseOpenInfo,
  SESSION_PARAM,
  TOKEN_HEADER,
} from "../../protocol/fallback/wire.js";
import { encodeFrame } from "../../protocol/frames/frame-encoder.js";
import type { SocketListener, WebSocketLike } from "../types.js";

export interface FallbackSocketOptions {
  /** The fetch to use. Default `globalThis.fetch`. */
  fetch?: typeof fetch;
  /** Largest POST body, bytes (the server's `maxRequestBytes`). Default 1 MiB. */
  maxRequestBytes?: number;
  /** How long `close()` waits for the server's close frame, ms. Default 5 000. */
  closeTimeout?: number;
}

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;
/** Delays before the retries of a failed POST or stream resume, ms. */
const RETRIES = [250, 1000, 2000];

const encoder = new TextEncoder();

function randomKey(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(4));
}

function domError(message: string, name: string): Error {
  return typeof DOMException === "function"
    ? new DOMException(message, name)
    : Object.assign(new Error(message), { name });
}

function wait(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export class FallbackSocket implements WebSocketLike {
  static readonly CONNECTING = CONNECTING;
  static readonly OPEN = OPEN;
  static readonly CLOSING = CLOSING;
  static readonly CLOSED = CLOSED;

  readonly url: string;
  readyState = CONNECTING;
  protocol = "";
  readonly extensions = "";
  binaryType = "blob";
  onopen: SocketListener | null = null;
  onmessage: SocketListener | null = null;
  onerror: SocketListener | null = null;
  onclose: SocketListener | null = null;

  readonly #fetch: typeof fetch;
  readonly #maxRequest: number;
  readonly #closeTimeout: number;
  readonly #abort = new AbortController();
  readonly #listeners = new Map<string, SocketListener[]>();
  #session = "";
  #token = "";
  /** Events received after `open` (what a resume starts from, and what POSTs acknowledge). */
  #received = 0;
  /** Frames not accepted by the server yet, in order. */
  #queue: Uint8Array[] = [];
  #queued = 0;
  /** Upstream bytes the server accepted. */
  #offset = 0;
  #posting = false;
  /** Sends of Blobs in progress: later sends wait behind them, in order. */
  #chain: Promise<void> | null = null;
  #closeSent = false;
  #closeReceived: { code: number; reason: string } | null = null;
  #closeTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(url: string, protocols?: string | string[], options: FallbackSocketOptions = {}) {
    const list = protocols === undefined ? [] : typeof protocols === "string" ? [protocols] : [...protocols];
    if (new Set(list).size !== list.length || list.some((p) => !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(p))) {
      throw domError(`invalid subprotocol list ${JSON.stringify(list)}`, "SyntaxError");
    }
    const given = options.fetch;
    if (given === undefined && typeof globalThis.fetch !== "function") {
      throw new TypeError("FallbackSocket needs fetch (the `fetch` option)");
    }
    this.url = url;
    // The global fetch must be called on the global object (a browser throws "Illegal invocation").
    this.#fetch = given ?? ((input, init) => globalThis.fetch(input, init));
    this.#maxRequest = options.maxRequestBytes ?? 1024 * 1024;
    this.#closeTimeout = options.closeTimeout ?? 5000;
    const params: Record<string, string> = { [FALLBACK_PARAM]: FallbackOp.open };
    if (list.length > 0) params[PROTOCOLS_PARAM] = list.join(",");
    void this.#start(fallbackUrl(url, params));
  }

  /** Bytes handed to `send` and not accepted by the server yet. */
  get bufferedAmount(): number {
    return this.#queued;
  }

  addEventListener(type: string, listener: SocketListener): void {
    const list = this.#listeners.get(type);
    if (list === undefined) this.#listeners.set(type, [listener]);
    else if (!list.includes(listener)) list.push(listener);
  }

  removeEventListener(type: string, listener: SocketListener): void {
    const list = this.#listeners.get(type);
    if (list !== undefined)
      this.#listeners.set(
        type,
        list.filter((l) => l !== listener),
      );
  }

  send(data: string | ArrayBufferLike | ArrayBufferView | Blob): void {
    if (this.readyState === CONNECTING) throw domError("send: still connecting", "InvalidStateError");
    if (this.readyState !== OPEN) return; // as a browser: discarded once closing
    if (typeof Blob === "function" && data instanceof Blob) {
      const previous = this.#chain ?? Promise.resolve();
      const next = previous.then(() => data.arrayBuffer()).then((buffer) => this.#frame(2, new Uint8Array(buffer)));
      this.#track(next);
      return;
    }
    const opcode = typeof data === "string" ? 1 : 2;
    const bytes =
      typeof data === "string"
        ? encoder.encode(data)
        : ArrayBuffer.isView(data)
          ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
          : new Uint8Array(data as ArrayBufferLike);
    if (this.#chain !== null) this.#track(this.#chain.then(() => this.#frame(opcode, bytes)));
    else this.#frame(opcode, bytes);
  }

  close(code?: number, reason = ""): void {
    if (code !== undefined && code !== 1000 && !(code >= 3000 && code <= 4999)) {
      throw domError(`close code must be 1000 or 3000-4999, got ${code}`, "InvalidAccessError");
    }
    const reasonBytes = encoder.encode(reason);
    if (reasonBytes.length > 123) throw domError("close reason longer than 123 bytes", "SyntaxError");
    if (this.readyState >= CLOSING) return;
    if (this.readyState === CONNECTING) {
      this.#fail("closed before the connection opened");
      return;
    }
    this.readyState = CLOSING;
    this.#sendClose(code === undefined ? new Uint8Array(0) : closeBody(code, reasonBytes));
    this.#closeTimer = setTimeout(() => this.#finish(1006, "", false), this.#closeTimeout);
  }

  // ---- downstream ---------------------------------------------------------------------------

  /** POST `url` (credentials as a WebSocket has them: cookies, to other origins too). */
  #request(url: string, headers: Record<string, string>, body?: Uint8Array): Promise<Response> {
    return this.#fetch(url, {
      method: "POST",
      headers,
      body: body as Uint8Array<ArrayBuffer> | undefined, // frames are never in a SharedArrayBuffer
      credentials: "include",
      cache: "no-store",
      signal: this.#abort.signal,
    });
  }

  async #start(url: string): Promise<void> {
    let response: Response;
    try {
      response = await this.#request(url, { accept: EVENT_STREAM });
    } catch (error) {
      this.#fail(`fallback request failed: ${error}`);
      return;
    }
    if (!this.#isStream(response)) {
      response.body?.cancel().catch(() => {});
      this.#fail(`fallback refused: HTTP ${response.status}`);
      return;
    }
    await this.#read(response.body!);
  }

  #isStream(response: Response): boolean {
    return (
      response.status === 200 &&
      response.body !== null &&
      (response.headers.get("content-type") ?? "").startsWith(EVENT_STREAM)
    );
  }

  /** Read a stream to its end, then resume it or finish. */
  async #read(body: ReadableStream<Uint8Array>): Promise<void> {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    const parser = new SseParser();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done || this.readyState === CLOSED) break;
        for (const event of parser.push(decoder.decode(value, { stream: true }))) {
          this.#onEvent(event.type, event.data);
          if (this.readyState === CLOSED) break;
        }
      }
    } catch {
      // The stream broke (network, proxy, abort): what follows decides.
    }
    reader.cancel().catch(() => {});
    if (this.readyState === CLOSED) return;
    if (this.#closeReceived !== null) {
      this.#finish(this.#closeReceived.code, this.#closeReceived.reason, true);
      return;
    }
    if (this.readyState === CONNECTING) {
      this.#fail("the fallback stream ended before it opened");
      return;
    }
    await this.#resume();
  }

  async #resume(): Promise<void> {
    for (let attempt = 0; attempt <= RETRIES.length && this.readyState !== CLOSED; attempt++) {
      if (attempt > 0) await wait(RETRIES[attempt - 1]!);
      if (this.readyState === CLOSED) return;
      const url = this.#url(FallbackOp.resume, { [OFFSET_PARAM]: this.#received });
      let response: Response;
      try {
        response = await this.#request(url, { accept: EVENT_STREAM, [TOKEN_HEADER]: this.#token });
      } catch {
        continue;
      }
      if (this.#isStream(response)) {
        await this.#read(response.body!);
        return;
      }
      response.body?.cancel().catch(() => {});
      if (response.status < 500) break; // the session is gone (404, 410)
    }
    this.#fail("the fallback stream broke and could not be resumed");
  }

  #onEvent(type: string, data: string): void {
    if (this.readyState === CONNECTING) {
      const info = type === OPEN_EVENT ? parseOpenInfo(data) : null;
      if (info === null) {
        this.#fail("the fallback stream did not start with its open event");
        return;
      }
      this.#session = info.session;
      this.#token = info.token;
      this.protocol = info.protocol;
      this.readyState = OPEN;
      this.#dispatch("open", {});
      return;
    }
    this.#received++;
    switch (type) {
      case DownEvent.message:
        this.#message(data);
        return;
      case DownEvent.text: {
        let text: unknown;
        try {
          text = JSON.parse(data);
        } catch {
          text = undefined;
        }
        if (typeof text === "string") this.#message(text);
        return;
      }
      case DownEvent.binary:
        this.#message(this.#binary(base64Bytes(data)));
        return;
      case DownEvent.ping:
        if (!this.#closeSent) this.#frame(10, base64Bytes(data));
        return;
      case DownEvent.close: {
        const info = parseCloseInfo(data) ?? { code: 1005, reason: "" };
        this.#closeReceived = info;
        if (!this.#closeSent) {
          // RFC 6455 5.5.1: echo the status code.
          this.readyState = CLOSING;
          this.#sendClose(info.code === 1005 ? new Uint8Array(0) : closeBody(info.code, new Uint8Array(0)));
        }
        return;
      }
      default:
        return;
    }
  }

  #message(data: unknown): void {
    if (this.readyState === OPEN) this.#dispatch("message", { data });
  }

  #binary(bytes: Uint8Array<ArrayBuffer>): unknown {
    if (this.binaryType === "blob" && typeof Blob === "function") return new Blob([bytes]);
    return bytes.buffer;
  }

  // ---- upstream -----------------------------------------------------------------------------

  #track(step: Promise<void>): void {
    const chained = step.catch((error: unknown) => this.#fail(`send failed: ${(error as Error)?.message ?? error}`));
    this.#chain = chained;
    void chained.then(() => {
      if (this.#chain === chained) this.#chain = null;
    });
  }

  #frame(opcode: number, payload: Uint8Array): void {
    if (this.readyState === CLOSED) return;
    this.#enqueue(encodeFrame(opcode, payload, { maskKey: randomKey() }));
  }

  #sendClose(body: Uint8Array): void {
    this.#closeSent = true;
    this.#enqueue(encodeFrame(8, body, { maskKey: randomKey() }));
  }

  #enqueue(frame: Uint8Array): void {
    this.#queue.push(frame);
    this.#queued += frame.length;
    if (!this.#posting) {
      this.#posting = true;
      // Everything sent in this task goes in one POST.
      queueMicrotask(() => void this.#post());
    }
  }

  /** POST what is queued, one request at a time, until the queue is empty. */
  async #post(): Promise<void> {
    while (this.#queue.length > 0 && this.readyState !== CLOSED) {
      const body = this.#take();
      let accepted = false;
      for (let attempt = 0; attempt <= RETRIES.length && this.readyState !== CLOSED; attempt++) {
        if (attempt > 0) await wait(RETRIES[attempt - 1]!);
        const url = this.#url(FallbackOp.send, { [OFFSET_PARAM]: this.#offset, [ACK_PARAM]: this.#received });
        let status: number;
        try {
          const response = await this.#request(
            url,
            { [TOKEN_HEADER]: this.#token, "content-type": "application/octet-stream" },
            body,
          );
          status = response.status;
          response.body?.cancel().catch(() => {});
        } catch {
          continue; // the network: retry the same bytes at the same offset
        }
        if (status === 204) {
          accepted = true;
          break;
        }
        if (status !== 409 && status < 500) break; // 404: the session is gone; 4xx: refused
      }
      if (this.readyState === CLOSED) return;
      if (!accepted) {
        this.#fail("the server did not accept what was sent");
        return;
      }
      this.#offset += body.length;
      this.#queued -= body.length;
    }
    this.#posting = false;
  }

  /** The next POST's body: queued frames, at most maxRequestBytes (a frame may be split). */
  #take(): Uint8Array {
    const queue = this.#queue;
    let size = 0;
    let count = 0;
    while (count < queue.length && size < this.#maxRequest) size += queue[count++]!.length;
    if (size > this.#maxRequest) {
      // Split the last frame: the upstream is a byte stream.
      const last = queue[count - 1]!;
      const keep = last.length - (size - this.#maxRequest);
      queue[count - 1] = last.subarray(0, keep);
      queue.splice(count, 0, last.subarray(keep));
      size = this.#maxRequest;
    }
    const parts = queue.splice(0, count);
    if (parts.length === 1) return parts[0]!;
    const body = new Uint8Array(size);
    let at = 0;
    for (const part of parts) {
      body.set(part, at);
      at += part.length;
    }
    return body;
  }

  // ---- ending -------------------------------------------------------------------------------

  #url(op: string, params: Record<string, string | number>): string {
    return fallbackUrl(this.url, { [FALLBACK_PARAM]: op, [SESSION_PARAM]: this.#session, ...params });
  }

  /** Fail the connection (RFC 6455 7.1.7): error, then close with 1006. */
  #fail(message: string): void {
    if (this.readyState === CLOSED) return;
    this.#dispatch("error", { error: new Error(message), message });
    this.#finish(1006, "", false);
  }

  #finish(code: number, reason: string, wasClean: boolean): void {
    if (this.readyState === CLOSED) return;
    this.readyState = CLOSED;
    clearTimeout(this.#closeTimer);
    this.#abort.abort();
    this.#queue = [];
    this.#dispatch("close", { code, reason, wasClean });
  }

  #dispatch(type: string, fields: Record<string, unknown>): void {
    const event = { type, target: this, ...fields };
    // Never inside send() or close(), as in a browser; the listeners are those present then.
    queueMicrotask(() => {
      const listeners = [...(this.#listeners.get(type) ?? [])];
      const handler = (this as unknown as Record<string, SocketListener | null>)[`on${type}`];
      if (typeof handler === "function") listeners.push(handler);
      for (const listener of listeners) {
        try {
          listener.call(this, event);
        } catch (error) {
          const report = (globalThis as { reportError?: (e: unknown) => void }).reportError;
          if (typeof report === "function") report(error);
          else console.error(error);
        }
      }
    });
  }
}

function closeBody(code: number, reason: Uint8Array): Uint8Array {
  const body = new Uint8Array(2 + reason.length);
  body[0] = code >> 8;
  body[1] = code & 0xff;
  body.set(reason, 2);
  return body;
}

function base64Bytes(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
