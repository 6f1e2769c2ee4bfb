/**
 * `wirecable`: the Node server and client on the sans-I/O engine. See docs/contracts.md
 * ("The Node layer") for the API contract.
 */
export { HandshakeError, InvalidStateError, OptionError, ProtocolError } from "../protocol/errors.js";
export { PreparedMessage, prepareMessage } from "../protocol/prepared-message.js";
export { type ClientOptions, connect } from "./client.js";
export { type AnyConnection, Connection, type ConnectionEvents } from "./connection.js";
export type {
  CloseInfo,
  ConnectionRequest,
  SendData,
  SendResult,
  SendReturn,
  SendReturnByPolicy,
  Transport,
} from "./connection-types.js";
export type { DeflatePreset, PerMessageDeflateOptions } from "./deflate/index.js";
export type { FallbackOptions } from "./fallback/endpoint.js";
export type { FallbackRelay, RelayedPost } from "./fallback/relay.js";
export { FallbackTransport, type FallbackTransportInit } from "./fallback/transport.js";
export {
  type BackpressurePolicy,
  type ConnectionOptions,
  type ImmediatePolicy,
  Rejection,
  type ServerOptions,
} from "./options.js";
export type { OriginRule } from "./origin.js";
export { TokenBucket } from "./rate-limiter.js";
export { type ServerCloseOptions, WebSocketServer, type WebSocketServerEvents } from "./server.js";
export { TimerWheel } from "./timer-wheel.js";
export type { EmitterBase, EventHandler, EventMap, EventMethod, TypedEvents } from "./typed-events.js";
export {
  type AnyEventListener,
  type BinaryType,
  CloseEvent,
  ErrorEvent,
  WebSocket,
  type WebSocketEventMap,
  type WebSocketHandler,
  type WebSocketListener,
  type WebSocketListenerOptions,
  type WebSocketMessageEvent,
} from "./websocket.js";
export {
  type WebSocketCloseInfo,
  WebSocketError,
  type WebSocketOpenInfo,
  WebSocketStream,
  type WebSocketStreamOptions,
} from "./websocket-stream.js";
