/**
 * The server side of draft-hixie-thewebsocketprotocol-75 and -76 behind the same
 * {@link WebSocketEngine} interface as the RFC 6455 engine, so the I/O layer drives both alike.
 *
 * Contract (beyond WebSocketEngine's):
 * - The constructor validates the request and hands the handshake response to `host.output` at
 *   once. A refused request gives a 400 response (unless `rejectResponse: false`),
 *   `host.closeTransport()`, then `error` and `close` events.
 * - Events raised while constructing (open, or error + close) are dispatched on the next call
 *   into the driver or in a microtask, never during the constructor: handlers may use the
 *   driver variable.
 * - draft-76: the response head is written at once; the 16-byte challenge answer once the 8
 *   bytes after the request head have arrived (in `options.head` or later through
 *   `receiveData`). Some proxies only forward those bytes after seeing the response head, so
 *   waiting for them before writing anything would deadlock. `open` follows the answer, and
 *   `sendText` calls made before it are queued.
 * - The drafts have no binary messages and no ping/pong: `sendBinary`, `send(bytes)` and
 *   `startMessage("binary")` throw a TypeError (caller's mistake: check `supportsBinary`);
 *   `ping`/`pong` return false (check `supportsPing`; keep-alive needs another way).
 * - No close codes on the wire: a clean end reports 1005, an abrupt one 1006, a peer error its
 *   ProtocolError's closeCode (1002, 1007, 1009) with `wasClean: false`.
 * - Closing: draft-75 has no closing handshake, `close()` ends at once (clean) and EOF is the
 *   normal end. draft-76: `close()` sends 0xFF 0x00 and calls `host.awaitClose()` (arm the close
 *   timer); the peer's 0xFF 0x00 completes it: `host.closeTransport()`, clean `close`. A peer's
 *   0xFF 0x00 is answered with 0xFF 0x00 and ends the connection at once.
 */
import { type HandshakeError, InvalidStateError, ProtocolError } from "../errors.js";
import { DEFAULT_MAX_PAYLOAD } from "../limits.js";
import type { PreparedMessage } from "../prepared-message.js";
import {
  type EngineEvent,
  type EngineHost,
  type MessageWriter,
  ReadyState,
  type Role,
  type SendOptions,
  type WebSocketEngine,
} from "../types.js";
import type { HixieRequest } from "./detect.js";
import { CLOSING_FRAME, encodeTextFrame, HixieFrameParser } from "./framing.js";
import {
  challengeResponse,
  checkHandshakeOptions,
  type HixieDraft,
  type HixieHandshakeOptions,
  prepareHandshake,
} from "./handshake.js";
import { Utf8Validator } from "./utf8.js";

export interface HixieDriverOptions extends HixieHandshakeOptions {
  /** Max bytes of one incoming frame. Default 64 MiB (DEFAULT_MAX_PAYLOAD); 0 = no limit. */
  maxPayload?: number;
  /**
   * Bytes that arrived after the request head (Node's `upgrade` `head`): draft-76's 8-byte key,
   * perhaps frames. Same as calling `receiveData(head)` after construction.
   */
  head?: Uint8Array;
  /** Write a 400 response when the handshake is refused. Default true. */
  rejectResponse?: boolean;
  /** Allocate output buffers (Node passes `Buffer.allocUnsafe`). */
  alloc?: (size: number) => Uint8Array;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8");

function textEvent(bytes: Uint8Array): EngineEvent {
  let data: string | undefined;
  return {
    type: "text",
    bytes,
    get data(): string {
      data ??= decoder.decode(bytes);
      return data;
    },
  };
}

function checkCloseArgs(code: number | undefined, reason: string | undefined): void {
  // Same rules as RFC 6455 7.4 so callers can treat every engine alike, though hixie sends no code.
  if (code !== undefined) {
    const valid =
      Number.isInteger(code) &&
      ((code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999));
    if (!valid) throw new RangeError(`Invalid close code: ${code}`);
  }
  if (reason !== undefined && encoder.encode(reason).length > 123) {
    throw new RangeError("Close reason must be at most 123 bytes of UTF-8");
  }
}

export class HixieDriver implements WebSocketEngine {
  readonly role: Role = "server";
  readonly version: HixieDraft;
  readonly extensions = "";
  /** The drafts cannot carry binary messages. */
  readonly supportsBinary = false;
  /** The drafts have no ping or pong frames. */
  readonly supportsPing = false;

  readonly #host: EngineHost;
  readonly #alloc: (size: number) => Uint8Array;
  readonly #parser: HixieFrameParser;
  #readyState: ReadyState = ReadyState.CONNECTING;
  #protocol = "";
  #handshakeError: HandshakeError | undefined;
  #closeEmitted = false;

  #events: EngineEvent[] = [];
  #depth = 0;
  #flushing = false;

  /** draft-76 until the challenge is answered: the key parts and the /key_3/ bytes so far. */
  #parts: readonly [number, number] | undefined;
  #key3: Uint8Array | undefined;
  #key3Length = 0;
  /** Frames sent before open (draft-76 waiting for key3). */
  #queued: Uint8Array[] = [];
  /** A streamed message in progress, and frames sent meanwhile (kept to preserve framing). */
  #streaming = false;
  #held: Uint8Array[] = [];

  constructor(draft: HixieDraft, request: HixieRequest, host: EngineHost, options: HixieDriverOptions = {}) {
    checkHandshakeOptions(options);
    const maxPayload = options.maxPayload ?? DEFAULT_MAX_PAYLOAD;
    if (!Number.isSafeInteger(maxPayload) || maxPayload < 0) {
      throw new RangeError(`Invalid maxPayload: ${maxPayload}`);
    }
    this.version = draft;
    this.#host = host;
    this.#alloc = options.alloc ?? ((n) => new Uint8Array(n));
    this.#parser = new HixieFrameParser(
      { closingFrames: draft === "hixie-76", maxPayload },
      {
        text: (bytes) => this.#events.push(textEvent(bytes)),
        closingFrame: () => this.#remoteClose(),
        error: (error) => this.#protocolFail(error),
      },
    );

    this.#depth++; // events raised here wait for the next call or the microtask below
    const prepared = prepareHandshake(draft, request, options);
    if (!prepared.ok) {
      this.#handshakeError = prepared.error;
      if (options.rejectResponse !== false) this.#write(prepared.response);
      this.#readyState = ReadyState.CLOSED;
      host.closeTransport(true);
      this.#events.push({ type: "error", error: prepared.error });
      this.#emitClose(1006, "", false, prepared.error);
    } else {
      this.#protocol = prepared.protocol;
      if (prepared.parts === undefined) {
        // draft-75: the response completes the handshake.
        this.#write(prepared.head);
        this.#open();
      } else {
        this.#parts = prepared.parts;
        this.#key3 = new Uint8Array(8);
        const head = options.head ?? new Uint8Array(0);
        const take = Math.min(8, head.length);
        this.#key3.set(head.subarray(0, take));
        this.#key3Length = take;
        if (take === 8) {
          // Head and answer in one write when the client sent both together (the usual case).
          const answer = challengeResponse(this.#parts[0], this.#parts[1], this.#key3);
          const chunk = this.#alloc(prepared.head.length + 16);
          chunk.set(prepared.head);
          chunk.set(answer, prepared.head.length);
          this.#write(chunk);
          this.#open();
        } else {
          this.#write(prepared.head);
        }
      }
    }
    // What follows the head (draft-76: after key3) is frames, parsed like later input.
    if (prepared.ok && options.head !== undefined) {
      this.#receive(options.head.subarray(prepared.parts === undefined ? 0 : Math.min(8, options.head.length)));
    }
    this.#depth--;
    if (this.#events.length > 0) queueMicrotask(() => this.#flush());
  }

  get readyState(): ReadyState {
    return this.#readyState;
  }
  get protocol(): string {
    return this.#protocol;
  }
  /** The reason the opening handshake was refused, if it was. */
  get handshakeError(): HandshakeError | undefined {
    return this.#handshakeError;
  }

  receiveData(data: Uint8Array): void {
    this.#depth++;
    try {
      this.#receive(data);
    } finally {
      this.#leave();
    }
  }

  receiveEof(): void {
    this.#depth++;
    try {
      if (this.#readyState === ReadyState.CLOSED) return;
      // draft-75 has no closing handshake: closing the TCP connection is its normal end.
      const clean = this.version === "hixie-75" && this.#readyState === ReadyState.OPEN && !this.#parser.midFrame;
      this.#end(clean ? 1005 : 1006, "", clean);
    } finally {
      this.#leave();
    }
  }

  send(data: string | Uint8Array, options?: SendOptions): boolean {
    if (typeof data === "string") {
      if (options?.binary === true) throw this.#binaryRefused();
      return this.sendText(data);
    }
    if (options?.binary !== false) throw this.#binaryRefused();
    const check = new Utf8Validator();
    if (!check.push(data) || !check.complete) throw new TypeError("Text message bytes are not valid UTF-8");
    return this.#sendFrame(encodeTextFrame(data, this.#alloc));
  }

  sendText(data: string): boolean {
    if (typeof data !== "string") throw new TypeError("sendText expects a string");
    return this.#sendFrame(encodeTextFrame(encoder.encode(data), this.#alloc));
  }

  sendBinary(_data: Uint8Array): boolean {
    throw this.#binaryRefused();
  }

  /** A prepared text message, framed for this draft (binary ones are refused like `sendBinary`). */
  sendPrepared(message: PreparedMessage): boolean {
    return this.send(message.payload, { binary: message.binary });
  }

  startMessage(kind: "text" | "binary", _options?: SendOptions): MessageWriter {
    if (kind !== "text") throw this.#binaryRefused();
    if (this.#streaming) throw new InvalidStateError("A streamed message is already in progress");
    if (!this.#sendable) {
      return { write: () => false, end: () => false };
    }
    this.#streaming = true;
    this.#writeOrQueue(Uint8Array.of(0x00));
    const utf8 = new Utf8Validator();
    let ended = false;
    const write = (chunk: Uint8Array | string, last: boolean): boolean => {
      if (ended) throw new InvalidStateError("The streamed message has ended");
      const bytes = typeof chunk === "string" ? encoder.encode(chunk) : chunk;
      if (!utf8.push(bytes) || (last && !utf8.complete)) {
        throw new TypeError("Text message bytes are not valid UTF-8");
      }
      if (!this.#sendable || !this.#streaming) return false;
      if (bytes.length > 0) this.#writeOrQueue(bytes.slice());
      if (last) {
        ended = true;
        this.#writeOrQueue(Uint8Array.of(0xff));
        this.#streaming = false;
        const held = this.#held;
        this.#held = [];
        for (const frame of held) this.#writeOrQueue(frame);
      }
      return true;
    };
    return { write: (chunk) => write(chunk, false), end: (chunk = "") => write(chunk, true) };
  }

  /** The drafts have no ping frame: always false. */
  ping(_payload?: Uint8Array | string, _onPong?: () => void): boolean {
    return false;
  }

  /** The drafts have no pong frame: always false. */
  pong(_payload?: Uint8Array | string): boolean {
    return false;
  }

  close(code?: number, reason?: string): boolean {
    checkCloseArgs(code, reason);
    this.#depth++;
    try {
      if (this.#readyState !== ReadyState.OPEN) {
        if (this.#readyState !== ReadyState.CONNECTING) return false;
        // draft-76 still waiting for key3: nothing can be sent before the answer.
        this.#end(1006, "", false);
        return true;
      }
      if (this.version === "hixie-75") {
        // draft-75 has no closing handshake: "close the connection".
        this.#end(1005, "", true);
        return true;
      }
      if (this.#streaming) {
        // 0xFF would end the partial text as if complete: abort the transport instead.
        this.#end(1006, "", false);
        return true;
      }
      // draft-76: "send a 0xFF byte and then a 0x00 byte", then wait for the client's.
      this.#write(CLOSING_FRAME.slice());
      this.#readyState = ReadyState.CLOSING;
      this.#host.awaitClose();
      this.#events.push({ type: "closing", code: code ?? 1000, reason: reason ?? "", initiator: "local" });
      return true;
    } finally {
      this.#leave();
    }
  }

  /** Fail the connection because of `error` (close code: a ProtocolError's, else 1011; the drafts send none). */
  fail(error: Error): void {
    this.#depth++;
    try {
      this.#abort(error instanceof ProtocolError ? error.closeCode : 1011, "", error);
    } finally {
      this.#leave();
    }
  }

  // --- internals -------------------------------------------------------------------------

  get #sendable(): boolean {
    return this.#readyState === ReadyState.OPEN || this.#readyState === ReadyState.CONNECTING;
  }

  #binaryRefused(): TypeError {
    return new TypeError(`${this.version} cannot send binary messages (the draft has no binary frames)`);
  }

  #receive(data: Uint8Array): void {
    if (this.#readyState === ReadyState.CLOSED || data.length === 0) return;
    if (this.#readyState === ReadyState.CONNECTING && this.#key3 !== undefined && this.#parts !== undefined) {
      // draft-76: the 8 bytes after the head are /key_3/, possibly arriving late and in pieces.
      const take = Math.min(8 - this.#key3Length, data.length);
      this.#key3.set(data.subarray(0, take), this.#key3Length);
      this.#key3Length += take;
      data = data.subarray(take);
      if (this.#key3Length < 8) return;
      this.#write(challengeResponse(this.#parts[0], this.#parts[1], this.#key3));
      this.#open();
      if (data.length === 0) return;
    }
    this.#parser.push(data);
  }

  #open(): void {
    this.#readyState = ReadyState.OPEN;
    this.#key3 = undefined;
    this.#events.push({ type: "open", protocol: this.#protocol, extensions: "" });
    const queued = this.#queued;
    this.#queued = [];
    for (const frame of queued) this.#write(frame);
  }

  #sendFrame(frame: Uint8Array): boolean {
    if (!this.#sendable) return false;
    if (this.#streaming) this.#held.push(frame);
    else this.#writeOrQueue(frame);
    return true;
  }

  #writeOrQueue(bytes: Uint8Array): void {
    if (this.#readyState === ReadyState.CONNECTING) this.#queued.push(bytes);
    else this.#write(bytes);
  }

  #write(bytes: Uint8Array): void {
    this.#host.output(bytes);
  }

  /** draft-76: the peer's 0xFF 0x00. */
  #remoteClose(): void {
    if (this.#readyState === ReadyState.OPEN) {
      // "If the WebSocket closing handshake has not yet started, then start" it: answer 0xFF 0x00.
      if (!this.#streaming) this.#write(CLOSING_FRAME.slice());
      this.#events.push({ type: "closing", code: 1005, reason: "", initiator: "remote" });
    }
    // Both 0xFF 0x00 have now crossed: "close the WebSocket connection".
    this.#end(1005, "", !this.#streaming);
  }

  #protocolFail(error: ProtocolError): void {
    this.#events.push({ type: "error", error });
    this.#abort(error.closeCode, "", error);
  }

  #abort(code: number, reason: string, error?: Error): void {
    if (this.#readyState === ReadyState.CLOSED) return;
    // draft-76: tell the peer with 0xFF 0x00 unless already sent or a streamed text is cut.
    if (this.version === "hixie-76" && this.#readyState === ReadyState.OPEN && !this.#streaming) {
      this.#write(CLOSING_FRAME.slice());
    }
    this.#end(code, reason, false, error);
  }

  #end(code: number, reason: string, wasClean: boolean, error?: Error): void {
    this.#readyState = ReadyState.CLOSED;
    this.#host.closeTransport(!wasClean);
    this.#queued = [];
    this.#held = [];
    this.#streaming = false;
    this.#emitClose(code, reason, wasClean, error);
  }

  #emitClose(code: number, reason: string, wasClean: boolean, error?: Error): void {
    if (this.#closeEmitted) return;
    this.#closeEmitted = true;
    this.#events.push(
      error === undefined
        ? { type: "close", code, reason, wasClean }
        : { type: "close", code, reason, wasClean, error },
    );
  }

  #leave(): void {
    if (--this.#depth === 0) this.#flush();
  }

  /** Dispatch queued events to the host, in order; re-entrant calls append to the same queue. */
  #flush(): void {
    if (this.#flushing || this.#depth > 0) return;
    const host = this.#host;
    this.#flushing = true;
    try {
      for (let i = 0; i < this.#events.length; i++) {
        const event = this.#events[i];
        try {
          host.dispatch(event);
        } catch (thrown) {
          // A user's handler that throws fails only its own connection (1011), reported as an error.
          if (this.#readyState !== ReadyState.CLOSED) {
            // Messages parsed after the failing one are dropped: the connection has failed.
            this.#events.length = i + 1;
            const error = thrown instanceof Error ? thrown : new Error(String(thrown), { cause: thrown });
            this.#events.push({ type: "error", error });
            this.#abort(1011, "", error);
          }
        }
      }
    } finally {
      this.#events = [];
      this.#flushing = false;
    }
  }
}
