/**
 * permessage-deflate (RFC 7692) for the Node layer: thin adapters over `./deflate/` (owned by
 * the compression work), so that server.ts and client.ts only see Server/ClientExtension.
 */
import type { ClientExtension, ServerExtension } from "../protocol/extensions/extension.js";
import { createClientDeflate, createServerDeflate, type PerMessageDeflateOptions } from "./deflate/index.js";

export function serverDeflate(options: true | PerMessageDeflateOptions): ServerExtension {
  return createServerDeflate(options);
}

export function clientDeflate(options: true | PerMessageDeflateOptions): ClientExtension {
  return createClientDeflate(options);
}
