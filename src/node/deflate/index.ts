/**
 * permessage-deflate for the Node layer: factory functions turning the `perMessageDeflate`
 * option into the protocol layer's ServerExtension / ClientExtension, backed by node:zlib.
 *
 * Contract: `createServerDeflate(options)` and `createClientDeflate(options)` validate the
 * options at once (OptionError naming the option) and return an extension to pass to the
 * handshake (`extensions: [ext]`). One extension instance serves every connection of a server:
 * create it once, not per upgrade (the zlib pools and the limiter are shared through it).
 */
import type { ClientExtension, ServerExtension } from "../../protocol/extension.js";
import { ClientPerMessageDeflate, ServerPerMessageDeflate } from "../../protocol/extensions/permessage-deflate.js";
import { sharedZlibLimiter, ZlibLimiter } from "./limiter.js";
import { type PerMessageDeflateOptions, type ResolvedDeflateOptions, resolveDeflateOptions } from "./options.js";
import { DEFAULT_DEFLATE_IDLE_TIMEOUT, type ZlibCodecSettings, zlibCodecFactory } from "./zlib-codec.js";

export { DEFAULT_ZLIB_CONCURRENCY, ZlibLimiter } from "./limiter.js";
export type { DeflatePreset, PerMessageDeflateOptions, ResolvedDeflateOptions } from "./options.js";
export { DEFLATE_PRESETS, resolveDeflateOptions } from "./options.js";
export { freeIdleZlibStreams, zlibPoolStats } from "./zlib-codec.js";

function codecSettings(resolved: ResolvedDeflateOptions): ZlibCodecSettings {
  return {
    level: resolved.level,
    memLevel: resolved.memLevel,
    limiter: resolved.concurrency === undefined ? sharedZlibLimiter() : new ZlibLimiter(resolved.concurrency),
    idleTimeout: DEFAULT_DEFLATE_IDLE_TIMEOUT,
    chunkSize: resolved.chunkSize,
  };
}

/** The server half: declines nothing valid, answers per the preset and options. Off unless the server asks. */
export function createServerDeflate(options: true | PerMessageDeflateOptions = true): ServerExtension {
  const r = resolveDeflateOptions(options);
  return new ServerPerMessageDeflate(zlibCodecFactory(codecSettings(r)), {
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
  return new ClientPerMessageDeflate(zlibCodecFactory(codecSettings(r)), {
    serverNoContextTakeover: r.serverNoContextTakeover,
    clientNoContextTakeover: r.clientNoContextTakeover,
    serverMaxWindowBits: r.serverMaxWindowBits,
    clientMaxWindowBits: r.clientMaxWindowBits,
    threshold: r.threshold,
  });
}
