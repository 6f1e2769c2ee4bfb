/**
 * One node:zlib raw deflate or inflate stream running one message at a time.
 *
 * Contract:
 * - `Deflater.run(data)` writes the message with Z_SYNC_FLUSH; resolves with every output
 *   byte (ending with `00 00 ff ff`). The stream keeps its LZ77 window for the next message
 *   unless `reset()` is called.
 * - `Inflater.run(chunks, max)` writes the chunks (sync-flushed); resolves with the output. As soon
 *   as the output passes `max` bytes (0 = no limit) it drops what it has, closes the stream
 *   (zlib stops after the current output chunk, 16 KiB by default) and rejects with
 *   ProtocolError("MESSAGE_TOO_BIG", 1009): a bomb is never inflated past the limit.
 * - After an error, a limit hit, or the end of the DEFLATE stream (a block with BFINAL set,
 *   RFC 7692 7.2.3.4), `usable` is false: the owner closes it and creates a new one.
 * - One job at a time: the caller (`zlib-codec.ts`) serialises calls.
 */
import zlib from "node:zlib";
import { ProtocolError } from "../../protocol/errors.js";

interface Job {
  resolve(data: Uint8Array): void;
  reject(error: unknown): void;
}

/** Inbound messages up to this size are written to zlib in one piece (tail included). */
const SMALL_MESSAGE = 64 * 1024;

/** Small results are copied out of zlib's 16 KiB output buffer so that they do not pin it. */
const COPY_BELOW = 4096;

/** The output as one Buffer (the Node layer hands Buffers to applications without copying). */
function collect(chunks: Buffer[], size: number): Buffer {
  if (chunks.length === 1) {
    const only = chunks[0]!;
    return only.byteLength >= COPY_BELOW ? only : Buffer.from(only);
  }
  return Buffer.concat(chunks, size);
}

/**
 * What a Deflater and an Inflater share: one pending job, the output collected for it, and
 * whether the stream can take another message.
 */
abstract class ZlibRunner<S extends zlib.DeflateRaw | zlib.InflateRaw> {
  readonly stream: S;
  protected job: Job | null = null;
  protected chunks: Buffer[] = [];
  protected size = 0;
  protected isUsable = true;
  readonly #name: string;

  constructor(stream: S, name: string) {
    this.stream = stream;
    this.#name = name;
    stream.on("data", (chunk: Buffer) => this.onData(chunk));
    stream.on("error", (error: Error) => this.fail(error));
  }

  get usable(): boolean {
    return this.isUsable;
  }

  /** Forget the LZ77 window (no context takeover). */
  reset(): void {
    if (this.isUsable) this.stream.reset();
  }

  close(): void {
    this.fail(new Error(`${this.#name} stream closed`));
  }

  /** Start a job: rejected at once if the stream is no longer usable. */
  protected begin(write: () => void): Promise<Uint8Array> {
    if (!this.isUsable) return Promise.reject(new Error(`${this.#name} stream closed`));
    return new Promise<Uint8Array>((resolve, reject) => {
      this.job = { resolve, reject };
      write();
    });
  }

  protected onData(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.byteLength;
  }

  /** Resolve the pending job with everything collected for it. */
  protected finish(): void {
    const job = this.job;
    if (job === null) return;
    this.job = null;
    const out = collect(this.chunks, this.size);
    this.chunks = [];
    this.size = 0;
    this.afterFinish();
    job.resolve(out);
  }

  protected afterFinish(): void {}

  protected fail(error: unknown): void {
    this.isUsable = false;
    this.chunks = [];
    this.size = 0;
    const job = this.job;
    this.job = null;
    this.stream.close();
    job?.reject(error);
  }
}

/** zlib settings of a compressor. */
export interface DeflaterSettings {
  /** 9-15 (zlib raw deflate cannot do 8; RFC 7692's 8 is served with 9, see docs/compression.md). */
  readonly windowBits: number;
  readonly level: number;
  readonly memLevel: number;
  /** zlib output buffer per stream (Node allocates it up front). Default 16 KiB. */
  readonly chunkSize?: number;
}

export class Deflater extends ZlibRunner<zlib.DeflateRaw> {
  constructor(settings: DeflaterSettings) {
    super(
      zlib.createDeflateRaw({
        windowBits: Math.max(9, settings.windowBits),
        level: settings.level,
        memLevel: settings.memLevel,
        chunkSize: settings.chunkSize ?? zlib.constants.Z_DEFAULT_CHUNK,
        // Every write is sync-flushed: one thread-pool job per message instead of a write and a
        // separate flush (each job is a round trip to libuv's pool).
        flush: zlib.constants.Z_SYNC_FLUSH,
      }),
      "deflate",
    );
  }

  run(data: Uint8Array): Promise<Uint8Array> {
    // The write callback runs once the chunk is processed, after its output was emitted.
    return this.begin(() => this.stream.write(data, () => this.finish()));
  }
}

export class Inflater extends ZlibRunner<zlib.InflateRaw> {
  #max = 0;

  constructor(windowBits: number, chunkSize: number = zlib.constants.Z_DEFAULT_CHUNK) {
    // An inflater needs a window at least as large as the peer's; 9 is the smallest that
    // accepts what zlib-based peers produce when 8 was negotiated.
    super(
      zlib.createInflateRaw({
        windowBits: Math.max(9, windowBits),
        chunkSize,
        flush: zlib.constants.Z_SYNC_FLUSH,
      }),
      "inflate",
    );
    // RFC 7692 7.2.3.4: a block with BFINAL ends the DEFLATE stream; the next message starts a
    // new one, so this inflater cannot be reused.
    this.stream.on("end", () => {
      this.isUsable = false;
    });
  }

  run(chunks: readonly Uint8Array[], max: number): Promise<Uint8Array> {
    return this.begin(() => {
      this.#max = max;
      // One write, hence one thread-pool job, for a small message: copying 1 KiB costs far less
      // than a round trip to the pool. Large messages are written as they are.
      let total = 0;
      for (const chunk of chunks) total += chunk.byteLength;
      const last = chunks.length - 1;
      if (total <= SMALL_MESSAGE && last > 0) {
        this.stream.write(Buffer.concat(chunks, total), () => this.finish());
      } else {
        for (let i = 0; i < last; i++) this.stream.write(chunks[i]);
        this.stream.write(chunks[last] ?? new Uint8Array(0), () => this.finish());
      }
    });
  }

  protected override afterFinish(): void {
    const state = (this.stream as unknown as { _readableState?: { ended?: boolean } })._readableState;
    if (state?.ended) this.isUsable = false;
  }

  protected override onData(chunk: Buffer): void {
    if (this.job === null) return;
    this.size += chunk.byteLength;
    if (this.#max > 0 && this.size > this.#max) {
      // Checked while inflating, never after: stop zlib now and free what it produced.
      const limit = this.#max;
      this.fail(new ProtocolError("MESSAGE_TOO_BIG", `decompressed message exceeds maxPayload (${limit} bytes)`));
      return;
    }
    this.chunks.push(chunk);
  }
}
