/**
 * Message reception: an engine's data frames become message events (RFC 6455 sections 5.4, 6.2).
 *
 * Contract:
 * - The engine's frame sink hands data frames over: {@link MessageReceiver#whole} for a short
 *   message in one frame (the parser's fast path, without extensions), else
 *   {@link MessageReceiver#start}, {@link MessageReceiver#payload} and {@link MessageReceiver#end}
 *   per frame, the pieces joined by a {@link MessageAssembler} made with the first such frame
 *   (connections that only ever see short messages hold none).
 * - RFC 6455 8.1: text is validated as UTF-8 unless `validateUtf8` is off, on the fly, or after
 *   the transform when an extension transformed the message (RSV bits set). A fault goes to
 *   the host (`fault`: the engine fails the connection with 1007), the reason naming the first
 *   fault whichever path found it.
 * - A complete message goes to the extension flow when there is one, else to the host at once
 *   (`deliver`) as a TextMessage or BinaryMessage; with `directText`, a text message dispatched
 *   at once goes to `deliverText` as its decoded string (no event object). While a text message
 *   is dispatched, `echoes(text)` tells the engine's echo shortcut whether `text` is its string
 *   with its bytes untouched, at `echoChunk[echoStart..echoEnd)`: nothing is retained after.
 *   A message assembled into a buffer from the host's MessageBuffers is announced to them
 *   (`lend`, `dispatched`) around its dispatch when that dispatch happens at once (the host's
 *   `dispatchesNow`); no other message is (a queued one's buffer is never handed back).
 * - Lent input (`lent`, set by the engine for the duration of a `receiveLent` call): what
 *   outlives the call gets bytes of its own, from `alloc`.
 */

import { ProtocolError } from "./errors.js";
import type { ExtensionFlow } from "./extension-flow.js";
import { MessageAssembler } from "./message-assembler.js";
import { BinaryMessage, TextMessage, type Utf8Decoder } from "./text-message.js";
import type { MessageBuffers } from "./types.js";
import { Utf8Validator } from "./utf8.js";

const EMPTY = new Uint8Array(0);

// RFC 6455 8.1: invalid UTF-8 in a text message fails the connection (7.4.1: 1007).
const badUtf8 = (): ProtocolError => new ProtocolError("INVALID_UTF8", "invalid UTF-8 in a text message");
const truncatedUtf8 = (): ProtocolError =>
  new ProtocolError("INVALID_UTF8", "text message ends inside a UTF-8 sequence");

/** The error for a whole text message that is not UTF-8, as the incremental validator names it. */
function invalidText(bytes: Uint8Array): ProtocolError {
  return new Utf8Validator().push(bytes) ? truncatedUtf8() : badUtf8();
}

/** Where the messages and faults go (the engine). */
export interface ReceiverHost {
  /** A complete, valid message: its event, dispatched at once. */
  deliver(message: TextMessage | BinaryMessage): void;
  /** With `directText`, only when `dispatchesNow`: a text message as its string, dispatched at once. */
  deliverText?(data: string): void;
  /** Invalid UTF-8: fail the connection. */
  fault(error: ProtocolError): void;
  /**
   * Whether a message delivered now is dispatched before `deliver` returns (nothing else is being
   * dispatched or waits), rather than queued behind another event. Absent: never assumed.
   */
  dispatchesNow?(): boolean;
}

export interface ReceiverOptions {
  readonly alloc: (size: number) => Uint8Array;
  /** The whole-buffer validator (the host's, else the engine's JS one). */
  readonly isUtf8: (bytes: Uint8Array) => boolean;
  /** The host's own whole-buffer validator, if any (the assembler uses it for long pieces). */
  readonly nativeIsUtf8: ((bytes: Uint8Array) => boolean) | undefined;
  readonly decode: Utf8Decoder;
  /** The decoder for bytes known to be ASCII. */
  readonly decodeAscii: Utf8Decoder;
  readonly validateUtf8: boolean;
  /** Where assembled messages' buffers come from (EngineOptions `messageBuffers`); undefined: `alloc`. */
  readonly messageBuffers?: MessageBuffers | undefined;
  /** Text dispatched at once goes to the host's `deliverText` (EngineOptions `directText`, the host has it). */
  readonly directText?: boolean;
}

export class MessageReceiver {
  /** The input of the running `receiveLent` call (valid during the call only); null otherwise. */
  lent: Uint8Array | null = null;
  /** The text message being dispatched as an event, for the echo shortcut (see TextMessage.sameText); null otherwise. */
  lastText: TextMessage | null = null;
  /** The text being dispatched as a string (`directText`), for the echo shortcut; null otherwise. */
  #lastString: string | null = null;
  /** Where the text being dispatched lies (valid while `lastText` or the string is set). */
  echoChunk: Uint8Array = EMPTY;
  echoStart = 0;
  echoEnd = 0;
  readonly #host: ReceiverHost;
  readonly #flow: ExtensionFlow | null;
  readonly #alloc: (size: number) => Uint8Array;
  readonly #isUtf8: (bytes: Uint8Array) => boolean;
  readonly #nativeIsUtf8: ((bytes: Uint8Array) => boolean) | undefined;
  readonly #decode: Utf8Decoder;
  readonly #decodeAscii: Utf8Decoder;
  readonly #validateUtf8: boolean;
  readonly #buffers: MessageBuffers | undefined;
  readonly #directText: boolean;
  /** Created with the first data frame that is not a whole short message. */
  #assembler: MessageAssembler | null = null;
  #frameFin = false;

  constructor(host: ReceiverHost, options: ReceiverOptions, flow: ExtensionFlow | null) {
    this.#host = host;
    this.#flow = flow;
    this.#alloc = options.alloc;
    this.#isUtf8 = options.isUtf8;
    this.#nativeIsUtf8 = options.nativeIsUtf8;
    this.#decode = options.decode;
    this.#decodeAscii = options.decodeAscii;
    this.#validateUtf8 = options.validateUtf8;
    // With an extension, a message's buffer goes to the flow (inflated, then dropped), never
    // back to the host: its messages do not use the host's reused buffers.
    this.#buffers = flow === null ? options.messageBuffers : undefined;
    this.#directText = options.directText === true && host.deliverText !== undefined;
  }

  /** Whether `text` is the string of the text message being dispatched, its bytes untouched (the echo shortcut). */
  echoes(text: string): boolean {
    const last = this.lastText;
    return last !== null ? TextMessage.sameText(last, text) : this.#lastString === text;
  }

  /** A data frame begins (a continuation frame has opcode 0). */
  start(opcode: number, fin: boolean, rsv: number): void {
    this.#frameFin = fin;
    // Text is validated on the fly unless an extension transformed it (RSV bits set).
    if (opcode !== 0) {
      (this.#assembler ??= new MessageAssembler(this.#alloc, this.#nativeIsUtf8, this.#buffers)).begin(
        opcode,
        rsv,
        opcode === 1 && rsv === 0 && this.#validateUtf8,
      );
    }
  }

  payload(chunk: Uint8Array, start: number, end: number, last: boolean, ascii: boolean): void {
    if (!this.#assembler!.add(chunk, start, end, last && this.#frameFin, ascii)) this.#host.fault(badUtf8());
  }

  end(fin: boolean): void {
    if (!fin) return;
    const a = this.#assembler!;
    if (!a.finish()) {
      this.#host.fault(truncatedUtf8());
      return;
    }
    if (this.#flow === null) {
      const { chunk, start, end } = a;
      a.release();
      const buffers = this.#buffers;
      // Announced only when its dispatch happens inside `deliver` (lend and dispatched bracket the
      // handler); a message queued behind another event is not: the host never gets its buffer
      // back to reuse (it goes to the GC), so the handler that runs later reads it intact.
      if (buffers?.lend !== undefined && a.owned && this.#host.dispatchesNow?.() === true)
        this.#deliverLent(buffers, a.opcode, chunk, start, end);
      else this.#deliver(a.opcode, chunk, start, end, false);
      return;
    }
    const data = a.chunk === this.lent ? this.copy(a.chunk, a.start, a.end) : a.view();
    a.release();
    this.#flow.receive(a.opcode as 1 | 2, a.rsv, data);
  }

  /** A whole short message in one frame (FrameSink.dataMessage; only without extensions). */
  whole(opcode: number, chunk: Uint8Array, start: number, end: number, ascii: boolean): void {
    if (opcode === 1 && !ascii && end > start && this.#validateUtf8 && !this.#isUtf8(chunk.subarray(start, end))) {
      this.#host.fault(invalidText(chunk.subarray(start, end)));
      return;
    }
    this.#deliver(opcode, chunk, start, end, ascii);
  }

  /** The view where the next `n` payload bytes of the current message belong (the read target). */
  reserve(n: number): Uint8Array {
    return this.#assembler!.reserve(n);
  }

  /** Lent input goes away: the pieces held as views get a buffer of their own (room for `more`). */
  detach(more: number): void {
    this.#assembler?.detach(more);
  }

  /** `chunk[start..end)` copied into a buffer from `alloc`. */
  copy(chunk: Uint8Array, start: number, end: number): Uint8Array {
    const bytes = this.#alloc(end - start);
    bytes.set(chunk.subarray(start, end), 0);
    return bytes;
  }

  /** A message in a buffer from MessageBuffers: announced to them around its dispatch (see there). */
  #deliverLent(buffers: MessageBuffers, opcode: number, chunk: Uint8Array, start: number, end: number): void {
    const token = buffers.lend!(chunk);
    try {
      this.#deliver(opcode, chunk, start, end, false);
    } finally {
      buffers.dispatched?.(token);
    }
  }

  /** A complete, valid message (no extension; `ascii`: known to be ASCII): its event, dispatched at once. */
  #deliver(opcode: number, chunk: Uint8Array, start: number, end: number, ascii: boolean): void {
    const lent = chunk === this.lent;
    if (opcode !== 1) {
      this.#host.deliver(
        lent ? new BinaryMessage(this.copy(chunk, start, end), 0, end - start) : new BinaryMessage(chunk, start, end),
      );
      return;
    }
    // Remembered only while its handler runs (synchronous dispatch): nothing is retained after.
    if (this.#directText && this.#host.dispatchesNow!()) {
      const data = ascii ? this.#decodeAscii(chunk, start, end) : this.#decode(chunk, start, end);
      this.#lastString = data;
      this.echoChunk = chunk;
      this.echoStart = start;
      this.echoEnd = end;
      try {
        this.#host.deliverText!(data);
      } finally {
        this.#forget();
      }
      return;
    }
    const decode = ascii ? this.#decodeAscii : this.#decode;
    const message = new TextMessage(chunk, start, end, decode, lent ? this.#alloc : undefined);
    this.lastText = message;
    this.echoChunk = chunk;
    this.echoStart = start;
    this.echoEnd = end;
    try {
      this.#host.deliver(message);
    } finally {
      this.#forget();
    }
  }

  /**
   * After a text message's dispatch: no echo shortcut any more. Also for a message that came in
   * while another one's handler ran (input fed from inside it): that handler loses its shortcut.
   */
  #forget(): void {
    this.lastText = null;
    this.#lastString = null;
    this.echoChunk = EMPTY;
  }
}
