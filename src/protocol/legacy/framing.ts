/**
 * Data framing of draft-hixie-thewebsocketprotocol-75 and -76 (both drafts share it):
 *
 * - a text frame is 0x00, UTF-8 bytes, 0xFF (any other frame type below 0x80 is read the same
 *   way and discarded);
 * - a frame type with the high bit set is followed by a length in base-128 digits, high bit =
 *   "more digits follow", then that many bytes, which are discarded;
 * - draft-76 only: 0xFF 0x00 (type 0xFF, length 0) starts the closing handshake.
 *
 * Contract: `HixieFrameParser.push(bytes)` never throws because of the bytes. It reports whole
 * text messages, the closing frame and the first error to its sink, then ignores further input
 * once it has reported a closing frame or an error. Limits are checked before buffering:
 * a text frame is refused as soon as its unterminated payload exceeds `maxPayload`, a length
 * header as soon as its value exceeds `maxPayload`, 2^53-1, or has more than 8 digits.
 */
import { ProtocolError } from "../errors.js";
import { Utf8Validator } from "./utf8.js";

/**
 * Length digits accepted in a length-prefixed frame: 8 digits carry 56 bits, more than any
 * exact JavaScript number (2^53). websocket-driver's CVE-2026-54466 read an unbounded number
 * of digits, overflowing double precision so that its limit check compared a wrong value.
 */
export const MAX_LENGTH_DIGITS = 8;

/** The draft-76 closing frame: "a 0xFF byte and then a 0x00 byte". */
export const CLOSING_FRAME: Uint8Array = Uint8Array.of(0xff, 0x00);

export interface HixieFrameSink {
  /** A complete 0x00-type text frame, UTF-8 already validated. The bytes are the sink's to keep. */
  text(bytes: Uint8Array): void;
  /** draft-76: the peer sent 0xFF 0x00. */
  closingFrame(): void;
  /** The first peer mistake; the parser stops. */
  error(error: ProtocolError): void;
}

export interface HixieParserOptions {
  /** draft-76 semantics for 0xFF 0x00 (a closing frame); draft-75 discards it like any length frame. */
  readonly closingFrames: boolean;
  /** Max bytes of one frame's payload; 0 means no limit (the length digits stay capped). */
  readonly maxPayload: number;
}

const State = { TYPE: 0, LENGTH: 1, SKIP: 2, TEXT: 3, DONE: 4 } as const;
type State = (typeof State)[keyof typeof State];

export class HixieFrameParser {
  readonly #options: HixieParserOptions;
  readonly #sink: HixieFrameSink;
  #state: State = State.TYPE;
  #frameType = 0;
  /** Length frames: the length so far, its digit count, then the bytes left to skip. */
  #length = 0;
  #digits = 0;
  #remaining = 0;
  /** Text frames: the payload pieces kept so far (copies: the caller may reuse its buffers). */
  #pieces: Uint8Array[] = [];
  #size = 0;
  readonly #utf8 = new Utf8Validator();

  constructor(options: HixieParserOptions, sink: HixieFrameSink) {
    this.#options = options;
    this.#sink = sink;
  }

  /** True between the first byte of a frame and its last (an EOF here cuts a frame short). */
  get midFrame(): boolean {
    return this.#state !== State.TYPE && this.#state !== State.DONE;
  }

  /** True once a closing frame or an error was reported: input is ignored from then on. */
  get done(): boolean {
    return this.#state === State.DONE;
  }

  push(data: Uint8Array): void {
    let i = 0;
    const end = data.length;
    while (i < end) {
      switch (this.#state) {
        case State.TYPE: {
          const type = data[i++];
          this.#frameType = type;
          if ((type & 0x80) === 0x80) {
            // "If the high-order bit of the /frame type/ byte is set": a length follows.
            this.#length = 0;
            this.#digits = 0;
            this.#state = State.LENGTH;
          } else {
            this.#pieces = [];
            this.#size = 0;
            this.#utf8.reset();
            this.#state = State.TEXT;
          }
          break;
        }
        case State.LENGTH: {
          const b = data[i++];
          const value = b & 0x7f;
          // "Multiply /length/ by 128, add /b_v/": refuse before the product could exceed 2^53-1
          // (precision loss) and before an endless run of digits (0x80 0x80 ...) could keep us here.
          if (++this.#digits > MAX_LENGTH_DIGITS || this.#length > (Number.MAX_SAFE_INTEGER - value) / 128) {
            this.#fail(new ProtocolError("LENGTH_TOO_LARGE", "Frame length header too long"));
            return;
          }
          this.#length = this.#length * 128 + value;
          // Later digits only make the length larger, so the limit holds for a partial length too.
          const max = this.#options.maxPayload;
          if (max > 0 && this.#length > max) {
            this.#fail(new ProtocolError("MESSAGE_TOO_BIG", `Frame length exceeds ${max} bytes`));
            return;
          }
          if ((b & 0x80) === 0x80) break; // "If the high-order bit of /b/ is set ... return to _length_"
          // draft-76: "If the /frame type/ is 0xFF and the /length/ was 0", the closing handshake.
          if (this.#options.closingFrames && this.#frameType === 0xff && this.#length === 0) {
            this.#state = State.DONE;
            this.#sink.closingFrame();
            return;
          }
          // "Read /length/ bytes. Discard the read bytes." (No frame type of these drafts carries data here.)
          this.#remaining = this.#length;
          this.#state = this.#length === 0 ? State.TYPE : State.SKIP;
          break;
        }
        case State.SKIP: {
          const n = Math.min(this.#remaining, end - i);
          i += n;
          this.#remaining -= n;
          if (this.#remaining === 0) this.#state = State.TYPE;
          break;
        }
        case State.TEXT: {
          const stop = data.indexOf(0xff, i);
          const last = stop < 0 ? end : stop;
          // The first offending byte decides the error, wherever the chunks were cut: bytes up
          // to the limit are checked for UTF-8 first, then the limit itself.
          const max = this.#options.maxPayload;
          const tooBig = max > 0 && this.#size + (last - i) > max;
          const checked = tooBig ? i + (max - this.#size) : last;
          this.#size += checked - i;
          // Frame types other than 0x00 are read to their 0xFF and discarded (draft-76: "let
          // /error/ be true ... the server MUST discard the frame").
          const keep = this.#frameType === 0x00;
          // RFC 6455 8.1 (applied to the drafts too): invalid UTF-8 fails the connection, at once.
          if (keep && (!this.#utf8.push(data, i, checked) || (stop >= 0 && !tooBig && !this.#utf8.complete))) {
            this.#fail(new ProtocolError("INVALID_UTF8", "Invalid UTF-8 in text frame"));
            return;
          }
          if (tooBig) {
            this.#fail(new ProtocolError("MESSAGE_TOO_BIG", `Text frame exceeds ${max} bytes`));
            return;
          }
          if (stop < 0) {
            if (keep && last > i) this.#pieces.push(data.slice(i, last));
            i = end;
            break;
          }
          this.#state = State.TYPE;
          if (keep) {
            const bytes = this.#pieces.length === 0 ? data.slice(i, stop) : this.#join(data.subarray(i, stop));
            this.#pieces = [];
            this.#sink.text(bytes);
          }
          i = stop + 1;
          break;
        }
        case State.DONE:
          return;
      }
    }
  }

  #join(tail: Uint8Array): Uint8Array {
    const out = new Uint8Array(this.#size);
    let offset = 0;
    for (const piece of this.#pieces) {
      out.set(piece, offset);
      offset += piece.length;
    }
    out.set(tail, offset);
    return out;
  }

  #fail(error: ProtocolError): void {
    this.#state = State.DONE;
    this.#pieces = [];
    this.#sink.error(error);
  }
}

/** A text frame: 0x00, the UTF-8 bytes, 0xFF. `utf8` must be valid UTF-8 (it then holds no 0xFF). */
export function encodeTextFrame(utf8: Uint8Array, alloc: (size: number) => Uint8Array = (n) => new Uint8Array(n)) {
  const frame = alloc(utf8.length + 2);
  frame[0] = 0x00;
  frame.set(utf8, 1);
  frame[utf8.length + 1] = 0xff;
  return frame;
}
