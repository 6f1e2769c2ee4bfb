/**
 * wirecable/client: the isomorphic reconnecting WebSocket client and the ActionCable consumer.
 * Works in browsers (global WebSocket) and in Node (pass `WebSocket`, or use Node >= 22's
 * global, or import "wirecable/client/node" which defaults to wirecable's own). No `node:*`
 * import anywhere under src/client: this entry is also the browser bundle's.
 */

export { Feature, type HistoryRequest, PROTOCOL_V1_EXT_JSON, type WirePosition } from "../cable/extensions.js";
export {
  CABLE_PROTOCOLS,
  type Command,
  DisconnectReason,
  MessageType,
  PROTOCOL_UNSUPPORTED,
  PROTOCOL_V1_JSON,
  type ServerMessage,
} from "../cable/protocol.js";
export { type BackoffOptions, backoffCeiling, backoffDelay, DEFAULT_BACKOFF } from "./backoff.js";
export {
  Consumer,
  type ConsumerOptions,
  createConsumer,
  createWebSocketURL,
  Subscriptions,
} from "./channels/consumer.js";
export { AckError, type AckOptions, type PresenceChange, type ResyncInfo } from "./channels/delivery.js";
export { type ChannelParams, Subscription, type SubscriptionCallbacks } from "./channels/subscription.js";
export { systemClock } from "./clock.js";
export { defaultShouldReconnect, setDefaultWebSocket } from "./defaults.js";
export { browserEnvironment } from "./environment.js";
export { FallbackSocket, type FallbackSocketOptions } from "./fallback/fallback-socket.js";
export { DEFAULT_TRANSPORTS } from "./fallback/transports.js";
export { ReconnectingWebSocket } from "./reconnecting-websocket.js";
export { type PushResult, SendQueue } from "./send-queue.js";
export * from "./types.js";
