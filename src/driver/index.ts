/**
 * `wirecable/driver`: websocket-driver's API (the engine under faye-websocket, sockjs and
 * webpack-dev-server) on wirecable's sans-I/O engine, for moving a consumer with one import
 * changed (`require("wirecable/driver")` returns the Driver object as websocket-driver's does).
 * See docs/driver-compat.md.
 */
import { Draft } from "./draft.js";
import { Client, type DriverOptions, Hybi, isWebSocket, validateOptions } from "./hybi.js";
import { http, isSecureRequest, Server } from "./server.js";

export type {
  Callback as ExtensionCallback,
  Extensions,
  Params as ExtensionParams,
  WebSocketExtension,
  WebSocketExtensionSession,
  WsExtMessage as ExtensionMessage,
} from "./extensions.js";
export type { Headers } from "./headers.js";
export {
  CloseEvent,
  ConnectEvent,
  type DriverOptions,
  type DriverRequest,
  MessageEvent,
  OpenEvent,
  PingEvent,
  PongEvent,
} from "./hybi.js";
export { ProxyStream } from "./proxy.js";
export type { IO, Messages } from "./streams.js";
export { Client, Draft, Hybi, Server };

const Driver = {
  client(url: string, options?: DriverOptions): Client {
    const opts = { ...options };
    if (opts.masking === undefined) opts.masking = true;
    return new Client(url, opts);
  },
  server(options?: DriverOptions): Server {
    const opts = { ...options };
    if (opts.requireMasking === undefined) opts.requireMasking = true;
    return new Server(opts);
  },
  http,
  isSecureRequest,
  isWebSocket,
  validateOptions,
};

export { Driver, Driver as "module.exports" };
export default Driver;
