/**
 * Runs whole messages through the negotiated extensions (RFC 6455 section 9), which may answer
 * synchronously or with a Promise. Outbound, extensions apply in negotiated order; inbound, in
 * reverse. The result is a plain value when every step was synchronous, so the common case
 * allocates no Promise; the engine keeps the order with an OrderedQueue.
 *
 * Contract: `incoming` checks the transformed message against `maxPayload` (1009) and, for
 * text, validates UTF-8 (1007) unless the bytes are the ones already validated while parsing.
 * Errors are thrown (synchronously or as a rejection); the engine maps them to close codes.
 */
import { ProtocolError } from "../errors.js";
import { RSV1, RSV2, RSV3 } from "../frames/frame-encoder.js";
import { isPromiseLike } from "../ordered-queue.js";
import { BinaryMessage, TextMessage, type Utf8Decoder } from "../text-message.js";
import type { ExtensionMessage, ExtensionSession } from "./extension.js";

type MaybePromise<T> = T | PromiseLike<T>;

/** Something to frame: a whole message after the extensions, or one frame / stream fragment. */
export interface OutgoingMessage {
  /** A whole message (fragmented per `fragmentSize`), else one frame or a stream fragment. */
  readonly message: boolean;
  readonly opcode: number;
  readonly fin: boolean;
  readonly rsv: number;
  readonly data: Uint8Array;
  /** A marker instead of a frame: run when everything queued before it has been framed. */
  readonly done?: () => void;
}

export class ExtensionPipeline {
  readonly #sessions: readonly ExtensionSession[];
  readonly #maxPayload: number;
  readonly #isUtf8: (bytes: Uint8Array) => boolean;
  readonly #validateUtf8: boolean;
  readonly #decode: Utf8Decoder;

  constructor(
    sessions: readonly ExtensionSession[],
    maxPayload: number,
    isUtf8: (bytes: Uint8Array) => boolean,
    decode: Utf8Decoder,
    validateUtf8 = true,
  ) {
    this.#sessions = sessions;
    this.#validateUtf8 = validateUtf8;
    this.#maxPayload = maxPayload;
    this.#isUtf8 = isUtf8;
    this.#decode = decode;
  }

  /** RSV bits (as in the first header byte) that the sessions claim. */
  static rsvClaimed(sessions: readonly ExtensionSession[]): number {
    let bits = 0;
    for (const s of sessions) bits |= (s.rsv1 ? RSV1 : 0) | (s.rsv2 ? RSV2 : 0) | (s.rsv3 ? RSV3 : 0);
    return bits;
  }

  /** A received message (payload reassembled, RSV bits of its first frame) to its event. */
  incoming(opcode: 1 | 2, rsv: number, data: Uint8Array): MaybePromise<TextMessage | BinaryMessage> {
    const max = this.#maxPayload;
    let result: MaybePromise<ExtensionMessage> = {
      opcode,
      rsv1: (rsv & RSV1) !== 0,
      rsv2: (rsv & RSV2) !== 0,
      rsv3: (rsv & RSV3) !== 0,
      data,
    };
    for (let i = this.#sessions.length - 1; i >= 0; i--) {
      const session = this.#sessions[i];
      result = isPromiseLike(result)
        ? result.then((m) => session.processIncoming(m, max))
        : session.processIncoming(result, max);
    }
    // Text without RSV bits was validated while parsing; an extension that changed it is re-checked.
    const validated = opcode === 1 && rsv === 0 ? data : null;
    return isPromiseLike(result) ? result.then((m) => this.#toEvent(m, validated)) : this.#toEvent(result, validated);
  }

  /** A message to send, through every extension. */
  outgoing(opcode: 1 | 2, data: Uint8Array, compress: boolean | undefined): MaybePromise<OutgoingMessage> {
    let result: MaybePromise<ExtensionMessage> =
      compress === undefined
        ? { opcode, rsv1: false, rsv2: false, rsv3: false, data }
        : { opcode, rsv1: false, rsv2: false, rsv3: false, data, compress };
    for (const session of this.#sessions) {
      result = isPromiseLike(result) ? result.then((m) => session.processOutgoing(m)) : session.processOutgoing(result);
    }
    return isPromiseLike(result) ? result.then(toOutgoing) : toOutgoing(result);
  }

  /** Release every session (once, when the connection ends). Errors are rethrown asynchronously. */
  close(): void {
    for (const session of this.#sessions) {
      try {
        session.close?.();
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }

  #toEvent(m: ExtensionMessage, validated: Uint8Array | null): TextMessage | BinaryMessage {
    if (this.#maxPayload > 0 && m.data.length > this.#maxPayload) {
      throw new ProtocolError("MESSAGE_TOO_BIG", `message exceeds ${this.#maxPayload} bytes`);
    }
    if (m.opcode === 2) return new BinaryMessage(m.data, 0, m.data.length);
    // RFC 6455 8.1: text MUST be valid UTF-8, checked after the extensions (RFC 7692 8.2.3.4... decompressed data).
    if (m.data !== validated && this.#validateUtf8 && !this.#isUtf8(m.data)) {
      throw new ProtocolError("INVALID_UTF8", "invalid UTF-8 in a text message");
    }
    return new TextMessage(m.data, 0, m.data.length, this.#decode);
  }
}

function toOutgoing(m: ExtensionMessage): OutgoingMessage {
  const rsv = (m.rsv1 ? RSV1 : 0) | (m.rsv2 ? RSV2 : 0) | (m.rsv3 ? RSV3 : 0);
  return { message: true, opcode: m.opcode, fin: true, rsv, data: m.data };
}
