/**
 * `wirecable/client/node`: the isomorphic client (src/client) with wirecable's own WHATWG
 * `WebSocket` (src/node) registered as the default constructor, so Node 20 (which has no global
 * WebSocket) needs no `WebSocket` option. Resolution order: the `WebSocket` option, then this
 * default, then `globalThis.WebSocket`.
 *
 * An entry that composes two layers: it lives here, outside both, so that src/client stays free
 * of Node (the browser bundle is built from src/client/index.ts) and src/node knows nothing of
 * the client.
 */
import { setDefaultWebSocket } from "../client/index.js";
import { WebSocket } from "../node/index.js";

setDefaultWebSocket(WebSocket);

export * from "../client/index.js";
