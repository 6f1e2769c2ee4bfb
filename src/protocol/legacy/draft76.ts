/**
 * draft-hixie-thewebsocketprotocol-76 (= hybi-00), server side: the handshake of Chrome 6-13,
 * Safari 5.0.1+, Firefox 4 betas and Opera 11. An MD5 challenge over Sec-WebSocket-Key1/Key2 and
 * the 8 bytes after the request head, and the 0xFF 0x00 closing handshake. See driver.ts.
 */
import type { EngineHost } from "../types.js";
import type { HixieRequest } from "./detect.js";
import { HixieDriver, type HixieDriverOptions } from "./driver.js";

export class Draft76Driver extends HixieDriver {
  constructor(request: HixieRequest, host: EngineHost, options?: HixieDriverOptions) {
    super("hixie-76", request, host, options);
  }
}
