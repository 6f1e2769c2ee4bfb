/**
 * Reassembles a message from the payload pieces of its frames (RFC 6455 section 5.4) and
 * validates text incrementally (section 8.1), failing at the first impossible byte.
 *
 * Contract: `begin()` at the first frame, `add(chunk, start, end, last)` per payload piece
 * (returns false on invalid UTF-8), `finish()` at the final frame returns false when the text
 * ends mid-character, else leaves the payload in `chunk[start..end)`: the input chunk itself
 * when the message came in one piece (zero-copy, no view created), or a new buffer from
 * `alloc` holding the concatenated pieces. Size and fragment limits are enforced earlier, by
 * the frame parser. No object is allocated per message in the one-piece case.
 *
 * For a host whose input is lent (a reused read buffer) or read in place:
 * - `detach(more)` copies the pieces held as views into a buffer of the message's own (the
 *   "accumulator", room for `more` bytes after them): called before lent input goes away.
 * - `reserve(n)` returns the view of the accumulator where the next `n` payload bytes belong, so
 *   that the host can read them there; `add` with exactly that view moves nothing.
 * Once the accumulator exists every piece lands in it (copied unless it is already in place),
 * and `finish` hands it over without a join. Its size is what has arrived plus what the current
 * frame announced, but at most {@link FIRST_RESERVE} beyond twice what has arrived: a peer
 * cannot make a connection hold memory it did not send, beyond that (times 5/4 with
 * {@link MessageBuffers}, whose size classes may round a request up by a quarter at most).
 *
 * The buffers a message owns (the accumulator, a join) come from `buffers.acquire` when the
 * host gave {@link MessageBuffers} (a pool it recycles: Node's `lendMessages`), else from
 * `alloc`; an accumulator the message outgrew goes back through `buffers.release`. `owned` tells,
 * after `finish()`, whether the payload lies in such a buffer (else it is the input chunk).
 */
import type { MessageBuffers } from "./types.js";
import { Utf8Validator } from "./utf8.js";

const EMPTY = new Uint8Array(0);
/** Below this size the JS validator beats a call to the injected native one. */
const NATIVE_UTF8_THRESHOLD = 64;
/** The accumulator's room beyond twice the bytes received (see the module comment). */
export const FIRST_RESERVE = 1024 * 1024;

export class MessageAssembler {
  readonly #alloc: (size: number) => Uint8Array;
  readonly #buffers: MessageBuffers | undefined;
  /** Created with the first text message (idle connections hold none). */
  #validator: Utf8Validator | null = null;
  /** Optional whole-buffer validator (Node's `buffer.isUtf8`). */
  readonly #isUtf8: ((bytes: Uint8Array) => boolean) | undefined;
  /** Pieces after the first, as views (fragmented or split messages only). */
  #parts: Uint8Array[] | null = null;
  #count = 0;
  #size = 0;
  #validate = false;
  /** The message's own buffer (see the module comment); null while pieces are views. */
  #acc: Uint8Array | null = null;
  /** The message is one piece, left for the fast validator in finish(). */
  #deferred = false;
  opcode = 0;
  rsv = 0;
  /** After finish: `chunk` is a buffer of the message's own (from `alloc` or MessageBuffers), not input. */
  owned = false;
  /** The first piece, then (after finish) the whole payload: chunk[start..end). */
  chunk: Uint8Array = EMPTY;
  start = 0;
  end = 0;

  constructor(alloc: (size: number) => Uint8Array, isUtf8?: (bytes: Uint8Array) => boolean, buffers?: MessageBuffers) {
    this.#alloc = alloc;
    this.#isUtf8 = isUtf8;
    this.#buffers = buffers;
  }

  /** A buffer the message will own (see the module comment). */
  #own(size: number): Uint8Array {
    return this.#buffers === undefined ? this.#alloc(size) : this.#buffers.acquire(size);
  }

  /** Start a message. `validateText`: check UTF-8 on the fly (text without an extension transform). */
  begin(opcode: number, rsv: number, validateText: boolean): void {
    this.opcode = opcode;
    this.rsv = rsv;
    this.#size = 0;
    this.#count = 0;
    this.chunk = EMPTY;
    this.start = 0;
    this.end = 0;
    this.#validate = validateText;
    this.#deferred = false;
    this.#acc = null;
    if (validateText) (this.#validator ??= new Utf8Validator()).reset();
  }

  get size(): number {
    return this.#size;
  }

  /**
   * Add the piece `chunk[start..end)`; `last` when it completes the message. Returns false if
   * the text can never become valid UTF-8 (checked on every piece that is not the whole
   * message: fail fast). `ascii`: the piece is known to be all ASCII (then a whole message in
   * this one piece needs no further check).
   */
  add(chunk: Uint8Array, start: number, end: number, last: boolean, ascii = false): boolean {
    const count = this.#count++;
    const size = this.#size;
    this.#size = size + end - start;
    if (this.#acc !== null) {
      this.#put(chunk, start, end, size);
      // Validated where it now lies (the accumulator), below.
      chunk = this.#acc;
      end = size + end - start;
      start = size;
    } else if (count === 0) {
      this.chunk = chunk;
      this.start = start;
      this.end = end;
    } else {
      const parts = (this.#parts ??= []);
      if (count === 1) parts[0] = this.chunk.subarray(this.start, this.end);
      parts[count] = chunk.subarray(start, end);
    }
    if (!this.#validate) return true;
    // The whole message in one piece that the parser found to be ASCII while unmasking it: valid.
    if (ascii && last && count === 0) return true;
    // The whole message in one piece: one call to the fast whole-buffer validator in finish().
    if (last && count === 0 && this.#isUtf8 !== undefined && end - start >= NATIVE_UTF8_THRESHOLD) {
      this.#deferred = true;
      return true;
    }
    return this.#validatePiece(chunk, start, end);
  }

  /**
   * Incremental validation, with the fast whole-buffer validator on the part of the piece that
   * ends on a character boundary: the incremental one only finishes a sequence begun in the
   * previous piece and checks the (at most 3-byte) incomplete tail.
   */
  #validatePiece(piece: Uint8Array, from: number, to: number): boolean {
    const v = this.#validator!;
    const isUtf8 = this.#isUtf8;
    if (isUtf8 === undefined || to - from < NATIVE_UTF8_THRESHOLD) return v.push(piece, from, to);
    let start = from;
    while (!v.complete && start < to) {
      if (!v.push(piece, start, start + 1)) return false;
      start++;
    }
    // Cut before a lead byte in the last 3 bytes (it may start an incomplete sequence).
    let cut = to;
    for (let i = to - 1; i >= to - 3 && i >= start; i--) {
      if (piece[i] >= 0xc0) {
        cut = i;
        break;
      }
      if (piece[i] < 0x80) break;
    }
    if (cut > start && !isUtf8(piece.subarray(start, cut))) return false;
    return v.push(piece, cut, to);
  }

  /** Copy the pieces held as views into the accumulator, with room for `more` bytes (lent input goes away). */
  detach(more: number): void {
    if (this.#acc === null && this.#count > 0) this.#grow(this.#size, this.#size + more);
  }

  /**
   * The view of the accumulator where the next payload bytes belong: `n` bytes, or fewer when
   * the accumulator may not grow that far yet (see the module comment).
   */
  reserve(n: number): Uint8Array {
    const size = this.#size;
    let acc = this.#acc;
    if (acc === null || acc.length === size) acc = this.#grow(size + 1, size + n);
    const end = acc.length < size + n ? acc.length : size + n;
    return acc.subarray(size, end);
  }

  /** Put `chunk[start..end)` at `at` in the accumulator, unless it is there already. */
  #put(chunk: Uint8Array, start: number, end: number, at: number): void {
    let acc = this.#acc!;
    if (chunk.buffer === acc.buffer && chunk.byteOffset + start === acc.byteOffset + at) return;
    const need = at + end - start;
    if (need > acc.length) acc = this.#grow(need, 2 * need, at);
    acc.set(chunk.subarray(start, end), at);
  }

  /**
   * A new accumulator of at least `need` bytes, `want` if the bound allows (see the module
   * comment), holding the message's first `kept` bytes (the pieces so far when there was none).
   */
  #grow(need: number, want: number, kept = this.#size): Uint8Array {
    const bound = 2 * kept + FIRST_RESERVE;
    const room = want < bound ? want : bound;
    const acc = this.#own(room > need ? room : need);
    const old = this.#acc;
    if (old !== null) {
      acc.set(old.subarray(0, kept), 0);
      this.#buffers?.release(old);
    } else {
      // The pieces so far, still views of the input.
      const count = this.#count;
      if (count > 0) acc.set(this.chunk.subarray(this.start, this.end), 0);
      if (count > 1) {
        const parts = this.#parts!;
        let at = this.end - this.start;
        for (let i = 1; i < count; i++) {
          acc.set(parts[i], at);
          at += parts[i].length;
          parts[i] = EMPTY;
        }
        parts[0] = EMPTY;
      }
      this.chunk = EMPTY;
    }
    this.#acc = acc;
    return acc;
  }

  /** Complete the message into chunk[start..end). False if the text is not valid UTF-8 (ends mid-character). */
  finish(): boolean {
    const count = this.#count;
    const acc = this.#acc;
    this.owned = acc !== null || count > 1;
    if (acc !== null) {
      this.#acc = null;
      this.chunk = acc;
      this.start = 0;
      this.end = this.#size;
    } else if (count > 1) {
      const parts = this.#parts!;
      const out = this.#own(this.#size);
      let at = 0;
      for (let i = 0; i < count; i++) {
        out.set(parts[i], at);
        at += parts[i].length;
        parts[i] = EMPTY; // release the input chunks
      }
      this.chunk = out;
      this.start = 0;
      this.end = at;
    }
    this.#count = 0;
    if (!this.#validate) return true;
    if (this.#deferred) {
      this.#deferred = false;
      return this.#isUtf8!(this.chunk.subarray(this.start, this.end));
    }
    return this.#validator!.complete;
  }

  /** The payload after finish() as a view (created here, once). */
  view(): Uint8Array {
    const c = this.chunk;
    return this.start === 0 && this.end === c.length ? c : c.subarray(this.start, this.end);
  }

  /** Drop references to input chunks once the payload has been handed over. */
  release(): void {
    this.chunk = EMPTY;
  }
}
