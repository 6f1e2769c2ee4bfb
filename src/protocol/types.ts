/**
 * The public contract of the sans-I/O engine. The Node layer, the CLI and the tests code against
 * these types; `engine.ts` implements {@link WebSocketEngine}, `legacy/driver.ts` too.
 *
 * Contract, in short:
 * - The engine talks to the layer that carries its bytes through one interface, {@link EngineHost},
 *   given at construction: bytes out (`output`, `outputRange`), events (`dispatch`), and the two
 *   decisions an engine without a clock or socket cannot carry out itself, pushed when they are
 *   taken: `awaitClose` (arm a close timeout) and `closeTransport` (close the connection).
 * - `receiveData(bytes)` never throws because of the peer; peer errors become an `error` event, a
 *   close frame with the right code, and a `close` event.
 * - For each frame, the output it causes (pong, close echo) is handed over before its events,
 *   which are dispatched as each frame completes (so a reply to a message leaves before a close
 *   caused by a later frame of the same chunk).
 */
import type { ProtocolError } from "./errors.js";
import type { ExtensionSession } from "./extensions/extension.js";
import type { PreparedMessage } from "./prepared-message.js";

export type Role = "server" | "client";

/** RFC 6455 / WHATWG readyState values. */
export const ReadyState = { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 } as const;
export type ReadyState = (typeof ReadyState)[keyof typeof ReadyState];

/** Frame opcodes (RFC 6455 section 5.2). */
export const Opcode = { CONTINUATION: 0x0, TEXT: 0x1, BINARY: 0x2, CLOSE: 0x8, PING: 0x9, PONG: 0xa } as const;
export type Opcode = (typeof Opcode)[keyof typeof Opcode];

/** A complete text message. `data` is decoded lazily on first access (UTF-8 already validated). */
export interface TextEvent {
  readonly type: "text";
  readonly data: string;
  /** The raw UTF-8 bytes, valid. */
  readonly bytes: Uint8Array;
}
export interface BinaryEvent {
  readonly type: "binary";
  readonly data: Uint8Array;
}
export interface PingEvent {
  readonly type: "ping";
  readonly data: Uint8Array;
}
export interface PongEvent {
  readonly type: "pong";
  readonly data: Uint8Array;
}
/** The opening handshake completed. */
export interface OpenEvent {
  readonly type: "open";
  readonly protocol: string;
  /** The negotiated `Sec-WebSocket-Extensions` value ("" if none). */
  readonly extensions: string;
}
/** A close frame arrived or was sent first: the closing handshake started. */
export interface ClosingEvent {
  readonly type: "closing";
  readonly code: number;
  readonly reason: string;
  /** "remote" if the peer's close frame came first. */
  readonly initiator: "local" | "remote";
}
/** The connection is over (cleanly or not). Always the last event, emitted exactly once. */
export interface CloseEvent {
  readonly type: "close";
  /** The code received (1005 if the close frame had none, 1006 if no close frame was received). */
  readonly code: number;
  readonly reason: string;
  readonly wasClean: boolean;
  /** Set when the connection failed because of an error. */
  readonly error?: ProtocolError | Error;
}
/** A peer mistake or internal failure. The engine has already answered it (close frame). */
export interface ErrorEvent {
  readonly type: "error";
  readonly error: ProtocolError | Error;
}
export type EngineEvent =
  | OpenEvent
  | TextEvent
  | BinaryEvent
  | PingEvent
  | PongEvent
  | ClosingEvent
  | CloseEvent
  | ErrorEvent;

/** Limits with their defaults (each argued in `limits.ts`). 0 means "no limit". */
export interface EngineLimits {
  /** Max size of one message (after decompression), bytes. Default 64 MiB. Exceeded: 1009. */
  maxPayload?: number;
  /** Max frames in one fragmented message. Default 4096. Exceeded: 1009. */
  maxFragments?: number;
}

/**
 * A slab that engines write short frames into (EngineOptions `arena`). `reserve(size)` returns
 * the offset of `size` free bytes in `bytes` (it may first replace `bytes` by a fresh slab, so
 * read `bytes` after reserving); the bytes are never handed out twice. Reservations are at most
 * `maxReserve` bytes. Consecutive reservations are adjacent unless the slab was replaced, which
 * lets a host write a connection's frames of one turn as one view.
 */
export interface OutputArena {
  readonly bytes: Uint8Array;
  readonly maxReserve: number;
  reserve(size: number): number;
}

/** Where an engine's bytes go: whole chunks, or frames written into the arena (EngineOptions `arena`). */
export interface FrameOutput {
  /**
   * Bytes to write to the transport, after everything handed over before. The host owns them now,
   * unless `shared`: a prepared message's frame (`sendPrepared`), the same object for every
   * connection it is sent to, which always holds the same bytes and which nobody modifies.
   */
  output(chunk: Uint8Array, shared?: boolean): void;
  /**
   * A frame the engine wrote into the arena: `bytes[start..end)`, lent until the host has written
   * it out. Ranges and `output` chunks interleave in output order. Called only with an arena.
   */
  outputRange(bytes: Uint8Array, start: number, end: number): void;
}

/**
 * What an engine needs from the layer that carries its bytes (the Node layer's `Connection`, an
 * HTTP/2 stream, a test). The engine calls it as things happen; the host may call the engine back
 * from any of these methods.
 */
export interface EngineHost extends FrameOutput {
  /** An event, in order. An exception thrown here fails the connection with 1011 (see WebSocketEngine). */
  dispatch(event: EngineEvent): void;
  /**
   * Optional (with EngineOptions `directText`): a text message's decoded string, in place of
   * `dispatch` of its `text` event, in the same order and with the same rules (a throw fails
   * the connection with 1011). While it runs, `send(data)` of that same string frames the
   * received bytes without encoding it again, as for a `text` event whose `bytes` nobody took.
   */
  dispatchText?(data: string): void;
  /**
   * The engine started the closing handshake and waits for the peer's close frame: arm a close
   * timeout (the engine has no clock), and end the transport when it expires.
   */
  awaitClose(): void;
  /**
   * The engine is done with the transport: the closing handshake completed, the connection
   * failed, or the transport ended. Close it: a server at once, a client after a grace delay that
   * lets the server close first (RFC 6455 7.1.1), unless `failed` (the connection failed or the
   * transport ended: RFC 6455 7.1.7, the failing side closes it, whatever its role). Called
   * once, before the `close` event.
   */
  closeTransport(failed?: boolean): void;
}

/**
 * A source of message buffers that a host may reuse (Node's `lendMessages`): the engine takes
 * the buffer of each message it assembles (from several reads or frames) from `acquire`, and
 * gives back through `release` a buffer it stopped using without handing it out (a message that
 * outgrew it). A buffer handed out as a message's payload is the host's to recycle once the
 * message's event was dispatched. A host that implements `lend` (and `dispatched`) hears of each
 * such message around its event's dispatch: `lend(buffer)` right before, `dispatched(token)`
 * right after (also when a listener threw), with what `lend` returned; a message whose event
 * must wait behind another one being dispatched (input fed from inside a listener) is not
 * announced, and its buffer is then never the host's to reuse (it goes to the GC). Only such
 * messages are announced: a message whose payload lies in the input (one piece of one read, the
 * common case for short messages) costs the host nothing. A buffer the engine drops (the
 * connection ended mid-message) is never given back and must not be reused by the host (a read
 * may still be landing in it).
 */
export interface MessageBuffers {
  /** A buffer of at least `size` bytes, at most 5/4 of it (the assembler's memory bound); contents unspecified. */
  acquire(size: number): Uint8Array;
  /** `buffer` (from `acquire`) is no longer used and was never handed out. */
  release(buffer: Uint8Array): void;
  /** Optional: the event of a message whose payload lies in `buffer` (from `acquire`) is about to be dispatched. */
  lend?(buffer: Uint8Array): unknown;
  /** Optional: that event was dispatched; `token` is what `lend` returned. */
  dispatched?(token: unknown): void;
}

export interface EngineOptions extends EngineLimits {
  role: Role;
  /** Mask-key entropy for clients (fills the array). Default: `crypto.getRandomValues` drawn from a pool. */
  randomFill?: (target: Uint8Array) => void;
  /** Negotiated extension sessions (from the handshake), in header order. */
  extensions?: readonly ExtensionSession[];
  /** The negotiated `Sec-WebSocket-Extensions` string (for `extensions` / the open event). */
  extensionsHeader?: string;
  /** The negotiated subprotocol ("" if none). */
  protocol?: string;
  /** Fragment outgoing messages into frames of at most this many payload bytes. Default 0 (never). */
  fragmentSize?: number;
  /** Start in CONNECTING: sends and input wait until `open()`. Default false (start OPEN, no `open` event). */
  startConnecting?: boolean;
  /** Allocate an output buffer (Node passes `Buffer.allocUnsafe`). Default `new Uint8Array(n)`. */
  alloc?: (size: number) => Uint8Array;
  /**
   * Where the buffers of messages assembled from several reads or frames come from (see
   * {@link MessageBuffers}). Default: `alloc`, each message in a buffer of its own. Unused with
   * extensions (a message's buffer goes to the extension flow, which never gives it back).
   */
  messageBuffers?: MessageBuffers;
  /**
   * Short frames are written straight into the arena's current slab and reported with
   * `host.outputRange` instead of a new buffer per frame (one arena can serve every connection of
   * a process; long frames still come as chunks). See {@link OutputArena}.
   */
  arena?: OutputArena;
  /**
   * Fast whole-buffer strict UTF-8 check (Node passes `buffer.isUtf8`), used for text messages
   * that arrive in one piece. Messages arriving piece by piece are always validated
   * incrementally (fail fast). Default: the engine's own validator.
   */
  isUtf8?: (bytes: Uint8Array) => boolean;
  /**
   * Native masking with the API of the `bufferutil` addon (Node may pass the addon itself),
   * used for payloads of 128 bytes or more. Default: the engine's 32-bit-word JS loop.
   */
  masker?: {
    mask(source: Uint8Array, mask: Uint8Array, output: Uint8Array, offset: number, length: number): void;
    unmask(buffer: Uint8Array, mask: Uint8Array): void;
  };
  /**
   * Decode valid UTF-8 in `bytes[start..end)`, lazily on a text event's first `data` access
   * (Node may pass `(b, s, e) => Buffer.from(b.buffer, b.byteOffset, b.length).toString("utf8", s, e)`).
   * Default: TextDecoder (short ASCII strings by hand).
   */
  decodeUtf8?: (bytes: Uint8Array, start: number, end: number) => string;
  /**
   * Decode `bytes[start..end)` known to be ASCII (every byte below 0x80; the engine knows it of
   * short messages from the unmasking pass), e.g. Node's `latin1Slice`, which skips UTF-8's
   * scan. Default: `decodeUtf8`.
   */
  decodeAscii?: (bytes: Uint8Array, start: number, end: number) => string;
  /**
   * Hand a text message to the host's `dispatchText(data)` as its decoded string, instead of a
   * `text` event to `dispatch`, when the message is dispatched at once (nothing else is being
   * dispatched or waits) and the connection has no extension: no event object per message. For
   * a host that only ever wants the string (Node's Connection, server or client, without
   * `textAsBuffer`). A message that must wait behind another event still comes as a `text`
   * event. The string is decoded before the host sees it: a host that may refuse a message
   * unread (a rate limit) wants `text` events, whose `data` is decoded on first read. Ignored
   * when the host has no `dispatchText`. Default false.
   */
  directText?: boolean;
  /**
   * Enforce RFC 6455 5.1's masking rule (default true). False accepts masked and unmasked
   * frames in either role, as websocket-driver does unless `requireMasking` is set.
   */
  requireMasking?: boolean;
  /** Answer pings with a pong (RFC 6455 5.5.2; default true). False leaves it to the host (ws's `autoPong`). */
  autoPong?: boolean;
  /**
   * Validate text messages as UTF-8 (RFC 6455 8.1; default true). False delivers their bytes
   * unchecked (ws's `skipUTF8Validation`): read `TextEvent.bytes`, as `data` may be lossy.
   */
  validateUtf8?: boolean;
  /**
   * The reason (or the code and reason) sent in the close frame when the peer's mistake fails
   * the connection (default: the error's close code and message). Lets a compatibility host
   * send what the library it imitates sends.
   */
  closeReason?: (error: ProtocolError) => string | { code: number; reason: string };
  /** Echo the peer's close reason with its code (ws does; default false: the code only). */
  echoCloseReason?: boolean;
}

export interface SendOptions {
  /** Send as binary (default: strings as text, bytes as binary). */
  binary?: boolean;
  /** Ask extensions to compress (default: extension's choice). `false` for secrets (CRIME/BREACH). */
  compress?: boolean;
}

/** A streaming message being sent fragment by fragment. */
export interface MessageWriter {
  /** Send one more fragment. Returns false if the connection is no longer open. */
  write(chunk: Uint8Array | string): boolean;
  /** Send the final fragment (possibly empty). */
  end(chunk?: Uint8Array | string): boolean;
}

/** What every engine (RFC 6455 and the hixie drafts) exposes to the I/O layer. */
export interface WebSocketEngine {
  readonly role: Role;
  readonly readyState: ReadyState;
  /** "hixie-75", "hixie-76" or "hybi-13". */
  readonly version: string;
  readonly protocol: string;
  readonly extensions: string;

  /**
   * Feed bytes from the transport. Never throws because of their content. The engine takes
   * ownership of `data`: payloads are unmasked in place and events reference the bytes
   * (zero-copy), so the caller must not reuse the buffer (Node's socket buffers are fresh).
   */
  receiveData(data: Uint8Array): void;
  /**
   * Feed bytes that are only lent for the duration of the call (a read buffer the host reuses
   * for every read). Whatever the engine keeps beyond the call it copies: a header cut by the
   * end of the bytes, the pieces of an unfinished message; events carry bytes of their own
   * (binary data, ping and pong payloads, a text event's `bytes`), except that a text event's
   * `data` must be read during its dispatch. Never throws because of the content. Optional: a
   * host without it copies the bytes and calls `receiveData`. `length` (default: all of `data`)
   * hands over only `data[0..length)`: a host may pass its whole read buffer after each read
   * (the same array every time) rather than a view per read; a `length` that is not an integer
   * from 0 to `data.length` is the caller's mistake: a RangeError, before anything is taken.
   * Returns how many of those bytes, at their end, are payload of the data frame whose rest
   * `readTarget()` now offers (all `length` for a read wholly inside it; 0 when it offers none):
   * a host can tell a large frame's payload from the frames and headers before it (Node's read
   * budget counts only those). An engine that returns nothing (written before this answer) answers 0.
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: engines that return nothing (void) still implement it
  receiveLent?(data: Uint8Array, length?: number): number | void;
  /**
   * Where the next bytes from the transport should go: while the engine waits for the rest of
   * a large data frame's payload, a view of the message's own buffer, at most that many bytes
   * long (so that a read into it never crosses the frame's end); null otherwise (read anywhere).
   * A host that read `n` bytes into it hands them back with `receiveData(target.subarray(0, n))`:
   * they are in place, nothing is copied. Valid until the engine is next called. Optional.
   */
  readTarget?(): Uint8Array | null;
  /** The transport ended (EOF, reset, close timeout): `closeTransport`, then `close` (1006) unless already closed. */
  receiveEof(): void;
  /**
   * True when the engine is OPEN and holds nothing that a new engine made with the same options
   * would not: between frames and messages (nothing buffered), no message being sent in pieces,
   * no ping awaiting its pong, no pong held, no extension, no event being dispatched. A host may
   * then drop it and make a new one for its next input or output (an idle server connection
   * after a heartbeat). Optional: a host keeps engines without it.
   */
  atRest?(): boolean;

  /** Send a text (string) or binary (Uint8Array) message. Returns false once closing/closed. */
  send(data: string | Uint8Array, options?: SendOptions): boolean;
  sendText(data: string): boolean;
  sendBinary(data: Uint8Array): boolean;
  /** Send a message prepared once for many connections (a broadcast). Returns false once closing/closed. */
  sendPrepared(message: PreparedMessage, options?: SendOptions): boolean;
  /** Start a streamed message; throws InvalidStateError if one is already in progress. */
  startMessage(kind: "text" | "binary", options?: SendOptions): MessageWriter;
  /** Send a ping (<= 125 bytes). `onPong` runs when a pong with the same payload arrives. */
  ping(payload?: Uint8Array | string, onPong?: () => void): boolean;
  pong(payload?: Uint8Array | string): boolean;
  /**
   * Hold the automatic pongs while the host's transport is backed up: pings received meanwhile
   * are answered once, for the most recent one, when the hold is released (RFC 6455 5.5.3).
   * Optional: engines without pings (the hixie drafts) have none.
   */
  holdPongs?(hold: boolean): void;
  /** Start the closing handshake (code 1000 and "" by default; 1005: a close frame without a body). Validates code and reason (throws). */
  close(code?: number, reason?: string): boolean;
  /**
   * Fail the connection because of `error` (RFC 6455 7.1.7): a ProtocolError closes with its
   * `closeCode` (the PROTOCOL_ERRORS table) and its message as the reason; anything else with 1011
   * and an empty reason. The close event carries `error` (no `error` event: the caller knows it).
   */
  fail(error: Error): void;

  /**
   * The opening handshake completed: leave CONNECTING (flushing queued sends and input) and emit
   * `open`. Only for engines created with `startConnecting`.
   */
  open?(): void;

  /**
   * Run `callback` once every message sent so far has been framed (after pending extension
   * transforms), or once the connection gave up on them. Optional: engines without
   * asynchronous transforms may leave it out (the host then calls back at once).
   */
  afterFramed?(callback: () => void): void;
}

/** Creates the engine of a connection for its host (the Node layer takes one per protocol version). */
export type EngineFactory = (host: EngineHost, options: EngineOptions) => WebSocketEngine;
