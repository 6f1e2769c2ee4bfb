/**
 * Extensions built on `./extension.ts`. permessage-deflate (RFC 7692) is the one here; its
 * compressor is injected (`DeflateCodecFactory`), so this folder stays free of node:*.
 */
export type { DeflateCodec, DeflateCodecFactory, DeflateCodecOptions } from "./deflate-codec.js";
export {
  ClientPerMessageDeflate,
  type ClientPerMessageDeflateOptions,
  DEFLATE_TAIL,
  type DeflateSessionSettings,
  PerMessageDeflateSession,
  ServerPerMessageDeflate,
  type ServerPerMessageDeflateOptions,
} from "./permessage-deflate.js";
export {
  acceptAsClient,
  clientOfferParams,
  type DeflateAgreement,
  type DeflateClientConfig,
  type DeflateParams,
  type DeflateServerConfig,
  negotiateAsServer,
  PERMESSAGE_DEFLATE,
  parseDeflateParams,
} from "./permessage-deflate-params.js";
