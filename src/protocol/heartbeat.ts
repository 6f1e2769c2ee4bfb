/**
 * The heartbeat ping of a server connection without extensions, as one shared frame: what its
 * engine's `ping()` (no payload) writes (RFC 6455 5.5.2: a Ping frame; 5.1: a server does not
 * mask). A host whose connection has no engine at the moment (see WebSocketEngine.atRest) writes
 * these bytes instead of making an engine only to send them. Never modified.
 */
import { encodeFrame } from "./frames/frame-encoder.js";
import { Opcode } from "./types.js";

export const SERVER_HEARTBEAT_PING: Uint8Array = encodeFrame(Opcode.PING, new Uint8Array(0));
