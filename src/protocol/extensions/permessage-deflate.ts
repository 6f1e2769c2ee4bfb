/**
 * permessage-deflate (RFC 7692) on the extension API of `./extension.ts`: a server half
 * ({@link ServerPerMessageDeflate}), a client half ({@link ClientPerMessageDeflate}) and the
 * per-connection session that compresses and decompresses whole messages through an injected
 * {@link DeflateCodecFactory}.
 *
 * Contract:
 * - Negotiation follows RFC 7692 section 7.1 (see `permessage-deflate-params.ts`): the server
 *   declines invalid offers and picks the first acceptable one; the client throws a
 *   HandshakeError from `accept()` for an invalid or unexpected response.
 * - Outgoing: a message is compressed (RSV1 set) unless `compress === false`, or it is smaller
 *   than `threshold` bytes and `compress !== true`. The `00 00 ff ff` tail is stripped (7.2.1).
 * - Incoming: a message with RSV1 is inflated with the tail appended (7.2.2), bounded by
 *   `maxPayload` while inflating; one without RSV1 passes through untouched (RFC 7692 6.1).
 * - Errors: MESSAGE_TOO_BIG (1009) from the codec is passed on; any other failure of the
 *   decompressor (corrupt data) becomes ProtocolError("EXTENSION_ERROR", 1007), as ws does.
 */
import { HandshakeError, ProtocolError } from "../errors.js";
import type { DeflateCodec, DeflateCodecFactory } from "./deflate-codec.js";
import type {
  ClientExtension,
  ExtensionMessage,
  ExtensionOffer,
  ExtensionParams,
  ExtensionSession,
  ServerExtension,
} from "./extension.js";
import {
  acceptAsClient,
  clientOfferParams,
  type DeflateAgreement,
  type DeflateClientConfig,
  type DeflateServerConfig,
  negotiateAsServer,
  PERMESSAGE_DEFLATE,
} from "./permessage-deflate-params.js";

/** RFC 7692 7.2.1: the empty stored block every sync flush ends with. */
export const DEFLATE_TAIL: Uint8Array = Uint8Array.of(0x00, 0x00, 0xff, 0xff);

/** Session settings besides the negotiated parameters. */
export interface DeflateSessionSettings {
  /** Messages below this many bytes are sent uncompressed (unless `compress: true`). Default 0. */
  readonly threshold?: number;
}

/** One connection's permessage-deflate: compress out, inflate in, through one codec. */
export class PerMessageDeflateSession implements ExtensionSession {
  readonly name = PERMESSAGE_DEFLATE;
  /** RFC 7692 section 6: permessage-deflate uses RSV1 ("Per-Message Compressed" bit). */
  readonly rsv1 = true;
  readonly agreement: DeflateAgreement;
  #codec: DeflateCodec;
  #threshold: number;
  #closed = false;

  constructor(codec: DeflateCodec, agreement: DeflateAgreement, settings: DeflateSessionSettings = {}) {
    this.#codec = codec;
    this.agreement = agreement;
    this.#threshold = settings.threshold ?? 0;
  }

  processOutgoing(message: ExtensionMessage): ExtensionMessage | Promise<ExtensionMessage> {
    // Per-send opt-out (CRIME/BREACH: never compress secrets next to attacker-controlled data).
    if (message.compress === false) return message;
    if (message.compress !== true && message.data.byteLength < this.#threshold) return message;
    return this.#codec.deflate(message.data).then((out) => {
      // RFC 7692 7.2.1: "Remove 4 octets (that are 0x00 0x00 0xff 0xff) from the tail end."
      const n = out.byteLength;
      const data =
        n >= 4 && out[n - 4] === 0 && out[n - 3] === 0 && out[n - 2] === 0xff && out[n - 1] === 0xff
          ? out.subarray(0, n - 4)
          : out;
      return { ...message, rsv1: true, data };
    });
  }

  processIncoming(message: ExtensionMessage, maxPayload: number): ExtensionMessage | Promise<ExtensionMessage> {
    // RFC 7692 6.1: a message with RSV1 unset is not compressed.
    if (!message.rsv1) return message;
    // RFC 7692 7.2.2: "Append 4 octets of 0x00 0x00 0xff 0xff to the tail end of the payload".
    return this.#codec.inflate([message.data, DEFLATE_TAIL], maxPayload).then(
      (data) => ({ ...message, rsv1: false, data }),
      (error: unknown) => {
        if (error instanceof ProtocolError) throw error;
        throw new ProtocolError("EXTENSION_ERROR", "permessage-deflate: invalid compressed data", {
          cause: error,
        });
      },
    );
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#codec.close();
  }
}

/** Server options beyond the negotiated parameters. */
export interface ServerPerMessageDeflateOptions extends DeflateServerConfig, DeflateSessionSettings {}
/** Client options: what to offer, plus session settings. */
export interface ClientPerMessageDeflateOptions extends DeflateClientConfig, DeflateSessionSettings {}

function codecFor(factory: DeflateCodecFactory, agreement: DeflateAgreement, role: "server" | "client"): DeflateCodec {
  const server = role === "server";
  return factory({
    deflateWindowBits: server ? agreement.serverMaxWindowBits : agreement.clientMaxWindowBits,
    deflateNoContextTakeover: server ? agreement.serverNoContextTakeover : agreement.clientNoContextTakeover,
    inflateWindowBits: server ? agreement.clientMaxWindowBits : agreement.serverMaxWindowBits,
    inflateNoContextTakeover: server ? agreement.clientNoContextTakeover : agreement.serverNoContextTakeover,
  });
}

/** The server half: answers the first acceptable offer. */
export class ServerPerMessageDeflate implements ServerExtension {
  readonly name = PERMESSAGE_DEFLATE;
  #factory: DeflateCodecFactory;
  #options: ServerPerMessageDeflateOptions;

  constructor(factory: DeflateCodecFactory, options: ServerPerMessageDeflateOptions = {}) {
    this.#factory = factory;
    this.#options = options;
  }

  negotiate(offers: readonly ExtensionOffer[]): { params: ExtensionParams; session: ExtensionSession } | null {
    const result = negotiateAsServer(offers, this.#options);
    if (result === null) return null;
    const codec = codecFor(this.#factory, result.agreement, "server");
    return { params: result.params, session: new PerMessageDeflateSession(codec, result.agreement, this.#options) };
  }
}

/** The client half: one offer; validates the server's answer. */
export class ClientPerMessageDeflate implements ClientExtension {
  readonly name = PERMESSAGE_DEFLATE;
  #factory: DeflateCodecFactory;
  #options: ClientPerMessageDeflateOptions;

  constructor(factory: DeflateCodecFactory, options: ClientPerMessageDeflateOptions = {}) {
    this.#factory = factory;
    this.#options = options;
  }

  offers(): ExtensionParams[] {
    return [clientOfferParams(this.#options)];
  }

  accept(response: ExtensionOffer): ExtensionSession {
    const agreement = acceptAsClient(response, this.#options);
    // RFC 7692 section 5: an invalid response: the client MUST _Fail the WebSocket Connection_.
    if (typeof agreement === "string") throw new HandshakeError("BAD_REQUEST", `permessage-deflate: ${agreement}`);
    const codec = codecFor(this.#factory, agreement, "client");
    return new PerMessageDeflateSession(codec, agreement, this.#options);
  }
}
