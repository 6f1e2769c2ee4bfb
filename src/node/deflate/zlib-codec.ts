/**
 * The node:zlib implementation of the protocol layer's {@link DeflateCodec}.
 *
 * Contract (beyond `deflate-codec.ts`):
 * - Every thread-pool zlib job of every connection goes through one {@link ZlibLimiter}: at most
 *   `concurrency` jobs run at once, process-wide (or per server when it has its own).
 * - Without context takeover for a direction, short messages skip the pool: they are compressed
 *   (up to SYNC_DEFLATE_MAX bytes) or decompressed (up to SYNC_INFLATE_MAX compressed bytes,
 *   SYNC_INFLATE_OUTPUT out) synchronously by node:zlib's one-shot functions, ~20 us for 1 KiB
 *   against ~100 us of CPU for a round trip through the thread pool and a stream. Nothing is kept
 *   between messages, so any zlib state will do; longer jobs go to the pool so that the event
 *   loop is never held for long.
 * - Per connection and per direction, calls are queued: each starts when the previous settled,
 *   so results come back in call order and a stream never runs two jobs at once.
 * - Without context takeover for a direction, the connection owns no zlib stream for it: it
 *   borrows one from a pool shared by all connections with the same settings, resets it and
 *   gives it back (at most `concurrency` streams ever run, so the pool stays that small). An idle
 *   connection then costs no zlib memory at all. Such compressions are not queued per connection
 *   (no state to protect), and the same buffer compressed again with the same settings (a
 *   broadcast) reuses the first result (see `sharedDeflate`).
 * - With context takeover, the connection owns its streams, created on first use. A compressor
 *   idle for `idleTimeout` is freed: context takeover allows the peer to reference our past
 *   messages, it does not oblige us to, so a fresh compressor is always valid (the next message
 *   compresses a little worse). A decompressor cannot be freed: the peer's next message may
 *   reference the window.
 * - `close()` closes owned streams and rejects queued calls.
 */

import zlib from "node:zlib";
import { ProtocolError } from "../../protocol/errors.js";
import type {
  DeflateCodec,
  DeflateCodecFactory,
  DeflateCodecOptions,
} from "../../protocol/extensions/deflate-codec.js";
import type { ZlibLimiter } from "./limiter.js";
import { Deflater, type DeflaterSettings, Inflater } from "./zlib-streams.js";

/** Compression settings shared by every connection of one extension instance. */
export interface ZlibCodecSettings {
  /** zlib level 0-9 (or -1 for zlib's default, 6). */
  readonly level: number;
  /**
   * zlib memLevel 1-9 (buffers of 2^(memLevel+6..9) bytes; Node 20's bundled zlib, Chromium's
   * fork, keeps a 64 KiB hash table whatever memLevel: see docs/compression.md).
   */
  readonly memLevel: number;
  readonly limiter: ZlibLimiter;
  /** Free a context-takeover compressor unused for this long (ms). 0 = never. */
  readonly idleTimeout: number;
  /** Output buffer of each owned stream (bytes); pooled streams always use zlib's 16 KiB. */
  readonly chunkSize?: number;
}

/** Default idle time before an owned compressor is freed: 30 s (a chat's quiet minute costs nothing). */
export const DEFAULT_DEFLATE_IDLE_TIMEOUT = 30_000;

/** Streams shared by connections that agreed on no context takeover, keyed by settings. */
class StreamPool<T extends { usable: boolean; reset(): void; close(): void }> {
  #idle: T[] = [];
  #max: number;
  #create: () => T;
  #lastUse = 0;
  /** Deflate pools: recent inputs and their compressed form, see {@link sharedDeflate}. */
  readonly recent = new WeakMap<Uint8Array, { copy: Buffer; result: Promise<Uint8Array> }>();

  constructor(create: () => T, max: number) {
    this.#create = create;
    this.#max = max;
  }

  get idleCount(): number {
    return this.#idle.length;
  }

  acquire(): T {
    this.#lastUse = Date.now();
    return this.#idle.pop() ?? this.#create();
  }

  release(stream: T): void {
    if (!stream.usable || this.#idle.length >= this.#max) {
      stream.close();
      return;
    }
    stream.reset();
    this.#idle.push(stream);
    ensureSweep(DEFAULT_DEFLATE_IDLE_TIMEOUT);
  }

  /** Free every idle stream if the pool has not been used for `idleFor` ms. */
  sweep(now: number, idleFor: number): void {
    if (this.#idle.length === 0 || now - this.#lastUse < idleFor) return;
    for (const stream of this.#idle) stream.close();
    this.#idle = [];
  }
}

const deflatePools = new Map<string, StreamPool<Deflater>>();
const inflatePools = new Map<string, StreamPool<Inflater>>();
const idleCodecs = new Set<ZlibCodec>();
let sweepTimer: ReturnType<typeof setInterval> | undefined;
let sweepEvery = Number.POSITIVE_INFINITY;

function deflatePool(settings: DeflaterSettings, max: number): StreamPool<Deflater> {
  const key = `${settings.windowBits}/${settings.level}/${settings.memLevel}/${max}`;
  let pool = deflatePools.get(key);
  if (pool === undefined) {
    pool = new StreamPool(() => new Deflater(settings), max);
    deflatePools.set(key, pool);
  }
  return pool;
}

function inflatePool(max: number): StreamPool<Inflater> {
  // One window size for all: a 15-bit inflater accepts every peer window (8-15).
  const key = `15/${max}`;
  let pool = inflatePools.get(key);
  if (pool === undefined) {
    pool = new StreamPool(() => new Inflater(15), max);
    inflatePools.set(key, pool);
  }
  return pool;
}

function sweep(): void {
  const now = Date.now();
  for (const codec of idleCodecs) codec.sweep(now);
  for (const pool of deflatePools.values()) pool.sweep(now, DEFAULT_DEFLATE_IDLE_TIMEOUT);
  for (const pool of inflatePools.values()) pool.sweep(now, DEFAULT_DEFLATE_IDLE_TIMEOUT);
}

function watch(codec: ZlibCodec, idleTimeout: number): void {
  if (idleTimeout <= 0) return;
  idleCodecs.add(codec);
  ensureSweep(idleTimeout);
}

function ensureSweep(idleTimeout: number): void {
  // One timer for every connection (never one per connection), ticking at half the shortest
  // idle timeout in use; unref: it keeps nothing alive.
  const every = Math.max(20, Math.floor(idleTimeout / 2));
  if (every >= sweepEvery && sweepTimer !== undefined) return;
  if (sweepTimer !== undefined) clearInterval(sweepTimer);
  sweepEvery = every;
  sweepTimer = setInterval(sweep, every);
  sweepTimer.unref();
}

/** Without context takeover, messages up to this size are compressed synchronously (see the contract). */
const SYNC_DEFLATE_MAX = 16 * 1024;
/** Without context takeover, compressed messages up to this size are inflated synchronously... */
const SYNC_INFLATE_MAX = 16 * 1024;
/** ...into at most this many bytes (beyond it, and below maxPayload, the pool inflates it again). */
const SYNC_INFLATE_OUTPUT = 256 * 1024;

/**
 * zlib's output buffer for a one-shot job expected to produce about `bytes`: 1-16 KiB (zlib
 * loops for more), not a 16 KiB allocation per short message.
 */
function outputChunk(bytes: number): number {
  return Math.min(Math.max(bytes, 1024), 16 * 1024);
}

/** One message compressed now on a fresh zlib state, with the same settings a pooled Deflater has. */
function deflateOneShot(settings: DeflaterSettings, data: Uint8Array): Promise<Uint8Array> {
  try {
    return Promise.resolve(
      zlib.deflateRawSync(data, {
        windowBits: Math.max(9, settings.windowBits),
        level: settings.level,
        memLevel: settings.memLevel,
        finishFlush: zlib.constants.Z_SYNC_FLUSH, // ends with 00 00 ff ff, as Deflater.run
        chunkSize: outputChunk(data.byteLength + 64),
      }),
    );
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * One message inflated on a fresh zlib state: the output, or null when it would pass
 * SYNC_INFLATE_OUTPUT while `max` allows more (the caller then uses the pool). Past `max`:
 * ProtocolError 1009, having produced at most `max` bytes (plus one zlib output chunk).
 */
function inflateOneShot(chunks: readonly Uint8Array[], total: number, max: number): Uint8Array | null {
  const limit = max > 0 && max <= SYNC_INFLATE_OUTPUT ? max : SYNC_INFLATE_OUTPUT;
  const input = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
  try {
    return zlib.inflateRawSync(input, {
      windowBits: 15, // accepts every peer window (8-15)
      finishFlush: zlib.constants.Z_SYNC_FLUSH,
      maxOutputLength: limit,
      chunkSize: outputChunk(total * 8),
    });
  } catch (error) {
    if ((error as { code?: string }).code !== "ERR_BUFFER_TOO_LARGE") throw error;
    if (limit === max) {
      throw new ProtocolError("MESSAGE_TOO_BIG", `decompressed message exceeds maxPayload (${max} bytes)`);
    }
    return null;
  }
}

let sharedHits = 0;
/** Inputs up to this size are remembered for sharing (the copy kept for comparison costs memory). */
const SHARE_MAX = 256 * 1024;

/**
 * Compress one message on a pooled (no context takeover) compressor. Without context takeover
 * the output depends only on the input and the settings, so when the very same buffer object is
 * compressed again with the same settings — a broadcast (`wss.broadcast`, a PreparedMessage)
 * reaching thousands of connections — the first result is reused: one deflate per broadcast, not
 * one per recipient. The input is compared byte for byte with a copy taken at the first call, so
 * a buffer the application modified between sends is compressed again, never sent stale.
 */
function sharedDeflate(
  pool: StreamPool<Deflater>,
  limiter: ZlibLimiter,
  settings: DeflaterSettings,
  data: Uint8Array,
): Promise<Uint8Array> {
  const cacheable = data.byteLength <= SHARE_MAX;
  if (cacheable) {
    const hit = pool.recent.get(data);
    if (hit?.copy.equals(data)) {
      sharedHits++;
      return hit.result;
    }
  }
  const result =
    data.byteLength <= SYNC_DEFLATE_MAX
      ? deflateOneShot(settings, data)
      : limiter.run(async () => {
          // RFC 7692 7.1.1.1 / 7.1.1.2: no context takeover: any reset compressor will do.
          const stream = pool.acquire();
          try {
            return await stream.run(data);
          } finally {
            pool.release(stream);
          }
        });
  if (cacheable) {
    const entry = { copy: Buffer.from(data), result };
    pool.recent.set(data, entry);
    result.catch(() => {
      if (pool.recent.get(data) === entry) pool.recent.delete(data);
    });
  }
  return result;
}

/** Stats for tests and docs: idle pooled streams and shared compressions, process-wide. */
export function zlibPoolStats(): { deflate: number; inflate: number; watchedCodecs: number; sharedHits: number } {
  let deflate = 0;
  let inflate = 0;
  for (const pool of deflatePools.values()) deflate += pool.idleCount;
  for (const pool of inflatePools.values()) inflate += pool.idleCount;
  return { deflate, inflate, watchedCodecs: idleCodecs.size, sharedHits };
}

/** Free every idle pooled stream now (tests, or an app shrinking after a burst). */
export function freeIdleZlibStreams(): void {
  for (const pool of deflatePools.values()) pool.sweep(Number.POSITIVE_INFINITY, 0);
  for (const pool of inflatePools.values()) pool.sweep(Number.POSITIVE_INFINITY, 0);
}

const noop = (): void => {};
const closedError = (): Error => new Error("permessage-deflate: connection closed");

export class ZlibCodec implements DeflateCodec {
  readonly options: DeflateCodecOptions;
  #settings: ZlibCodecSettings;
  #deflaterSettings: DeflaterSettings;
  #deflater: Deflater | null = null;
  #inflater: Inflater | null = null;
  #deflateQueue: Promise<unknown> = Promise.resolve();
  #inflateQueue: Promise<unknown> = Promise.resolve();
  #deflatePool: StreamPool<Deflater> | null;
  #inflatePool: StreamPool<Inflater> | null;
  #lastDeflate = 0;
  #closed = false;

  constructor(options: DeflateCodecOptions, settings: ZlibCodecSettings) {
    this.options = options;
    this.#settings = settings;
    this.#deflaterSettings = {
      windowBits: Math.max(9, options.deflateWindowBits),
      level: settings.level,
      memLevel: settings.memLevel,
      chunkSize: settings.chunkSize,
    };
    const max = settings.limiter.concurrency;
    this.#deflatePool = options.deflateNoContextTakeover
      ? deflatePool({ ...this.#deflaterSettings, chunkSize: undefined }, max)
      : null;
    this.#inflatePool = options.inflateNoContextTakeover ? inflatePool(max) : null;
  }

  /** True while this connection owns a compressor / decompressor (for tests and measurements). */
  get ownsStreams(): { deflate: boolean; inflate: boolean } {
    return { deflate: this.#deflater !== null, inflate: this.#inflater !== null };
  }

  deflate(data: Uint8Array): Promise<Uint8Array> {
    if (this.#deflatePool !== null) {
      // No context takeover: no per-connection state, so no per-connection queue either.
      if (this.#closed) return Promise.reject(closedError());
      return sharedDeflate(this.#deflatePool, this.#settings.limiter, this.#deflaterSettings, data);
    }
    const result = this.#deflateQueue.then(() => this.#settings.limiter.run(() => this.#deflateNow(data)));
    // Chain on settlement only: the queue must not keep the last result alive.
    this.#deflateQueue = result.then(noop, noop);
    return result;
  }

  inflate(chunks: readonly Uint8Array[], maxOutput: number): Promise<Uint8Array> {
    if (this.#inflatePool !== null) {
      // No context takeover: a short message needs no stream, no queue and no pool (see above).
      let total = 0;
      for (const chunk of chunks) total += chunk.byteLength;
      if (total <= SYNC_INFLATE_MAX) {
        if (this.#closed) return Promise.reject(closedError());
        try {
          const out = inflateOneShot(chunks, total, maxOutput);
          if (out !== null) return Promise.resolve(out);
        } catch (error) {
          return Promise.reject(error);
        }
      }
    }
    const result = this.#inflateQueue.then(() => this.#settings.limiter.run(() => this.#inflateNow(chunks, maxOutput)));
    this.#inflateQueue = result.then(noop, noop);
    return result;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    idleCodecs.delete(this);
    this.#deflater?.close();
    this.#deflater = null;
    this.#inflater?.close();
    this.#inflater = null;
  }

  /** Called by the shared sweep timer: free an owned compressor idle for `idleTimeout` ms. */
  sweep(now: number): void {
    if (this.#deflater === null || now - this.#lastDeflate < this.#settings.idleTimeout) return;
    // Not while a job runs: a queued job would find its stream closed. `#lastDeflate` is set
    // when a job ends, and jobs are short, so an idle compressor has none.
    if (this.#deflateBusy) return;
    this.#deflater.close();
    this.#deflater = null;
    idleCodecs.delete(this);
  }

  #deflateBusy = false;

  async #deflateNow(data: Uint8Array): Promise<Uint8Array> {
    if (this.#closed) throw closedError();
    if (this.#deflater === null || !this.#deflater.usable) {
      this.#deflater = new Deflater(this.#deflaterSettings);
      watch(this, this.#settings.idleTimeout);
    }
    this.#deflateBusy = true;
    try {
      return await this.#deflater.run(data);
    } finally {
      this.#deflateBusy = false;
      this.#lastDeflate = Date.now();
    }
  }

  async #inflateNow(chunks: readonly Uint8Array[], maxOutput: number): Promise<Uint8Array> {
    if (this.#closed) throw closedError();
    const pool = this.#inflatePool;
    if (pool !== null) {
      const stream = pool.acquire();
      try {
        return await stream.run(chunks, maxOutput);
      } finally {
        pool.release(stream);
      }
    }
    if (this.#inflater === null || !this.#inflater.usable) {
      this.#inflater?.close();
      this.#inflater = new Inflater(this.options.inflateWindowBits, this.#settings.chunkSize);
    }
    try {
      return await this.#inflater.run(chunks, maxOutput);
    } catch (error) {
      // The inflater is unusable after a failure (limit hit or corrupt data) and the connection
      // is failing anyway: release it now rather than at close.
      this.#inflater?.close();
      this.#inflater = null;
      throw error;
    }
  }
}

/** Build the factory the protocol-level extension calls once per negotiated connection. */
export function zlibCodecFactory(settings: ZlibCodecSettings): DeflateCodecFactory {
  return (options) => new ZlibCodec(options, settings);
}
