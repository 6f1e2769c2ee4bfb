/**
 * draft-hixie-thewebsocketprotocol-75, server side: the handshake of Safari 5.0 and Chrome 4-5.
 * No challenge, no closing handshake (closing the TCP connection ends it). See driver.ts.
 */
import type { EngineHost } from "../types.js";
import type { HixieRequest } from "./detect.js";
import { HixieDriver, type HixieDriverOptions } from "./driver.js";

export class Draft75Driver extends HixieDriver {
  constructor(request: HixieRequest, host: EngineHost, options?: HixieDriverOptions) {
    super("hixie-75", request, host, options);
  }
}
