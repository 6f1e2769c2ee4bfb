/**
 * permessage-deflate parameters (RFC 7692 section 7.1): parsing of offers and responses,
 * the server's choice among offers and the client's check of the answer. Pure functions, no I/O.
 *
 * Contract:
 * - {@link parseDeflateParams} never throws: it returns the parsed parameters or a string
 *   saying what is wrong (unknown name, duplicate, bad value).
 * - {@link negotiateAsServer} returns the response params and the agreed configuration for
 *   the first acceptable offer, or null (RFC 7692 section 5: the server declines offers it
 *   cannot accept, never fails the handshake because of them).
 * - {@link acceptAsClient} returns the agreed configuration or a string explaining why the
 *   client must fail the connection (RFC 7692 section 5).
 */
import type { ExtensionOffer, ExtensionParams } from "./extension.js";

export const PERMESSAGE_DEFLATE = "permessage-deflate";

/** One offer or response, after validation. */
export interface DeflateParams {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  /** undefined when absent. */
  serverMaxWindowBits: number | undefined;
  /** undefined when absent; `true` when present without a value (offers only). */
  clientMaxWindowBits: number | true | undefined;
}

/** What both ends agreed on: how each side compresses. Window bits are 8-15 as negotiated. */
export interface DeflateAgreement {
  readonly serverNoContextTakeover: boolean;
  readonly clientNoContextTakeover: boolean;
  readonly serverMaxWindowBits: number;
  readonly clientMaxWindowBits: number;
}

/** The server's configuration (what it asks for in its responses). */
export interface DeflateServerConfig {
  /** Always answer server_no_context_takeover (the server resets its compressor per message). */
  readonly serverNoContextTakeover?: boolean;
  /** Always answer client_no_context_takeover (the client must reset per message). */
  readonly clientNoContextTakeover?: boolean;
  /** Max window of our compressor (8-15); answered as server_max_window_bits when below 15. */
  readonly serverMaxWindowBits?: number;
  /** Max window we let the client use; answered only when the offer allows it (7.1.2.2). */
  readonly clientMaxWindowBits?: number;
}

/** The client's configuration (what it puts in its offer). */
export interface DeflateClientConfig {
  readonly serverNoContextTakeover?: boolean;
  readonly clientNoContextTakeover?: boolean;
  readonly serverMaxWindowBits?: number;
  /** A number: the max window we will use; undefined: the bare parameter (we support it). */
  readonly clientMaxWindowBits?: number;
}

/**
 * RFC 7692 7.1.2.1: "a decimal integer value without leading zeroes between 8 to 15, inclusive".
 * Checked character by character: no Number() leniency ("0x9", " 9", "9.0", "+9").
 */
function parseWindowBits(value: string): number | undefined {
  if (value.length === 1) {
    const c = value.charCodeAt(0);
    return c >= 0x38 && c <= 0x39 ? c - 0x30 : undefined; // "8" or "9"
  }
  if (value.length === 2 && value.charCodeAt(0) === 0x31) {
    const c = value.charCodeAt(1);
    return c >= 0x30 && c <= 0x35 ? 10 + c - 0x30 : undefined; // "10".."15"
  }
  return undefined;
}

/**
 * Validate one offer (`isOffer`, from a client) or response (from a server). RFC 7692
 * section 7: unknown parameters, parameters with an invalid value and duplicated parameters
 * make the offer (response) invalid. Uses `rawParams`, which keeps duplicates.
 */
export function parseDeflateParams(offer: ExtensionOffer, isOffer: boolean): DeflateParams | string {
  const out: DeflateParams = {
    serverNoContextTakeover: false,
    clientNoContextTakeover: false,
    serverMaxWindowBits: undefined,
    clientMaxWindowBits: undefined,
  };
  const seen = new Set<string>();
  for (const [name, value] of offer.rawParams) {
    // RFC 7692 7: "has multiple extension parameters with the same name" -> decline / fail.
    if (seen.has(name)) return `duplicate parameter ${name}`;
    seen.add(name);
    switch (name) {
      case "server_no_context_takeover":
      case "client_no_context_takeover":
        // RFC 7692 7.1.1: these parameters have no value.
        if (value !== true) return `parameter ${name} must not have a value`;
        if (name === "server_no_context_takeover") out.serverNoContextTakeover = true;
        else out.clientNoContextTakeover = true;
        break;
      case "server_max_window_bits": {
        // RFC 7692 7.1.2.1: the value is required.
        const bits = value === true ? undefined : parseWindowBits(value);
        if (bits === undefined) return `invalid value for server_max_window_bits`;
        out.serverMaxWindowBits = bits;
        break;
      }
      case "client_max_window_bits": {
        // RFC 7692 7.1.2.2: "may have a value" in an offer; a response must give one.
        if (value === true) {
          if (!isOffer) return "client_max_window_bits without a value in a response";
          out.clientMaxWindowBits = true;
          break;
        }
        const bits = parseWindowBits(value);
        if (bits === undefined) return `invalid value for client_max_window_bits`;
        out.clientMaxWindowBits = bits;
        break;
      }
      default:
        return `unknown parameter ${name}`;
    }
  }
  return out;
}

/**
 * Server side: the response to the first acceptable offer (RFC 7692 section 5: "the server
 * accepts one of them" in the client's order of preference), or null. Every valid offer can be
 * accepted: any window the client asks for can be honoured by using a smaller one.
 */
export function negotiateAsServer(
  offers: readonly ExtensionOffer[],
  config: DeflateServerConfig,
): { params: ExtensionParams; agreement: DeflateAgreement } | null {
  for (const offer of offers) {
    const parsed = parseDeflateParams(offer, true);
    if (typeof parsed === "string") continue; // RFC 7692 section 5: decline an invalid offer.
    // 7.1.1.1: a requested server_no_context_takeover must be honoured and echoed; the server
    // may also add it on its own.
    const serverNoContextTakeover = parsed.serverNoContextTakeover || config.serverNoContextTakeover === true;
    // 7.1.1.2: the server may always ask the client not to use context takeover. A client that
    // offers it will not use context takeover anyway ("a hint"): echo it so both sides agree.
    const clientNoContextTakeover = parsed.clientNoContextTakeover || config.clientNoContextTakeover === true;
    // 7.1.2.1: answer with the same or a smaller value than asked; the server may add it unasked.
    let serverBits = config.serverMaxWindowBits ?? 15;
    if (parsed.serverMaxWindowBits !== undefined) serverBits = Math.min(serverBits, parsed.serverMaxWindowBits);
    const includeServerBits = parsed.serverMaxWindowBits !== undefined || serverBits < 15;
    // 7.1.2.2: client_max_window_bits may be answered only when the offer has it. A value in the
    // offer is the client's hint: answering less or equal is allowed.
    let clientBits = 15;
    let includeClientBits = false;
    if (parsed.clientMaxWindowBits !== undefined) {
      const hint = parsed.clientMaxWindowBits === true ? 15 : parsed.clientMaxWindowBits;
      const wanted = config.clientMaxWindowBits ?? 15;
      clientBits = Math.min(hint, wanted);
      includeClientBits = clientBits < 15 || parsed.clientMaxWindowBits !== true;
    }
    const params: Record<string, string | true> = {};
    if (serverNoContextTakeover) params.server_no_context_takeover = true;
    if (clientNoContextTakeover) params.client_no_context_takeover = true;
    if (includeServerBits) params.server_max_window_bits = String(serverBits);
    if (includeClientBits) params.client_max_window_bits = String(clientBits);
    return {
      params,
      agreement: {
        serverNoContextTakeover,
        clientNoContextTakeover,
        serverMaxWindowBits: serverBits,
        clientMaxWindowBits: clientBits,
      },
    };
  }
  return null;
}

/** Client side: the offer's params (RFC 7692 7.1), in a stable order. */
export function clientOfferParams(config: DeflateClientConfig): ExtensionParams {
  const params: Record<string, string | true> = {};
  if (config.serverNoContextTakeover) params.server_no_context_takeover = true;
  if (config.clientNoContextTakeover) params.client_no_context_takeover = true;
  if (config.serverMaxWindowBits !== undefined) params.server_max_window_bits = String(config.serverMaxWindowBits);
  // 7.1.2.2: without a value it only says "I support the parameter in your response".
  params.client_max_window_bits = config.clientMaxWindowBits === undefined ? true : String(config.clientMaxWindowBits);
  return params;
}

/**
 * Client side: check the server's response against our offer (RFC 7692 section 5: "if the
 * response is invalid or does not match the offer, the client MUST _Fail the WebSocket
 * Connection_"). Returns the agreement or the reason to fail.
 */
export function acceptAsClient(response: ExtensionOffer, config: DeflateClientConfig): DeflateAgreement | string {
  const parsed = parseDeflateParams(response, false);
  if (typeof parsed === "string") return parsed;
  // 7.1.1.1: having asked for server_no_context_takeover, an accepting response includes it.
  if (config.serverNoContextTakeover && !parsed.serverNoContextTakeover) {
    return "server_no_context_takeover was requested but not answered";
  }
  // 7.1.2.1: the server answers server_max_window_bits with the same or a smaller value.
  let serverBits = 15;
  if (parsed.serverMaxWindowBits !== undefined) {
    if (config.serverMaxWindowBits !== undefined && parsed.serverMaxWindowBits > config.serverMaxWindowBits) {
      return "server_max_window_bits larger than offered";
    }
    serverBits = parsed.serverMaxWindowBits;
  } else if (config.serverMaxWindowBits !== undefined) {
    return "server_max_window_bits was requested but not answered";
  }
  // 7.1.2.2: client_max_window_bits is always in our offer; a value above ours is invalid.
  let clientBits = config.clientMaxWindowBits ?? 15;
  if (typeof parsed.clientMaxWindowBits === "number") {
    if (parsed.clientMaxWindowBits > clientBits) return "client_max_window_bits larger than offered";
    clientBits = parsed.clientMaxWindowBits;
  }
  return {
    serverNoContextTakeover: parsed.serverNoContextTakeover,
    // 7.1.1.2: the server may ask for it; having offered it, we keep our word anyway.
    clientNoContextTakeover: parsed.clientNoContextTakeover || config.clientNoContextTakeover === true,
    serverMaxWindowBits: serverBits,
    clientMaxWindowBits: clientBits,
  };
}
