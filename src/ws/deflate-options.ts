/**
 * ws's `perMessageDeflate` option mapped onto wirecable's: context takeover both ways (the
 * "dedicated" preset, as ws), ws's 1 KiB threshold, `zlibDeflateOptions.level`/`memLevel`,
 * the four window/takeover parameters and `concurrencyLimit`.
 */
import type { PerMessageDeflateOptions } from "../node/deflate/index.js";

export interface WsPerMessageDeflateOptions {
  serverNoContextTakeover?: boolean;
  clientNoContextTakeover?: boolean;
  serverMaxWindowBits?: number | boolean;
  clientMaxWindowBits?: number | boolean;
  zlibDeflateOptions?: { level?: number; memLevel?: number; [option: string]: unknown };
  zlibInflateOptions?: Record<string, unknown>;
  threshold?: number;
  concurrencyLimit?: number;
}

export function toDeflateOptions(
  option: true | WsPerMessageDeflateOptions,
  _maxPayload: number,
): PerMessageDeflateOptions {
  const ws: WsPerMessageDeflateOptions = option === true ? {} : option;
  const out: PerMessageDeflateOptions = { preset: "dedicated", threshold: ws.threshold ?? 1024 };
  if (ws.serverNoContextTakeover !== undefined) out.serverNoContextTakeover = ws.serverNoContextTakeover;
  if (ws.clientNoContextTakeover !== undefined) out.clientNoContextTakeover = ws.clientNoContextTakeover;
  if (typeof ws.serverMaxWindowBits === "number") out.serverMaxWindowBits = ws.serverMaxWindowBits;
  if (typeof ws.clientMaxWindowBits === "number") out.clientMaxWindowBits = ws.clientMaxWindowBits;
  const level = ws.zlibDeflateOptions?.level;
  if (typeof level === "number") out.level = level;
  const memLevel = ws.zlibDeflateOptions?.memLevel;
  if (typeof memLevel === "number") out.memLevel = memLevel;
  if (typeof ws.concurrencyLimit === "number") out.concurrency = ws.concurrencyLimit;
  return out;
}
