/**
 * Reassembles a message from the payload pieces of its frames (RFC 6455 section 5.4) and
 * validates text incrementally (section 8.1), failing at the first impossible byte.
 *
 * Contract: `begin()` at the first frame, `add()` per payload piece (returns false on invalid
 * UTF-8), `finish()` at the final frame returns the payload (the single piece itself when the
 * message came in one piece: zero-copy) or null when the text ends mid-character.
 * The size and fragment limits are enforced earlier, by the frame parser.
 */
import { Utf8Validator } from "./utf8.js";

const EMPTY = new Uint8Array(0);
/** Below this size the JS validator beats a call to the injected native one. */
const NATIVE_UTF8_THRESHOLD = 64;

export class MessageAssembler {
  readonly #alloc: (size: number) => Uint8Array;
  readonly #validator = new Utf8Validator();
  /** Optional whole-buffer validator (Node's `buffer.isUtf8`) used when a message is one piece. */
  readonly #isUtf8: ((bytes: Uint8Array) => boolean) | undefined;
  readonly #parts: Uint8Array[] = [];
  #size = 0;
  #validate = false;
  /** The message is one piece, left for the fast validator in finish(). */
  #deferred = false;
  opcode = 0;
  rsv = 0;

  constructor(alloc: (size: number) => Uint8Array, isUtf8?: (bytes: Uint8Array) => boolean) {
    this.#alloc = alloc;
    this.#isUtf8 = isUtf8;
  }

  /** Start a message. `validateText`: check UTF-8 on the fly (text without an extension transform). */
  begin(opcode: number, rsv: number, validateText: boolean): void {
    this.opcode = opcode;
    this.rsv = rsv;
    this.#size = 0;
    this.#parts.length = 0;
    this.#validate = validateText;
    this.#deferred = false;
    if (validateText) this.#validator.reset();
  }

  get size(): number {
    return this.#size;
  }

  /**
   * Add a payload piece; `last` when it completes the message. Returns false if the text can
   * never become valid UTF-8 (checked on every piece that is not the whole message: fail fast).
   */
  add(piece: Uint8Array, last: boolean): boolean {
    const parts = this.#parts;
    parts.push(piece);
    this.#size += piece.length;
    if (!this.#validate) return true;
    // The whole message in one piece: one call to the fast whole-buffer validator in finish().
    if (last && parts.length === 1 && this.#isUtf8 !== undefined && piece.length >= NATIVE_UTF8_THRESHOLD) {
      this.#deferred = true;
      return true;
    }
    return this.#validatePiece(piece);
  }

  /**
   * Incremental validation, with the fast whole-buffer validator on the part of the piece that
   * ends on a character boundary: the incremental one only finishes a sequence begun in the
   * previous piece and checks the (at most 3-byte) incomplete tail.
   */
  #validatePiece(piece: Uint8Array): boolean {
    const v = this.#validator;
    const isUtf8 = this.#isUtf8;
    const n = piece.length;
    if (isUtf8 === undefined || n < NATIVE_UTF8_THRESHOLD) return v.push(piece);
    let start = 0;
    while (!v.complete && start < n) {
      if (!v.push(piece, start, start + 1)) return false;
      start++;
    }
    // Cut before a lead byte in the last 3 bytes (it may start an incomplete sequence).
    let cut = n;
    for (let i = n - 1; i >= n - 3 && i >= start; i--) {
      if (piece[i] >= 0xc0) {
        cut = i;
        break;
      }
      if (piece[i] < 0x80) break;
    }
    if (cut > start && !isUtf8(piece.subarray(start, cut))) return false;
    return v.push(piece, cut, n);
  }

  /** The whole payload, or null if the text is not valid UTF-8 (ends mid-character). */
  finish(): Uint8Array | null {
    const parts = this.#parts;
    let out: Uint8Array;
    if (parts.length === 1) out = parts[0];
    else if (parts.length === 0) out = EMPTY;
    else {
      out = this.#alloc(this.#size);
      let at = 0;
      for (let i = 0; i < parts.length; i++) {
        out.set(parts[i], at);
        at += parts[i].length;
      }
    }
    parts.length = 0;
    if (this.#validate) {
      if (this.#deferred) {
        this.#deferred = false;
        if (!this.#isUtf8!(out)) return null;
      } else if (!this.#validator.complete) return null;
    }
    return out;
  }

  /** Drop a partial message. */
  reset(): void {
    this.#parts.length = 0;
    this.#size = 0;
  }
}
