/**
 * The `perMessageDeflate` option: its shape, the memory presets and validation.
 *
 * Contract: {@link resolveDeflateOptions} accepts `true` or an options object and returns every
 * setting resolved (preset values, then explicit options on top), or throws an OptionError
 * naming the offending option (`perMessageDeflate.level`...). Unknown keys are refused (a typo
 * would otherwise silently keep a default).
 *
 * Presets (measured per connection in docs/compression.md):
 * - `shared` (default): no context takeover either way. Connections own no zlib stream; they
 *   borrow from a pool shared by all connections (at most `concurrency` streams busy). Idle
 *   connections cost ~0 zlib bytes; each message is compressed on its own.
 * - `dedicated`: context takeover both ways with zlib's default window (15 bits, 32 KiB) and
 *   memLevel 8, as ws and browsers: best ratio for chatty connections, ~300 KiB per connection
 *   while its compressor is alive.
 * - `small`: context takeover with 11-bit windows (2 KiB) and memLevel 4: most of the gain on
 *   small repetitive messages for a fraction of the memory (the client's window is limited only
 *   when it offers client_max_window_bits, as browsers do).
 */
import { OptionError } from "../../protocol/errors.js";

export type DeflatePreset = "shared" | "dedicated" | "small";

export interface PerMessageDeflateOptions {
  /** Memory preset; the other options override its values. Default "shared". */
  preset?: DeflatePreset;
  /** zlib compression level 0-9. Default 6 (zlib's default). */
  level?: number;
  /** zlib memLevel 1-9 (compressor hash memory 2^(memLevel+9) bytes). Preset default. */
  memLevel?: number;
  /** Messages smaller than this many bytes are sent uncompressed. Preset default. */
  threshold?: number;
  /** Server: always reset our compressor per message. Client: ask the server to. */
  serverNoContextTakeover?: boolean;
  /** Server: ask the client to reset per message. Client: promise to. */
  clientNoContextTakeover?: boolean;
  /** Server: our compressor's max window (8-15). Client: ask the server for at most this. */
  serverMaxWindowBits?: number;
  /** Server: the client's max window (8-15), answered when offered. Client: our max window. */
  clientMaxWindowBits?: number;
  /** Max concurrent zlib jobs. Default: one limiter of 10 shared by the whole process. */
  concurrency?: number;
}

export interface ResolvedDeflateOptions {
  preset: DeflatePreset;
  level: number;
  memLevel: number;
  threshold: number;
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  /** undefined: no explicit limit (15, not announced). */
  serverMaxWindowBits: number | undefined;
  clientMaxWindowBits: number | undefined;
  /** undefined: the process-wide limiter. */
  concurrency: number | undefined;
  /** zlib output buffer of each stream a connection owns (set by the preset, not an option). */
  chunkSize: number;
}

type PresetValues = Omit<ResolvedDeflateOptions, "preset" | "concurrency" | "level">;

export const DEFLATE_PRESETS: Readonly<Record<DeflatePreset, Readonly<PresetValues>>> = {
  shared: {
    memLevel: 8,
    chunkSize: 16 * 1024,
    // Without a shared window DEFLATE gains little on short texts: ws's 1 KiB threshold.
    threshold: 1024,
    serverNoContextTakeover: true,
    clientNoContextTakeover: true,
    serverMaxWindowBits: undefined,
    clientMaxWindowBits: undefined,
  },
  dedicated: {
    memLevel: 8,
    chunkSize: 16 * 1024,
    // With a window, repeated keys make even short JSON shrink; below 64 bytes the saving is
    // a few bytes at most and not worth a zlib round trip.
    threshold: 64,
    serverNoContextTakeover: false,
    clientNoContextTakeover: false,
    serverMaxWindowBits: undefined,
    clientMaxWindowBits: undefined,
  },
  small: {
    memLevel: 4,
    // Node allocates each stream's output buffer up front: 4 KiB instead of 16 KiB saves 24 KiB
    // per connection; larger messages just take more zlib calls.
    chunkSize: 4 * 1024,
    threshold: 64,
    serverNoContextTakeover: false,
    clientNoContextTakeover: false,
    serverMaxWindowBits: 11,
    clientMaxWindowBits: 11,
  },
};

const KEYS = new Set([
  "preset",
  "level",
  "memLevel",
  "threshold",
  "serverNoContextTakeover",
  "clientNoContextTakeover",
  "serverMaxWindowBits",
  "clientMaxWindowBits",
  "concurrency",
]);

function int(name: string, value: unknown, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new OptionError(name, `expected an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

function bool(name: string, value: unknown): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "boolean") throw new OptionError(name, `expected a boolean, got ${String(value)}`);
  return value;
}

/** Resolve and validate `perMessageDeflate: true | {...}`. `name` prefixes option names in errors. */
export function resolveDeflateOptions(
  options: true | PerMessageDeflateOptions | undefined,
  name = "perMessageDeflate",
): ResolvedDeflateOptions {
  const o: PerMessageDeflateOptions = options === true || options === undefined ? {} : options;
  if (typeof o !== "object" || o === null || Array.isArray(o)) {
    throw new OptionError(name, "expected true or an options object");
  }
  for (const key of Object.keys(o)) {
    if (!KEYS.has(key)) throw new OptionError(`${name}.${key}`, "unknown option");
  }
  const preset = o.preset ?? "shared";
  if (!Object.hasOwn(DEFLATE_PRESETS, preset)) {
    throw new OptionError(`${name}.preset`, `expected "shared", "dedicated" or "small", got ${String(preset)}`);
  }
  const base = DEFLATE_PRESETS[preset];
  return {
    preset,
    level: int(`${name}.level`, o.level, 0, 9) ?? 6,
    memLevel: int(`${name}.memLevel`, o.memLevel, 1, 9) ?? base.memLevel,
    threshold: int(`${name}.threshold`, o.threshold, 0, Number.MAX_SAFE_INTEGER) ?? base.threshold,
    serverNoContextTakeover:
      bool(`${name}.serverNoContextTakeover`, o.serverNoContextTakeover) ?? base.serverNoContextTakeover,
    clientNoContextTakeover:
      bool(`${name}.clientNoContextTakeover`, o.clientNoContextTakeover) ?? base.clientNoContextTakeover,
    serverMaxWindowBits: int(`${name}.serverMaxWindowBits`, o.serverMaxWindowBits, 8, 15) ?? base.serverMaxWindowBits,
    clientMaxWindowBits: int(`${name}.clientMaxWindowBits`, o.clientMaxWindowBits, 8, 15) ?? base.clientMaxWindowBits,
    concurrency: int(`${name}.concurrency`, o.concurrency, 1, 1024),
    chunkSize: base.chunkSize,
  };
}
