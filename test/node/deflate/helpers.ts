import assert from "node:assert/strict";
import {
  createClientDeflate,
  createServerDeflate,
  type PerMessageDeflateOptions,
} from "../../../src/node/deflate/index.js";
/** Pairs of negotiated permessage-deflate sessions (server and client) for codec tests. */
import type {
  ExtensionMessage,
  ExtensionOffer,
  ExtensionParams,
  ExtensionSession,
} from "../../../src/protocol/extensions/extension.js";

export function asOffer(params: ExtensionParams): ExtensionOffer {
  return { name: "permessage-deflate", params, rawParams: Object.entries(params) };
}

export interface SessionPair {
  server: ExtensionSession;
  client: ExtensionSession;
  response: ExtensionParams;
  close(): void;
}

/** Negotiate like a real handshake: client offer -> server answer -> client accept. */
export function sessionPair(
  serverOptions: true | PerMessageDeflateOptions = true,
  clientOptions: true | PerMessageDeflateOptions = { preset: "dedicated" },
): SessionPair {
  const server = createServerDeflate(serverOptions);
  const client = createClientDeflate(clientOptions);
  const negotiated = server.negotiate(client.offers().map(asOffer));
  if (negotiated === null) throw new Error("declined");
  const clientSession = client.accept(asOffer(negotiated.params));
  return {
    server: negotiated.session,
    client: clientSession,
    response: negotiated.params,
    close() {
      negotiated.session.close?.();
      clientSession.close?.();
    },
  };
}

export function msg(data: Uint8Array | string, extra: Partial<ExtensionMessage> = {}): ExtensionMessage {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  return { opcode: typeof data === "string" ? 1 : 2, rsv1: false, rsv2: false, rsv3: false, data: bytes, ...extra };
}

/** Byte equality regardless of Buffer vs Uint8Array. */
export function same(actual: Uint8Array, expected: Uint8Array): void {
  assert.deepEqual(new Uint8Array(actual), new Uint8Array(expected));
}
