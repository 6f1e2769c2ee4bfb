/**
 * The sans-I/O RFC 6455 engine: bytes in, events and bytes out, no clock, no sockets.
 *
 * Contract (see types.ts for the interface):
 * - It talks to its host through {@link EngineHost} only: output as it is produced
 *   (`output`/`outputRange`), events as each frame completes (`dispatch`; with `directText`, a text
 *   message dispatched at once goes to `dispatchText` as its string), and the decisions it
 *   cannot carry out itself as it takes them (`awaitClose`, `closeTransport`). The output a frame
 *   causes (pong, close echo) is handed over before that frame's events, and a handler's reply
 *   to a message leaves before anything caused by later frames. The host may call the engine
 *   re-entrantly.
 * - `receiveData(bytes)` never throws. It takes ownership of `bytes`: payloads are unmasked in
 *   place and handed out as zero-copy views. `receiveLent(bytes, length)` borrows `bytes[0..length)`
 *   for the call only: what outlives it (a cut header, a message's pieces, event payloads) is copied.
 *   `readTarget()` offers the rest of a large frame's payload as a view of the message's own
 *   buffer, for the host to read into (the bytes then come back through `receiveData`). Every
 *   failure goes through one choke point (`#fail`): an `error` event (not for the host's own
 *   `fail(error)`), a close frame with the close code of the error (PROTOCOL_ERRORS; 1011 and
 *   an empty reason for anything else, which stays available as the close event's `error`),
 *   then `closing`, `closeTransport` and `close`. After a failure no more input is processed (RFC 6455 7.1.7).
 * - A throwing `dispatch` (or `ping` callback) fails the connection with 1011, the exception
 *   reported as the `error` event's and the close event's `error`; once closed, it is rethrown
 *   asynchronously with `queueMicrotask` so it is not lost.
 * - The engine answers pings and echoes close frames itself (while the host holds pongs, see
 *   `holdPongs`, only the most recent ping, later). Events: open (from `open()`),
 *   text, binary, ping, pong, closing, close (exactly once, always last), error.
 * - Extensions transform whole messages, possibly asynchronously; order is kept both ways
 *   (extension-flow.ts). The engine owns their sessions and closes them when the connection ends.
 * - Data frames become messages in message-receiver.ts (assembly, UTF-8, lent input copied);
 *   control frames, failures and the closing handshake are the engine's own.
 */
import { encodeClosePayload, failureClose, isValidCloseCode, parseClosePayload } from "./close-codes.js";
import { EventDispatcher, HeldOutput } from "./engine-queue.js";
import { InvalidStateError, OptionError, ProtocolError } from "./errors.js";
import { ExtensionFlow } from "./extension-flow.js";
import { ExtensionPipeline } from "./extensions/extension-pipeline.js";
import { checkLength, FrameParser, type FrameSink } from "./frames/frame-parser.js";
import { FrameSender } from "./frames/frame-sender.js";
import { resolveLimits } from "./limits.js";
import { MessageReceiver, type ReceiverHost, type ReceiverOptions } from "./message-receiver.js";
import { closedWriter, controlBytes, createMessageWriter, toBytes } from "./message-writer.js";
import { PingTracker } from "./ping-tracker.js";
import type { PreparedMessage } from "./prepared-message.js";
import { type BinaryMessage, decodeUtf8, type TextMessage } from "./text-message.js";
import {
  type EngineEvent,
  type EngineHost,
  type EngineOptions,
  type MessageWriter,
  ReadyState,
  type Role,
  type SendOptions,
  type WebSocketEngine,
} from "./types.js";
import { isValidUtf8 } from "./utf8.js";

const encoder = new TextEncoder();
const defaultAlloc = (size: number): Uint8Array => new Uint8Array(size);
/**
 * From this many payload bytes still to come in a frame, `readTarget` offers them in place (a read into it stops at
 * the frame's end: a short rest would cost a read of its own, where the shared read buffer takes it with what follows).
 */
const IN_PLACE_MIN = 16 * 1024;

/** Where an engine is in its life. It only moves forward (CONNECTING may be skipped). */
const Phase = {
  /** Before `open()` (startConnecting): output and input wait. */
  CONNECTING: 0,
  OPEN: 1,
  /** `close()` was called; our close frame waits behind a message an extension is transforming. */
  CLOSE_QUEUED: 2,
  /** Our close frame is out (ours first, or our echo of the peer's): no more data from us. */
  CLOSING: 3,
  /** Over: the closing handshake completed, the connection failed or the transport ended. */
  CLOSED: 4,
} as const;
type Phase = (typeof Phase)[keyof typeof Phase];

const READY_STATE: readonly ReadyState[] = [
  ReadyState.CONNECTING,
  ReadyState.OPEN,
  ReadyState.CLOSING,
  ReadyState.CLOSING,
  ReadyState.CLOSED,
];

export class Engine implements WebSocketEngine {
  readonly role: Role;
  readonly version = "hybi-13";
  readonly protocol: string;
  readonly extensions: string;

  readonly #host: EngineHost;
  #phase: Phase;
  readonly #events: EventDispatcher<EngineEvent, Engine>;
  /** Output and input waiting for `open()`; null once open (or when created open). */
  #heldOutput: HeldOutput | null;
  #heldInput: Uint8Array[] | null;

  readonly #parser: FrameParser;
  /** Data frames to message events (the engine's frame sink hands them over). */
  readonly #receiver: MessageReceiver;
  readonly #sender: FrameSender;
  /** Order around the negotiated extensions' transforms; null without any (then all paths are synchronous). */
  readonly #flow: ExtensionFlow | null = null;
  readonly #autoPong: boolean;
  readonly #echoCloseReason: boolean;
  readonly #closeReason: EngineOptions["closeReason"];

  /** Pings waiting for their pong; created by the first ping with a callback. */
  #pings: PingTracker | null = null;
  /** While a streamed message is being sent: the sends held back until it ends; null otherwise. */
  #held: Array<() => void> | null = null;
  /** holdPongs(true): pings are answered later, only the most recent one (a copy of its payload). */
  #pongsHeld = false;
  #pendingPong: Uint8Array | null = null;

  constructor(host: EngineHost, options: EngineOptions) {
    if (options.role !== "server" && options.role !== "client")
      throw new OptionError("role", 'must be "server" or "client"');
    this.role = options.role;
    this.protocol = options.protocol ?? "";
    this.extensions = options.extensionsHeader ?? "";
    this.#host = host;
    this.#events = new EventDispatcher<EngineEvent, Engine>(host, Engine.#dispatchThrew, this);
    const { maxPayload, maxFragments, fragmentSize } = resolveLimits(options);
    this.#autoPong = options.autoPong !== false;
    this.#echoCloseReason = options.echoCloseReason === true;
    this.#closeReason = options.closeReason;
    const sessions = options.extensions ?? [];
    const alloc = options.alloc ?? defaultAlloc;
    const received = {
      alloc,
      isUtf8: options.isUtf8 ?? isValidUtf8,
      nativeIsUtf8: options.isUtf8,
      decode: options.decodeUtf8 ?? decodeUtf8,
      decodeAscii: options.decodeAscii ?? options.decodeUtf8 ?? decodeUtf8,
      validateUtf8: options.validateUtf8 !== false,
      messageBuffers: options.messageBuffers,
      directText: options.directText === true && host.dispatchText !== undefined,
    };
    if (sessions.length > 0) {
      this.#flow = new ExtensionFlow(
        sessions,
        { maxPayload, ...received },
        {
          commit: (event) => this.#commit(event),
          frame: (o) => this.#frameNow(o.message, o.opcode, o.fin, o.rsv, o.data),
          fail: (error) => this.#fail(error),
          settled: () => this.#events.flush(),
        },
      );
    }
    const sink = new Engine.#Sink(this, received, this.#flow);
    this.#receiver = sink.receiver;
    this.#parser = new FrameParser(
      {
        role: this.role,
        maxPayload,
        maxFragments,
        rsvAllowed: ExtensionPipeline.rsvClaimed(sessions),
        masker: options.masker,
        requireMasking: options.requireMasking,
        // Without extensions a whole short message is delivered as it is: the parser's fast path.
        wholeMessages: sessions.length === 0,
      },
      sink,
    );
    const connecting = options.startConnecting === true;
    this.#phase = connecting ? Phase.CONNECTING : Phase.OPEN;
    this.#heldOutput = connecting ? new HeldOutput() : null;
    this.#heldInput = connecting ? [] : null;
    this.#sender = new FrameSender({
      role: this.role,
      alloc,
      randomFill: options.randomFill,
      fragmentSize,
      masker: options.masker,
      out: this.#heldOutput ?? host,
      arena: options.arena,
    });
  }

  /**
   * The parser's FrameSink and the receiver's host: one small object per engine, its methods
   * shared on the prototype (not closures per connection). Data frames go to the receiver it
   * makes; control frames, faults and messages to the engine's private handlers.
   */
  static readonly #Sink = class EngineSink implements FrameSink, ReceiverHost {
    readonly #engine: Engine;
    readonly receiver: MessageReceiver;
    constructor(engine: Engine, options: ReceiverOptions, flow: ExtensionFlow | null) {
      this.#engine = engine;
      this.receiver = new MessageReceiver(this, options, flow);
    }
    dataFrameStart(opcode: number, fin: boolean, rsv: number): void {
      this.receiver.start(opcode, fin, rsv);
    }
    dataFramePayload(chunk: Uint8Array, start: number, end: number, last: boolean, ascii: boolean): void {
      this.receiver.payload(chunk, start, end, last, ascii);
    }
    dataFrameEnd(fin: boolean): void {
      this.receiver.end(fin);
    }
    dataMessage(opcode: number, chunk: Uint8Array, start: number, end: number, ascii: boolean): void {
      this.receiver.whole(opcode, chunk, start, end, ascii);
    }
    controlFrame(opcode: number, payload: Uint8Array): void {
      this.#engine.#control(opcode, payload);
    }
    frameError(error: ProtocolError): void {
      this.#engine.#fail(error);
    }
    /** Only without extensions (the flow takes transformed messages): straight out, as #emit would. */
    deliver(message: TextMessage | BinaryMessage): void {
      this.#engine.#events.push(message);
    }
    /** Only with `directText`, when `dispatchesNow`: to the host's `dispatchText` (as `deliver` would dispatch). */
    deliverText(data: string): void {
      this.#engine.#events.pushText(data);
    }
    /** The dispatcher dispatches a message pushed now at once (nothing is being dispatched or waits). */
    dispatchesNow(): boolean {
      return this.#engine.#events.idle;
    }
    fault(error: ProtocolError): void {
      this.#engine.#fail(error);
    }
  };

  /** The dispatcher's handler for a throwing `dispatch` or callback (shared, not a closure per engine). */
  static #dispatchThrew(engine: Engine, error: unknown): void {
    if (engine.#phase !== Phase.CLOSED) engine.#fail(error);
    else
      queueMicrotask(() => {
        throw error;
      });
  }

  get readyState(): ReadyState {
    return READY_STATE[this.#phase]!;
  }

  /** OPEN and holding nothing a new engine would not (see WebSocketEngine.atRest). */
  atRest(): boolean {
    if (this.#phase !== Phase.OPEN || this.#flow !== null || this.#held !== null) return false;
    if (this.#pongsHeld || this.#pendingPong !== null || (this.#pings?.size ?? 0) !== 0) return false;
    return this.#parser.atFrameStart && this.#events.idle;
  }

  /**
   * The handshake completed (an engine created with `startConnecting`): leave CONNECTING, write
   * what was queued, emit `open`, then parse what was received. Does nothing otherwise; no `open`
   * once closing started (close() or fail() while CONNECTING).
   */
  open(): void {
    const held = this.#heldOutput;
    if (held === null) return;
    this.#heldOutput = null;
    this.#sender.out = this.#host;
    for (const chunk of held.chunks) this.#host.output(chunk);
    if (this.#phase === Phase.CONNECTING) {
      this.#phase = Phase.OPEN;
      this.#emit({ type: "open", protocol: this.protocol, extensions: this.extensions });
    }
    const input = this.#heldInput;
    this.#heldInput = null;
    if (input !== null) for (const chunk of input) this.#parse(chunk);
    this.#events.flush();
  }

  receiveData(data: Uint8Array): void {
    if (this.#heldInput !== null) {
      this.#heldInput.push(data);
      return;
    }
    this.#parse(data);
    this.#events.flush();
  }

  receiveLent(data: Uint8Array, length = data.length): number {
    if (length !== data.length) checkLength(data, length);
    if (this.#heldInput !== null) {
      this.#heldInput.push(Uint8Array.prototype.slice.call(data, 0, length)); // not Buffer#slice: a view
      return 0;
    }
    this.#receiver.lent = data;
    try {
      this.#parse(data, length);
      this.#events.flush();
    } finally {
      this.#receiver.lent = null;
    }
    // What outlives the call gets bytes of its own.
    this.#parser.retain();
    const remaining = this.#parser.payloadRemaining;
    this.#receiver.detach(remaining);
    // The bytes at the end that began the payload whose rest readTarget offers (WebSocketEngine.receiveLent).
    return remaining < IN_PLACE_MIN ? 0 : Math.min(this.#parser.payloadTaken, length);
  }

  readTarget(): Uint8Array | null {
    const remaining = this.#parser.payloadRemaining;
    if (remaining < IN_PLACE_MIN || this.#heldInput !== null) return null;
    return this.#receiver.reserve(remaining);
  }

  receiveEof(): void {
    if (this.#phase === Phase.CLOSED) return;
    this.#parser.stop();
    this.#heldInput = null;
    this.#flow?.abandon();
    this.#enterClosed(true);
    // RFC 6455 7.1.5: closed without a Close frame: status 1006.
    this.#emit({ type: "close", code: 1006, reason: "", wasClean: false });
    this.#events.flush();
  }

  send(data: string | Uint8Array, options?: SendOptions): boolean {
    if (this.#phase > Phase.OPEN) return false;
    if (this.#held !== null) {
      // A streamed message is in progress: frames of another message may not interleave (RFC 6455 5.4).
      this.#held.push(() => this.send(data, options));
      return true;
    }
    const binary = options?.binary ?? typeof data !== "string";
    const opcode = binary ? 2 : 1;
    const flow = this.#flow;
    if (flow === null) {
      if (typeof data !== "string") this.#sender.message(opcode, 0, data);
      else if (binary) this.#sender.message(2, 0, encoder.encode(data));
      else {
        const receiver = this.#receiver;
        if (receiver.echoes(data)) {
          const { echoChunk: chunk, echoStart: start, echoEnd: end } = receiver;
          // Lent bytes may be framed as a view (long payloads): they get their own first.
          if (chunk === receiver.lent && end - start > FrameSender.SHORT_COPY)
            this.#sender.message(1, 0, receiver.copy(chunk, start, end));
          else this.#sender.copy(1, chunk, start, end);
        } else this.#sender.string(1, data);
      }
    } else flow.send(opcode, toBytes(data), options?.compress);
    if (this.#events.pending) this.#events.flush();
    return true;
  }

  sendText(data: string): boolean {
    return this.send(data);
  }

  sendBinary(data: Uint8Array): boolean {
    return this.send(data);
  }

  /**
   * Send a message prepared once for many connections (a broadcast). A server without extensions writes the shared
   * frame as it is (this case alone here: small, inlined into the host's path whatever V8 compiled first; bcast13);
   * otherwise the payload goes as `send` would (a client masks it, an extension transforms it), or after a stream.
   */
  sendPrepared(message: PreparedMessage, options?: SendOptions): boolean {
    if (this.#phase > Phase.OPEN || this.#held !== null || this.role !== "server" || this.#flow !== null)
      return this.#sendPayload(message, options);
    this.#sender.out.output(message.frame, true);
    return true;
  }

  #sendPayload(message: PreparedMessage, options?: SendOptions): boolean {
    if (this.#phase > Phase.OPEN) return false;
    if (this.#held !== null) return this.#held.push(() => this.sendPrepared(message, options)) !== 0;
    return this.send(message.payload, { binary: message.binary, compress: options?.compress });
  }

  startMessage(kind: "text" | "binary", _options?: SendOptions): MessageWriter {
    if (this.#held !== null) throw new InvalidStateError("a streamed message is already in progress");
    if (kind !== "text" && kind !== "binary") throw new TypeError('kind must be "text" or "binary"');
    if (this.#phase > Phase.OPEN) return closedWriter;
    this.#held = [];
    return createMessageWriter(
      {
        canSend: () => this.#phase <= Phase.OPEN,
        sendFragment: (opcode, fin, data) => {
          this.#out(false, opcode, fin, 0, data);
          this.#events.flush();
        },
        streamEnded: () => this.#endStream(),
      },
      kind === "text" ? 1 : 2,
    );
  }

  ping(payload?: Uint8Array | string, onPong?: () => void): boolean {
    const bytes = controlBytes(payload, "ping");
    if (this.#phase > Phase.OPEN) return false;
    if (onPong !== undefined) (this.#pings ??= new PingTracker()).add(bytes, onPong);
    this.#out(false, 0x9, true, 0, bytes);
    return true;
  }

  pong(payload?: Uint8Array | string): boolean {
    const bytes = controlBytes(payload, "pong");
    if (this.#phase > Phase.OPEN) return false;
    // RFC 6455 5.5.3: an unsolicited Pong serves as a unidirectional heartbeat.
    this.#out(false, 0xa, true, 0, bytes);
    return true;
  }

  /**
   * Flow control of the automatic pongs (RFC 6455 5.5.3: "If an endpoint receives a Ping frame
   * and has not yet sent Pong frame(s) in response to previous Ping frame(s), the endpoint MAY
   * elect to send a Pong frame for only the most recently processed Ping frame"). While held,
   * pings are not answered at once: the most recent one is remembered and answered when the
   * hold is released. The host holds pongs while its transport is backed up, so that a peer
   * sending pings without reading cannot make it buffer pongs without bound.
   */
  holdPongs(hold: boolean): void {
    this.#pongsHeld = hold;
    const payload = this.#pendingPong;
    if (hold || payload === null) return;
    this.#pendingPong = null;
    if (this.#phase <= Phase.OPEN) {
      this.#out(false, 0xa, true, 0, payload);
      if (this.#events.pending) this.#events.flush();
    }
  }

  close(code = 1000, reason = ""): boolean {
    // 1005 ("no status code") sends a close frame without a body (RFC 6455 5.5.1: the body is optional).
    if (code === 1005 ? reason !== "" : !isValidCloseCode(code)) throw new RangeError(`invalid close code ${code}`);
    const reasonBytes = encoder.encode(reason);
    // RFC 6455 5.5: 125-byte control payload, 2 of them for the code.
    if (reasonBytes.length > 123) throw new RangeError("close reason exceeds 123 bytes");
    if (this.#phase > Phase.OPEN) return false;
    this.#phase = Phase.CLOSE_QUEUED; // CLOSING once the frame is out (#frameNow)
    this.#out(false, 0x8, true, 0, encodeClosePayload(code, reasonBytes));
    this.#host.awaitClose();
    this.#emit({ type: "closing", code, reason, initiator: "local" });
    this.#events.flush();
    return true;
  }

  /**
   * Fail the connection because of `error` (RFC 6455 7.1.7): a ProtocolError closes with the code
   * of its `code` (PROTOCOL_ERRORS) and its message as the reason; anything else is internal:
   * 1011, an empty reason on the wire. The host knows the error already: no `error` event, the
   * close event carries it.
   */
  fail(error: Error): void {
    this.#fail(error, false);
    this.#events.flush();
  }

  /**
   * Run `callback` once every message sent so far has been framed and handed to the output
   * (after pending extension transforms, e.g. compression); at once when nothing is pending,
   * and at once too when the connection fails or ends before (the host then finds its
   * transport gone). The hook behind write callbacks such as ws's `send(data, cb)`.
   */
  afterFramed(callback: () => void): void {
    if (this.#flow === null) callback();
    else this.#flow.afterFramed(callback);
  }

  #parse(chunk: Uint8Array, length = chunk.length): void {
    try {
      this.#parser.push(chunk, length);
    } catch (error) {
      this.#fail(error); // a bug or a throwing extension: 1011, never an exception to the caller
    }
  }

  #control(opcode: number, payload: Uint8Array): void {
    // Lent input: the events' payload gets bytes of its own (a pong reply is copied when framed).
    const lent = this.#receiver.lent;
    if (lent !== null && payload.buffer === lent.buffer && opcode !== 0x8)
      payload = this.#receiver.copy(payload, 0, payload.length);
    if (opcode === 0x9) {
      // RFC 6455 5.5.2: "Upon receipt of a Ping frame, an endpoint MUST send a Pong frame in
      // response ... [with] exactly the same Application data", unless it already sent a Close;
      // while pongs are held (holdPongs), only the most recent ping gets one, later (5.5.3).
      if (this.#phase <= Phase.OPEN && this.#autoPong) {
        // A copy (not Buffer#slice, which is a view): the payload is a view of the host's chunk.
        if (this.#pongsHeld) this.#pendingPong = Uint8Array.prototype.slice.call(payload);
        else this.#out(false, 0xa, true, 0, payload);
      }
      this.#emit({ type: "ping", data: payload });
    } else if (opcode === 0xa) {
      this.#emit({ type: "pong", data: payload });
      // RFC 6455 5.5.3: a Pong may answer only the most recent Ping: earlier ones count as answered.
      const pings = this.#pings;
      if (pings !== null) for (const callback of pings.answer(payload)) this.#events.defer(callback);
    } else {
      this.#receiveClose(payload);
    }
  }

  #receiveClose(payload: Uint8Array): void {
    const parsed = parseClosePayload(payload);
    if (parsed instanceof ProtocolError) {
      this.#fail(parsed);
      return;
    }
    // RFC 6455 5.5.1: after a Close frame, no more data is processed.
    this.#parser.stop();
    if (this.#phase <= Phase.OPEN) {
      // RFC 6455 5.5.1: "the endpoint MUST send a Close frame in response ... typically echoing
      // the status code it received" (an empty body if there was none).
      const echo = this.#echoCloseReason && parsed.code !== 1005 ? parsed.reason : undefined;
      this.#out(false, 0x8, true, 0, encodeClosePayload(parsed.code, echo));
      this.#emit({ type: "closing", code: parsed.code, reason: parsed.reason, initiator: "remote" });
    }
    // RFC 6455 7.1.1: the server closes the TCP connection first; a client waits a little for it.
    this.#enterClosed(false);
    this.#emit({ type: "close", code: parsed.code, reason: parsed.reason, wasClean: true });
  }

  /** Frame now, or queue behind a pending transform so that nothing overtakes it. */
  #out(message: boolean, opcode: number, fin: boolean, rsv: number, data: Uint8Array): void {
    if (this.#flow !== null && !this.#flow.outbound.idle) this.#flow.frame({ message, opcode, fin, rsv, data });
    else this.#frameNow(message, opcode, fin, rsv, data);
  }

  #frameNow(message: boolean, opcode: number, fin: boolean, rsv: number, data: Uint8Array): void {
    if (message) this.#sender.message(opcode, rsv, data);
    else if (opcode >= 0x8) {
      if (opcode === 0x8 && this.#phase < Phase.CLOSING) this.#phase = Phase.CLOSING;
      this.#sender.frame(opcode, true, 0, data);
    } else this.#sender.fragments(opcode, rsv, data, fin);
  }

  #endStream(): void {
    const held = this.#held;
    this.#held = null;
    if (held !== null) for (const resend of held) resend();
  }

  /**
   * The connection is over for the engine: tell the host to close the transport, and whether it
   * failed or the transport ended (RFC 6455 7.1.7: then whichever side closes it, at once)
   * rather than completing the closing handshake.
   */
  #enterClosed(failed: boolean): void {
    this.#phase = Phase.CLOSED;
    this.#host.closeTransport(failed);
  }

  /**
   * The choke point: every failure ends here. A ProtocolError carries its close code and message;
   * anything else is internal: 1011, empty reason on the wire, the original kept as `error`.
   */
  #fail(error: unknown, report = true): void {
    const err = error instanceof Error ? error : new Error(String(error), { cause: error });
    if (this.#phase === Phase.CLOSED) {
      if (report) this.#commit({ type: "error", error: err });
      return;
    }
    // Deliver what was complete before the failure, then drop the rest.
    this.#flow?.inbound.drain();
    if ((this.#phase as Phase) === Phase.CLOSED) return;
    this.#flow?.inbound.clear();
    this.#flow?.abandon();
    this.#parser.stop();
    this.#heldInput = null;
    this.#held = null;
    const { code: closeCode, reason: closeReason } = failureClose(err, this.#closeReason);
    const phase = this.#phase;
    // A close frame unless ours is out already (a queued one was just dropped).
    if (phase < Phase.CLOSING) {
      this.#sender.frame(0x8, true, 0, encodeClosePayload(closeCode, closeReason));
    }
    if (report) this.#commit({ type: "error", error: err });
    if (phase <= Phase.OPEN) {
      this.#commit({ type: "closing", code: closeCode, reason: closeReason, initiator: "local" });
    }
    // RFC 6455 7.1.7: fail the connection: close the transport, process no more data.
    this.#enterClosed(true);
    this.#commit({ type: "close", code: closeCode, reason: closeReason, wasClean: false, error: err });
  }

  /** Queue an event behind pending inbound transforms, or commit it. */
  #emit(event: EngineEvent): void {
    if (this.#flow !== null && !this.#flow.inbound.idle) this.#flow.event(event);
    else this.#commit(event);
  }

  #commit(event: EngineEvent): void {
    if (event.type === "close") {
      // Exactly one close event: release what the connection held.
      this.#pings?.clear();
      this.#flow?.close();
    }
    // Dispatched at once (in order with the frames): a reply to a message leaves before a close
    // caused by a later frame of the same chunk.
    this.#events.push(event);
  }
}

/** Create an RFC 6455 engine for `host`. */
export function createEngine(host: EngineHost, options: EngineOptions): Engine {
  return new Engine(host, options);
}
