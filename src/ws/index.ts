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
export type { SocketSettings, UnhandledErrors } from "./socket-settings.js";
export type { BinaryType, MessageData, On, SendOptions, WebSocketInternal, WsData as Data } from "./websocket.js";
export type {
  Listener,
  Negotiated,
  Resolved as ResolvedServerOptions,
  VerifyClientCallback,
  VerifyClientInfo,
  WsServerOptions as ServerOptions,
} from "./websocket-server.js";

/** The class with the statics ws puts on it (`WebSocket.Server`, `WebSocket.createWebSocketStream`...). */
export type WsStatics = typeof WebSocket;

// ws's default export is the class with statics and type aliases on it (`WebSocket.Server`,
// `WebSocket.RawData`...): merged here so that `import WebSocket from "wirecable/ws"` is a type
// and a value, as with ws's typings.
declare module "./websocket.js" {
  // biome-ignore lint/style/noNamespace: merging statics and type aliases into the class, as ws's typings do
  namespace WebSocket {
    let createWebSocketStream: typeof import("./stream.js").createWebSocketStream;
    let Server: typeof import("./websocket-server.js").WebSocketServer;
    let WebSocketServer: typeof import("./websocket-server.js").WebSocketServer;
    let WebSocket: typeof import("./websocket.js").WebSocket;
    type Server = import("./websocket-server.js").WebSocketServer;
    type WebSocketServer = import("./websocket-server.js").WebSocketServer;
    type WebSocket = import("./websocket.js").WebSocket;
    type Data = import("./websocket.js").WsData;
    type RawData = Buffer | ArrayBuffer | Buffer[];
    type ClientOptions = import("./client.js").WsClientOptions;
    type ServerOptions = import("./websocket-server.js").WsServerOptions;
  }
}

WebSocket.createWebSocketStream = createWebSocketStream;
WebSocket.Server = WebSocketServer;
WebSocket.WebSocket = WebSocket;
WebSocket.WebSocketServer = WebSocketServer;

export {
  CloseEvent,
  createWebSocketStream,
  ErrorEvent,
  Event,
  MessageEvent,
  WebSocket,
  WebSocket as "module.exports",
  WebSocketServer,
  WebSocketServer as Server,
  WS_ERROR_CODES,
};
export default WebSocket;
