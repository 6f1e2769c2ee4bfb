/**
 * The public API of the opening-handshake modules (server, client, HTTP CONNECT proxy, head
 * parsing, extension header syntax, SHA-1/base64), re-exported by `src/protocol/index.ts`.
 */

export { parseExtensions, renderExtension, renderExtensions } from "../extensions/extension-header.js";
export { decodeBase64, encodeBase64 } from "./base64.js";
export {
  ClientHandshake,
  type ClientHandshakeOptions,
  type ClientHandshakeResult,
} from "./client-handshake.js";
export {
  acceptExtendedConnect,
  type ExtendedConnectClientResult,
  ExtendedConnectHandshake,
  type ExtendedConnectOptions,
  type ExtendedConnectResult,
  type Http2Headers,
} from "./extended-connect.js";
export { type HeadLimits, type HttpHead, HttpHeadParser } from "./http-head-parser.js";
export { HttpResponseReader, type ResponseOutcome } from "./http-response-reader.js";
export { STATUS_TEXT, statusText } from "./http-status.js";
export { basicCredentials, connectRequest, ProxyResponse, type ProxyResult } from "./proxy.js";
export {
  acceptHandshake,
  computeAccept,
  getHeader,
  type HandshakeRequest,
  isValidHost,
  isValidKey,
  renderRejection,
  renderResponse,
  type ServerHandshakeOptions,
  type ServerHandshakeResult,
  toHandshakeRequest,
  WEBSOCKET_GUID,
} from "./server-handshake.js";
export { sha1 } from "./sha1.js";
