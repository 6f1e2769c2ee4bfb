/**
 * The Node entry of wirecable/client: the same API as index.ts, with wirecable's own WHATWG
 * `WebSocket` (src/node) registered as the default constructor, so Node 20 (which has no global
 * WebSocket) needs no `WebSocket` option. Resolution order stays: the `WebSocket` option, then
 * this default, then `globalThis.WebSocket`.
 *
 * This file is the one exception to src/client's isomorphism: it imports the Node layer (and so,
 * transitively, node:*). It is not part of the browser bundle, which is built from index.ts.
 */
import { WebSocket } from "../node/websocket.js";
import { setDefaultWebSocket } from "./defaults.js";

setDefaultWebSocket(WebSocket);

export * from "./index.js";
