/**
 * permessage-deflate for the Node layer: factory functions turning the `perMessageDeflate`
 * option into the protocol layer's ServerExtension / ClientExtension, backed by node:zlib.
 *
 * Contract: `createServerDeflate(options)` and `createClientDeflate(options)` validate the
 * options at once (OptionError naming the option) and return an extension to pass to the
 * handshake (`extensions: [ext]`). One extension instance serves every connection of a server:
 * create it once, not per upgrade (its zlib limiter is shared through it; pools are process-wide).
 */
import type { ClientExtension, ServerExtension } from "../../protocol/extensions/extension.js";
import { ClientPerMessageDeflate, ServerPerMessageDeflate } from "../../protocol/extensions/permessage-deflate.js";
import { sharedZlibLimiter, ZlibLimiter } from "./limiter.js";
import { type PerMessageDeflateOptions, type ResolvedDeflateOptions, resolveDeflateOptions } from "./options.js";
import { DEFAULT_DEFLATE_IDLE_TIMEOUT, type ZlibCodecSettings, zlibCodecFactory } from "./zlib-codec.js";

export { DEFAULT_ZLIB_CONCURRENCY, ZlibLimiter } from "./limiter.js";
export type { DeflatePreset, PerMessageDeflateOptions, ResolvedDeflateOptions } from "./options.js";
export { DEFLATE_PRESETS, resolveDeflateOptions } from "./options.js";
export { freeIdleZlibStreams, zlibPoolStats } from "./zlib-codec.js";

/**
 * Client extensions are created per connection (`connect()` calls us each time), so a limiter
 * per call would bound nothing: clients share one limiter per `concurrency` value.
 */
const clientLimiters = new Map<number, ZlibLimiter>();
function clientLimiter(concurrency: number): ZlibLimiter {
  let limiter = clientLimiters.get(concurrency);
  if (limiter === undefined) clientLimiters.set(concurrency, (limiter = new ZlibLimiter(concurrency)));
  return limiter;
}

function codecSettings(resolved: ResolvedDeflateOptions, role: "server" | "client"): ZlibCodecSettings {
  const { concurrency } = resolved;
  return {
    level: resolved.level,
    memLevel: resolved.memLevel,
    // Server: its own limiter when `concurrency` is set (the extension is created once per server).
    limiter:
      concurrency === undefined
        ? sharedZlibLimiter()
        : role === "server"
          ? new ZlibLimiter(concurrency)
          : clientLimiter(concurrency),
    idleTimeout: DEFAULT_DEFLATE_IDLE_TIMEOUT,
    chunkSize: resolved.chunkSize,
  };
}

/** The server half: declines nothing valid, answers per the preset and options. Off unless the server asks. */
export function createServerDeflate(options: true | PerMessageDeflateOptions = true): ServerExtension {
  const r = resolveDeflateOptions(options);
  return new ServerPerMessageDeflate(zlibCodecFactory(codecSettings(r, "server")), {
    serverNoContextTakeover: r.serverNoContextTakeover,
    clientNoContextTakeover: r.clientNoContextTakeover,
    serverMaxWindowBits: r.serverMaxWindowBits,
    clientMaxWindowBits: r.clientMaxWindowBits,
    threshold: r.threshold,
  });
}

/** The client half: one offer built from the preset and options. */
export function createClientDeflate(options: true | PerMessageDeflateOptions = true): ClientExtension {
  const r = resolveDeflateOptions(options);
  return new ClientPerMessageDeflate(zlibCodecFactory(codecSettings(r, "client")), {
    serverNoContextTakeover: r.serverNoContextTakeover,
    clientNoContextTakeover: r.clientNoContextTakeover,
    serverMaxWindowBits: r.serverMaxWindowBits,
    clientMaxWindowBits: r.clientMaxWindowBits,
    threshold: r.threshold,
  });
}
