/**
 * Incremental RFC 6455 frame parser (section 5.2), sans-I/O.
 *
 * Contract:
 * - `push(bytes)` accepts any split of the stream and reports the same calls to its
 *   {@link FrameSink} whatever the split, except that data payloads arrive in as many pieces as
 *   the input was cut into, and that with `wholeMessages` a short unfragmented message found
 *   whole in one chunk goes to `sink.dataMessage` in one call (the same information).
 *   It never throws on input; a violation is reported once through `sink.frameError` and the
 *   parser stops.
 * - Framing rules enforced here: reserved opcodes, masking by role, RSV bits not claimed by an
 *   extension, control frames unfragmented and <= 125 bytes, continuation sequencing, minimal
 *   length encoding, 64-bit lengths > 2^53-1, and the message limits (`maxPayload` over the
 *   announced length of every fragment, before a payload byte is buffered; `maxFragments`).
 * - Data payloads are streamed: each piece is a zero-copy view of the input, unmasked in place
 *   (so `push` takes ownership of its bytes). Control payloads are delivered whole.
 * - Numbered states in a switch, guard first: "not enough bytes: return, state unchanged".
 */
import { ProtocolError } from "../errors.js";
import { applyMask, chunkWords, type Masker, NATIVE_MASK_THRESHOLD, unmaskShort, unmaskWords } from "./mask.js";

/** Receives what the parser finds. One object per connection: no closure per frame. */
export interface FrameSink {
  /** A data frame header (opcode 0 continuation, 1 text, 2 binary). `rsv` holds the RSV bits (0x70 mask). */
  dataFrameStart(opcode: number, fin: boolean, rsv: number, length: number): void;
  /**
   * Part of the current data frame's payload, unmasked, in `chunk[start..end)` (never empty; no
   * view is created for it). `last`: it completes the frame. `ascii`: every byte of the piece is
   * known to be below 0x80 (found while unmasking a short piece; false means "not checked").
   */
  dataFramePayload(chunk: Uint8Array, start: number, end: number, last: boolean, ascii: boolean): void;
  /** The current data frame is complete; `fin` ends the message. */
  dataFrameEnd(fin: boolean): void;
  /**
   * The fast path, with `wholeMessages`: a whole message in one unfragmented data frame (FIN, no
   * RSV bit, opcode 1 or 2, at most 125 bytes) that was found complete in one input chunk,
   * unmasked, payload in `chunk[start..end)`. The parser then calls it INSTEAD of
   * `dataFrameStart` + `dataFramePayload` + `dataFrameEnd`, so it must do what those three would
   * (other splits of the same input still take the three calls).
   */
  dataMessage(opcode: number, chunk: Uint8Array, start: number, end: number, ascii: boolean): void;
  /** A complete control frame (8 close, 9 ping, 10 pong), unmasked. */
  controlFrame(opcode: number, payload: Uint8Array): void;
  /** The stream violates the protocol; the parser has stopped. */
  frameError(error: ProtocolError): void;
}

export interface FrameParserOptions {
  /** Our role: a server requires masked frames, a client unmasked ones (RFC 6455 5.1). */
  role: "server" | "client";
  /** Max message size in bytes (0: none). */
  maxPayload: number;
  /** Max frames per message (0: none). */
  maxFragments: number;
  /** RSV bits (0x40 | 0x20 | 0x10) that negotiated extensions claim. */
  rsvAllowed: number;
  /** Native unmasking for large pieces (optional). */
  masker?: Masker | undefined;
  /**
   * Enforce the masking rule of RFC 6455 5.1 (default true). False accepts masked and unmasked
   * frames in either role (websocket-driver's default, for its drop-in host).
   */
  requireMasking?: boolean | undefined;
  /**
   * Hand whole short messages to `sink.dataMessage` in one call. For sinks that deliver such a
   * message as it is (no extension transforms messages). Default false.
   */
  wholeMessages?: boolean;
}

// Parser states.
const GET_INFO = 0; // first two header bytes
const GET_LENGTH_16 = 1;
const GET_LENGTH_64 = 2;
const GET_MASK = 3;
const GET_DATA = 4; // streamed data payload
const GET_CONTROL = 5; // whole control payload
const STOPPED = 6;

const EMPTY = new Uint8Array(0);
/**
 * The current frame's masking key as bytes, filled from a parser's packed key right before each
 * use (synchronously, never across calls): one array for every parser instead of one each.
 */
const KEY = new Uint8Array(4);
/**
 * Shared by every parser: header bytes spanning chunks (read right after `#read` fills it) and
 * the rotated key handed to the native masker. Both are used synchronously, never across calls.
 */
const SCRATCH = new Uint8Array(8);
const ROTATED = new Uint8Array(4);
/** The 4 key bytes at `bytes[at..at+4)` as one int (byte 0 in the low bits): see FrameParser#keyBytes. */
function packKey(bytes: Uint8Array, at: number): number {
  return bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24);
}

/** Pieces shorter than this are unmasked by `unmaskShort`/`unmaskWords`, which also tell whether they are ASCII. */
const SHORT_PIECE = 128;
/** From this many bytes a short piece is unmasked word by word (with the chunk's word view). */
const WORD_PIECE = 16;
/** 2^53 / 2^32: the high word of a 64-bit length must stay below this. */
const MAX_SAFE_HIGH = 0x200000;

/** A caller's mistake (receiveLent, FrameParser.push take `data[0..length)`): thrown before any state changes. */
export function checkLength(data: Uint8Array, length: number): void {
  if (length >>> 0 !== length || length > data.length) {
    throw new RangeError(`length must be an integer from 0 to data.length (${data.length}), got ${length}`);
  }
}

export class FrameParser {
  readonly #sink: FrameSink;
  readonly #expectMasked: boolean;
  readonly #lenientMasking: boolean;
  readonly #maxPayload: number;
  readonly #maxFragments: number;
  readonly #rsvAllowed: number;
  readonly #masker: Masker | null;
  /** Whole short messages go to FrameSink.dataMessage in one call. */
  readonly #whole: boolean;

  #state = GET_INFO;
  #running = false;

  // Input: a list of chunks (each used up to its end in #ends), the head's index, offset and end.
  readonly #chunks: Uint8Array[] = [];
  readonly #ends: number[] = [];
  #head = 0;
  #offset = 0;
  #headEnd = 0;
  #buffered = 0;

  /** Set by #read(): the buffer holding the bytes just read. */
  #rb: Uint8Array = EMPTY;

  // Current frame.
  #opcode = 0;
  #fin = false;
  #rsv = 0;
  #masked = false;
  #remaining = 0;
  #length = 0;
  /** The current frame's masking key, packed (byte 0 in the low bits): no array per connection. */
  #key = 0;
  /** Where in the key the next payload byte is (0-3). */
  #phase = 0;

  // Current message.
  #inMessage = false;
  #messageLength = 0;
  #fragments = 0;

  constructor(options: FrameParserOptions, sink: FrameSink) {
    this.#sink = sink;
    this.#expectMasked = options.role === "server";
    this.#lenientMasking = options.requireMasking === false;
    this.#maxPayload = options.maxPayload;
    this.#maxFragments = options.maxFragments;
    this.#rsvAllowed = options.rsvAllowed;
    this.#masker = options.masker ?? null;
    this.#whole = options.wholeMessages === true;
  }

  /** Bytes received but not yet parsed. */
  get buffered(): number {
    return this.#buffered;
  }

  /** True once the parser stopped (error, or `stop()` after a close frame). */
  get stopped(): boolean {
    return this.#state === STOPPED;
  }

  /** True between the first and the last frame of a fragmented message. */
  get inMessage(): boolean {
    return this.#inMessage;
  }

  /** Between frames and messages with nothing buffered, outside `push`: a new parser would be the same. */
  get atFrameStart(): boolean {
    return this.#state === GET_INFO && this.#buffered === 0 && !this.#inMessage && !this.#running;
  }

  /**
   * Payload bytes of the current data frame still to come, when the parser waits for exactly
   * those (inside a data frame's payload, nothing buffered); 0 otherwise. A host may then put the
   * next bytes in place (see WebSocketEngine.readTarget) and push a view of them.
   */
  get payloadRemaining(): number {
    return this.#state === GET_DATA && this.#buffered === 0 ? this.#remaining : 0;
  }

  /** The current data frame's payload bytes received so far (meaningful while `payloadRemaining` is not 0). */
  get payloadTaken(): number {
    return this.#length - this.#remaining;
  }

  /**
   * Copy the input not parsed yet (a header or control frame cut by the end of a chunk) into
   * bytes of its own: for input that is only lent for the duration of `push` (a read buffer
   * the host reuses). Data payloads are never kept: they go to the sink as they arrive.
   */
  retain(): void {
    const n = this.#buffered;
    if (n === 0) return;
    const copy = new Uint8Array(n);
    this.#copyOut(copy, n);
    this.#clear();
    this.#chunks.push(copy);
    this.#ends.push(n);
    this.#headEnd = n;
    this.#buffered = n;
  }

  /** Stop parsing and release buffered input. */
  stop(): void {
    this.#state = STOPPED;
    this.#clear();
  }

  #clear(): void {
    this.#chunks.length = 0;
    this.#ends.length = 0;
    this.#head = 0;
    this.#offset = 0;
    this.#headEnd = 0;
    this.#buffered = 0;
  }

  /**
   * Feed `chunk[0..length)` (default: all of it). Takes ownership of those bytes: payload bytes
   * are unmasked in place and handed out as views of `chunk` (ranges of it, never past `length`).
   * A `length` lets a host hand over its whole read buffer after each read, always the same
   * array (the views made of it per array are then made once: see #unmask, copy-bytes.ts).
   * A `length` that is not an integer from 0 to `chunk.length` throws a RangeError (nothing taken).
   */
  push(chunk: Uint8Array, length = chunk.length): void {
    if (length !== chunk.length) checkLength(chunk, length);
    if (this.#state === STOPPED || length === 0) return;
    if (this.#chunks.length === 0) this.#headEnd = length;
    this.#chunks.push(chunk);
    this.#ends.push(length);
    this.#buffered += length;
    if (this.#running) return; // re-entered from a sink call: the running loop picks it up
    this.#running = true;
    try {
      this.#run();
    } finally {
      this.#running = false;
    }
  }

  #run(): void {
    for (;;) {
      switch (this.#state) {
        case GET_INFO:
          if (this.#buffered < 2) return;
          if (this.#whole && this.#wholeMessage()) break;
          this.#getInfo();
          break;
        case GET_LENGTH_16:
          if (this.#buffered < 2) return;
          this.#getLength16();
          break;
        case GET_LENGTH_64:
          if (this.#buffered < 8) return;
          this.#getLength64();
          break;
        case GET_MASK:
          if (this.#buffered < 4) return;
          this.#getMask();
          break;
        case GET_DATA:
          if (this.#buffered === 0 && this.#remaining !== 0) return;
          this.#getData();
          break;
        case GET_CONTROL:
          if (this.#buffered < this.#remaining) return;
          this.#getControl();
          break;
        default:
          return; // STOPPED
      }
    }
  }

  #getInfo(): void {
    const o = this.#read(2);
    const b0 = this.#rb[o];
    const b1 = this.#rb[o + 1];
    const opcode = b0 & 0x0f;
    const fin = (b0 & 0x80) !== 0;
    const rsv = b0 & 0x70;
    const len7 = b1 & 0x7f;
    if (opcode >= 0x8) {
      // RFC 6455 5.2: opcodes 0xB-0xF are reserved for further control frames.
      if (opcode > 0xa) {
        this.#fail("BAD_OPCODE", `reserved opcode ${opcode}`, opcode);
        return;
      }
      // RFC 6455 5.5: "All control frames MUST have a payload length of 125 bytes or less
      // and MUST NOT be fragmented."
      if (!fin) {
        this.#fail("CONTROL_FRAME_FRAGMENTED", "fragmented control frame", opcode);
        return;
      }
      if (len7 > 125) {
        this.#fail("CONTROL_FRAME_TOO_LONG", "control frame longer than 125 bytes", len7);
        return;
      }
      // Extensions here are per message: no RSV bit on control frames (RFC 7692 6.1 likewise).
      if (rsv !== 0) {
        this.#fail("BAD_RSV", "RSV bit set on a control frame", rsv);
        return;
      }
    } else if (opcode === 0x0) {
      // RFC 6455 5.4: a continuation frame only follows a non-final data frame.
      if (!this.#inMessage) {
        this.#fail("UNEXPECTED_CONTINUATION", "continuation frame with nothing to continue");
        return;
      }
      // Per-message extensions set RSV bits on the first frame only (RFC 7692 6.1).
      if (rsv !== 0) {
        this.#fail("BAD_RSV", "RSV bit set on a continuation frame", rsv);
        return;
      }
    } else if (opcode <= 0x2) {
      // RFC 6455 5.4: fragments of one message MUST NOT be interleaved with another message.
      if (this.#inMessage) {
        this.#fail("EXPECTED_CONTINUATION", "new data frame inside a fragmented message", opcode);
        return;
      }
      // RFC 6455 5.2: RSV1-3 "MUST be 0 unless an extension is negotiated that defines meanings".
      if ((rsv & ~this.#rsvAllowed) !== 0) {
        this.#fail("BAD_RSV", "RSV bit not claimed by an extension", rsv);
        return;
      }
    } else {
      this.#fail("BAD_OPCODE", `reserved opcode ${opcode}`, opcode);
      return;
    }
    const masked = (b1 & 0x80) !== 0;
    // RFC 6455 5.1: a server MUST close on an unmasked frame; a client on a masked one.
    if (masked !== this.#expectMasked && !this.#lenientMasking) {
      this.#fail("BAD_MASKING", masked ? "masked frame from server" : "unmasked frame from client");
      return;
    }
    this.#opcode = opcode;
    this.#fin = fin;
    this.#rsv = rsv;
    this.#masked = masked;
    if (len7 < 126) this.#haveLength(len7);
    else this.#state = len7 === 126 ? GET_LENGTH_16 : GET_LENGTH_64;
  }

  /**
   * The fast path (see FrameSink.dataMessage): when the head chunk holds a whole short
   * unfragmented data frame that needs none of #getInfo's checks, take it in one step. Returns
   * false, consuming nothing, for anything else (the general path then checks it).
   */
  #wholeMessage(): boolean {
    const chunk = this.#chunks[this.#head];
    const off = this.#offset;
    const b0 = chunk[off];
    const b1 = chunk[off + 1];
    // FIN, RSV 0, text or binary; not inside a fragmented message.
    if ((b0 !== 0x81 && b0 !== 0x82) || this.#inMessage) return false;
    const len = b1 & 0x7f;
    const masked = b1 >= 0x80;
    if (len > 125 || masked !== this.#expectMasked) return false;
    const at = off + (masked ? 6 : 2);
    const end = at + len;
    if (end > this.#headEnd) return false;
    if (this.#maxPayload > 0 && len > this.#maxPayload) return false;
    // The frame's fields (#opcode, #fin, #rsv, #masked, #remaining, #messageLength, #fragments)
    // are left as they are: the next frame's header sets each before anything reads it (a
    // continuation's #messageLength/#fragments are those of a message begun by #haveLength).
    this.#advance(end - off);
    let ascii = false;
    if (masked && len > 0) {
      this.#key = packKey(chunk, off + 2);
      this.#phase = 0;
      ascii = this.#unmask(chunk, at, end);
    }
    this.#sink.dataMessage(b0 & 0x0f, chunk, at, end, ascii);
    return true;
  }

  #getLength16(): void {
    const o = this.#read(2);
    const len = (this.#rb[o] << 8) | this.#rb[o + 1];
    // RFC 6455 5.2: "the minimal number of bytes MUST be used to encode the length".
    if (len < 126) {
      this.#fail("LENGTH_NOT_MINIMAL", "16-bit length below 126");
      return;
    }
    this.#haveLength(len);
  }

  #getLength64(): void {
    const o = this.#read(8);
    const b = this.#rb;
    const hi = ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
    const lo = ((b[o + 4] << 24) | (b[o + 5] << 16) | (b[o + 6] << 8) | b[o + 7]) >>> 0;
    // Covers the "most significant bit MUST be 0" rule of RFC 6455 5.2 as well.
    if (hi >= MAX_SAFE_HIGH) {
      this.#fail("LENGTH_TOO_LARGE", "64-bit length above 2^53-1");
      return;
    }
    const len = hi * 0x100000000 + lo;
    if (len < 65536) {
      this.#fail("LENGTH_NOT_MINIMAL", "64-bit length below 65536");
      return;
    }
    this.#haveLength(len);
  }

  /** The length is known: apply the limits before a byte of payload is buffered. */
  #haveLength(len: number): void {
    if (this.#opcode < 0x8) {
      if (this.#opcode !== 0x0) {
        this.#messageLength = 0;
        this.#fragments = 0;
      }
      const total = this.#messageLength + len;
      if (this.#maxPayload > 0 && total > this.#maxPayload) {
        this.#fail("MESSAGE_TOO_BIG", `message exceeds ${this.#maxPayload} bytes`);
        return;
      }
      if (this.#maxFragments > 0 && this.#fragments >= this.#maxFragments) {
        this.#fail("TOO_MANY_FRAGMENTS", `message exceeds ${this.#maxFragments} frames`);
        return;
      }
      this.#messageLength = total;
      this.#fragments++;
      this.#inMessage = !this.#fin;
    }
    this.#remaining = this.#length = len;
    if (this.#masked) this.#state = GET_MASK;
    else this.#startPayload();
  }

  #getMask(): void {
    const o = this.#read(4);
    const b = this.#rb;
    this.#key = packKey(b, o);
    this.#startPayload();
  }

  #startPayload(): void {
    this.#phase = 0;
    if (this.#opcode >= 0x8) {
      this.#state = GET_CONTROL;
      return;
    }
    this.#state = GET_DATA;
    this.#sink.dataFrameStart(this.#opcode, this.#fin, this.#rsv, this.#remaining);
  }

  #getData(): void {
    const remaining = this.#remaining;
    if (remaining !== 0) {
      const chunk = this.#chunks[this.#head];
      const off = this.#offset;
      const avail = this.#headEnd - off;
      // biome-ignore lint/complexity/useMathMinMax: hot path, a compare beats a call
      const take = avail < remaining ? avail : remaining;
      this.#advance(take);
      const ascii = this.#masked && this.#unmask(chunk, off, off + take);
      this.#remaining = remaining - take;
      this.#sink.dataFramePayload(chunk, off, off + take, take === remaining, ascii);
      if (this.#remaining !== 0 || this.#state !== GET_DATA) return;
    }
    this.#state = GET_INFO;
    this.#sink.dataFrameEnd(this.#fin);
  }

  #getControl(): void {
    const len = this.#remaining;
    let payload: Uint8Array;
    if (len === 0) {
      payload = new Uint8Array(0);
    } else {
      const chunk = this.#chunks[this.#head];
      const off = this.#offset;
      if (this.#headEnd - off >= len) {
        payload = chunk.subarray(off, off + len);
        this.#advance(len);
      } else {
        payload = new Uint8Array(len);
        this.#copyOut(payload, len);
      }
      if (this.#masked) applyMask(payload, this.#keyBytes(), 0);
    }
    this.#state = GET_INFO;
    this.#sink.controlFrame(this.#opcode, payload);
  }

  /**
   * Unmask `chunk[start..end)` in place, continuing the key where the previous piece stopped.
   * Returns true when the piece is short and all ASCII (false: not all ASCII, or not checked).
   */
  #unmask(chunk: Uint8Array, start: number, end: number): boolean {
    const phase = this.#phase;
    const n = end - start;
    this.#phase = (phase + n) & 3;
    if (n < SHORT_PIECE) {
      if (n >= WORD_PIECE) {
        const words = chunkWords(chunk);
        if (words !== null && (end - 1) >>> 2 < words.length) return unmaskWords(words, this.#key, phase, start, end);
      }
      return unmaskShort(chunk, this.#keyBytes(), phase, start, end);
    }
    if (this.#masker === null || n < NATIVE_MASK_THRESHOLD) {
      applyMask(chunk, this.#keyBytes(), phase, start, end);
      return false;
    }
    let key = this.#keyBytes();
    if (phase !== 0) {
      for (let i = 0; i < 4; i++) ROTATED[i] = key[(i + phase) & 3];
      key = ROTATED;
    }
    this.#masker.unmask(chunk.subarray(start, end), key);
    return false;
  }

  /** The current key as bytes (in the shared KEY array, valid until the next call). */
  #keyBytes(): Uint8Array {
    const k = this.#key;
    KEY[0] = k;
    KEY[1] = k >>> 8;
    KEY[2] = k >>> 16;
    KEY[3] = k >>> 24;
    return KEY;
  }

  /** Consume `n` buffered bytes (n <= 8); sets #rb and returns the offset of the first one. */
  #read(n: number): number {
    const chunk = this.#chunks[this.#head];
    const off = this.#offset;
    if (this.#headEnd - off >= n) {
      this.#rb = chunk;
      this.#advance(n);
      return off;
    }
    this.#copyOut(SCRATCH, n);
    this.#rb = SCRATCH;
    return 0;
  }

  /** Copy `n` bytes spanning chunks into `target` and consume them. */
  #copyOut(target: Uint8Array, n: number): void {
    let i = 0;
    while (i < n) {
      const chunk = this.#chunks[this.#head];
      const off = this.#offset;
      const take = Math.min(n - i, this.#headEnd - off);
      target.set(chunk.subarray(off, off + take), i);
      i += take;
      this.#advance(take);
    }
  }

  /** Consume `n` bytes of the head chunk (n <= its remaining length). */
  #advance(n: number): void {
    this.#buffered -= n;
    const off = this.#offset + n;
    if (off < this.#headEnd) {
      this.#offset = off;
      return;
    }
    this.#offset = 0;
    if (this.#head + 1 === this.#chunks.length) {
      // The usual case is one chunk: `pop()` is inlined, assigning `length` is a runtime call.
      if (this.#head === 0) {
        this.#chunks.pop();
        this.#ends.pop();
      } else {
        this.#chunks.length = 0;
        this.#ends.length = 0;
      }
      this.#head = 0;
      this.#headEnd = 0;
    } else {
      this.#chunks[this.#head] = EMPTY; // release it
      this.#head++;
      this.#headEnd = this.#ends[this.#head];
      if (this.#head >= 64 && this.#head * 2 >= this.#chunks.length) {
        this.#chunks.splice(0, this.#head);
        this.#ends.splice(0, this.#head);
        this.#head = 0;
      }
    }
  }

  #fail(code: ProtocolError["code"], message: string, detail?: number): void {
    this.stop();
    this.#sink.frameError(new ProtocolError(code, message, detail === undefined ? undefined : { detail }));
  }
}
