/**
 * Which engine drives a connection: the RFC 6455 engine (`src/protocol/engine.ts`) or, for
 * servers with `legacyDrafts`, the hixie-75/76 drivers (`src/protocol/legacy/`). Both implement
 * WebSocketEngine; the Connection does not know which one it drives.
 */
import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import { Engine } from "../protocol/engine.js";
import { createHixieDriver, detectDraft } from "../protocol/legacy/index.js";
import type { EngineHost, EngineOptions, WebSocketEngine } from "../protocol/types.js";
import { Connection } from "./connection.js";
import type { BackpressurePolicy, ResolvedConnectionOptions } from "./options.js";

export function createHybiEngine(host: EngineHost, options: EngineOptions): WebSocketEngine {
  return new Engine(host, options);
}

export interface LegacyContext {
  options: ResolvedConnectionOptions;
  protocols: string[] | ((offered: string[], req: IncomingMessage) => string | null | undefined) | undefined;
  headers: Record<string, string> | undefined;
  data: unknown;
}

/**
 * Route a hixie-75/76 request to its driver: returns the connection (possibly still
 * CONNECTING: draft-76 opens once its 8-byte key arrived), or null for an RFC 6455 request.
 */
export function legacyUpgrade<P extends BackpressurePolicy>(
  req: IncomingMessage,
  socket: Socket,
  head: Buffer,
  context: LegacyContext,
): Connection<P> | null {
  const request = {
    method: req.method ?? "GET",
    target: req.url ?? "/",
    httpVersion: req.httpVersion,
    headers: req.headers,
  };
  const draft = detectDraft(request);
  if (draft !== "hixie-75" && draft !== "hixie-76") return null;
  const protocols = context.protocols;
  const secure = (socket as Socket & { encrypted?: boolean }).encrypted === true;
  return new Connection<P>({
    role: "server",
    socket,
    options: context.options,
    protocol: "",
    extensions: [],
    extensionsHeader: "",
    request: req,
    data: context.data,
    engineVersion: draft,
    createEngine: (host, engineOptions) => {
      const driver = createHixieDriver(request, host, {
        alloc: engineOptions.alloc,
        maxPayload: context.options.maxPayload,
        head,
        secure,
        headers: context.headers,
        protocols: typeof protocols === "function" ? (offered) => protocols(offered, req) : protocols,
      });
      if (driver === null) throw new Error("not a legacy request"); // unreachable: detectDraft said hixie
      return driver;
    },
  });
}
