/**
 * Legacy WebSocket drafts (draft-hixie-thewebsocketprotocol-75 and -76), server side, behind
 * the WebSocketEngine interface. How the Node layer routes `legacyDrafts` requests here, from
 * node:http's `upgrade` event (test/protocol/legacy/loopback.test.ts runs this wiring):
 *
 *   server.on("upgrade", (req, socket, head) => {
 *     const request = { method: req.method, target: req.url, httpVersion: req.httpVersion, headers: req.headers };
 *     const draft = detectDraft(request);   // "hixie-75" | "hixie-76" | "hybi" | null
 *     if (draft !== "hixie-75" && draft !== "hixie-76") return;   // RFC 6455 path (or not WebSocket)
 *     // Optional: refuse before building a connection (origins, auth...): validateHixieRequest(draft, request)
 *     const host = {                            // an EngineHost: bytes out, events, decisions
 *       output: (chunk) => socket.write(chunk),
 *       outputRange: (bytes, start, end) => socket.write(bytes.slice(start, end)),
 *       dispatch: (event) => app.handle(event),  // first event: "open", in a microtask
 *       awaitClose: () => armCloseTimer(() => engine.receiveEof()),
 *       closeTransport: () => socket.end(),
 *     };
 *     const engine = createHixieDriver(request, host, {
 *       head,                                   // draft-76's 8 key bytes are usually in here
 *       secure: Boolean(socket.encrypted),      // ws: or wss: in the Location header
 *       protocols, maxPayload, headers,         // as for RFC 6455
 *       alloc: Buffer.allocUnsafe,
 *     })!;
 *     socket.on("data", (d) => engine.receiveData(d));
 *     socket.on("end", () => engine.receiveEof());
 *   });
 *
 * Differences from the RFC 6455 engine: no binary (`supportsBinary` false: binary sends throw a
 * TypeError), no ping/pong (`supportsPing` false: ping() returns false, so use another
 * keep-alive), no close codes on the wire (close events report 1005 clean / 1006 abrupt /
 * the ProtocolError's closeCode), `extensions` always "".
 */
import type { HandshakeError } from "../errors.js";
import type { EngineHost } from "../types.js";
import type { HixieRequest } from "./detect.js";
import { detectDraft } from "./detect.js";
import { Draft75Driver } from "./draft75.js";
import { Draft76Driver } from "./draft76.js";
import type { HixieDriver, HixieDriverOptions } from "./driver.js";
import { type HixieDraft, prepareHandshake } from "./handshake.js";

export { type DetectedDraft, detectDraft, type HixieRequest } from "./detect.js";
export { Draft75Driver } from "./draft75.js";
export { Draft76Driver } from "./draft76.js";
export { HixieDriver, type HixieDriverOptions } from "./driver.js";
export {
  CLOSING_FRAME,
  encodeTextFrame,
  HixieFrameParser,
  type HixieFrameSink,
  type HixieParserOptions,
  MAX_LENGTH_DIGITS,
} from "./framing.js";
export {
  challengeResponse,
  type HixieDraft,
  type HixieHandshakeOptions,
  keyPart,
  type PreparedHandshake,
  prepareHandshake,
  renderRejection,
} from "./handshake.js";
export { md5 } from "./md5.js";

/**
 * A driver for a hixie request, or null when `detectDraft` says it is RFC 6455 ("hybi") or
 * not a WebSocket upgrade. A refused hixie handshake still returns a driver (it writes the 400
 * and reports error + close); call `validateHixieRequest` first to refuse without one.
 */
export function createHixieDriver(
  request: HixieRequest,
  host: EngineHost,
  options?: HixieDriverOptions,
): HixieDriver | null {
  const draft = detectDraft(request);
  if (draft === "hixie-75") return new Draft75Driver(request, host, options);
  if (draft === "hixie-76") return new Draft76Driver(request, host, options);
  return null;
}

/** Why a request for `draft` would be refused (HTTP 400), or null if its handshake is valid. */
export function validateHixieRequest(draft: HixieDraft, request: HixieRequest): HandshakeError | null {
  const prepared = prepareHandshake(draft, request);
  return prepared.ok ? null : prepared.error;
}
