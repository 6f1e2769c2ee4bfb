/**
 * `wirecable/ws`: ws 8's API on wirecable's engine, for moving an application with one import
 * changed (`import WebSocket, { WebSocketServer } from "wirecable/ws"`, or
 * `require("wirecable/ws")`, which returns the WebSocket class with its statics as ws's does).
 * See docs/ws-compat.md for what matches, what differs and the safer `unhandledErrors` option.
 */
import { WS_ERROR_CODES } from "./errors.js";
import { CloseEvent, ErrorEvent, Event, MessageEvent } from "./event-target.js";
import { createWebSocketStream } from "./stream.js";
import { WebSocket } from "./websocket.js";
import { WebSocketServer } from "./websocket-server.js";

export type { WsClientOptions as ClientOptions } from "./client.js";
export type { WsPerMessageDeflateOptions as PerMessageDeflateOptions } from "./deflate-options.js";
export type { WsError } from "./errors.js";
export type { EventListenerLike } from "./event-target.js";
export type {
  BinaryType,
  MessageData,
  On,
  SendOptions,
  SocketSettings,
  UnhandledErrors,
  WebSocketInternal,
  WsData as Data,
} from "./websocket.js";
export type {
  Listener,
  Negotiated,
  Resolved as ResolvedServerOptions,
  VerifyClientCallback,
  VerifyClientInfo,
  WsServerOptions as ServerOptions,
} from "./websocket-server.js";

export type WsStatics = typeof WebSocket & {
  createWebSocketStream: typeof createWebSocketStream;
  Server: typeof WebSocketServer;
  WebSocket: typeof WebSocket;
  WebSocketServer: typeof WebSocketServer;
};

const WebSocketWithStatics = WebSocket as WsStatics;
WebSocketWithStatics.createWebSocketStream = createWebSocketStream;
WebSocketWithStatics.Server = WebSocketServer;
WebSocketWithStatics.WebSocket = WebSocket;
WebSocketWithStatics.WebSocketServer = WebSocketServer;

export {
  CloseEvent,
  createWebSocketStream,
  ErrorEvent,
  Event,
  MessageEvent,
  WebSocket,
  WebSocketServer,
  WebSocketServer as Server,
  WebSocketWithStatics as "module.exports",
  WS_ERROR_CODES,
};
export default WebSocketWithStatics;
