/**
 * `wirecable/protocol`: the sans-I/O WebSocket engine. Bytes in, events and bytes out; no
 * sockets, no timers, no node:* imports. docs/contracts.md gives the contract, docs/DEVELOPING.md
 * the place of the engine among the layers.
 *
 * - {@link Engine}: one RFC 6455 connection after (or during) the opening handshake.
 * - {@link acceptHandshake} / {@link ClientHandshake}: the opening handshakes.
 * - {@link connectRequest} / {@link ProxyResponse}: HTTP CONNECT proxying for clients.
 * - permessage-deflate negotiation ({@link ServerPerMessageDeflate}, {@link ClientPerMessageDeflate});
 *   the compressor itself is injected (the Node layer provides zlib).
 * - hixie-75/76 server drivers ({@link createHixieDriver}) for legacy clients.
 */
export { ABNORMAL_CLOSURE, isValidCloseCode, MAX_REASON_BYTES, NO_STATUS_CODE } from "./close-codes.js";
export { createEngine, Engine } from "./engine.js";
export {
  HANDSHAKE_ERRORS,
  HandshakeError,
  type HandshakeErrorCode,
  InvalidStateError,
  OptionError,
  PROTOCOL_ERRORS,
  ProtocolError,
  type ProtocolErrorCode,
} from "./errors.js";
export type {
  ClientExtension,
  ExtensionMessage,
  ExtensionOffer,
  ExtensionParams,
  ExtensionSession,
  RsvClaim,
  ServerExtension,
} from "./extensions/extension.js";
export * from "./extensions/index.js";
export { encodeFrame, type FrameOptions } from "./frames/frame-encoder.js";
export { FrameParser } from "./frames/frame-parser.js";
export { applyMask } from "./frames/mask.js";
export * from "./handshake/index.js";
export {
  createHixieDriver,
  type DetectedDraft,
  Draft75Driver,
  Draft76Driver,
  detectDraft,
  type HixieDraft,
  HixieDriver,
  type HixieDriverOptions,
  type HixieRequest,
  md5,
  validateHixieRequest,
} from "./legacy/index.js";
export * from "./limits.js";
export { PreparedMessage, prepareMessage } from "./prepared-message.js";
export * from "./types.js";
export { isValidUtf8, Utf8Validator } from "./utf8.js";
