/**
 * The compressor interface permessage-deflate is built on. The protocol layer does no I/O and
 * links no zlib: the I/O layer injects a {@link DeflateCodecFactory} (Node: `src/node/deflate/`,
 * backed by node:zlib raw deflate; a browser or Bun build could inject another).
 *
 * Contract for implementations:
 * - `deflate(data)` compresses one whole message with a sync flush: the output ends with the
 *   empty stored block `00 00 ff ff`, which the session strips (RFC 7692 7.2.1).
 * - `inflate(chunks, max)` decompresses one whole message given as chunks (the session
 *   appends `00 00 ff ff`, RFC 7692 7.2.2). It MUST stop as soon as the output exceeds `max`
 *   bytes (0 = no limit) and reject with ProtocolError("MESSAGE_TOO_BIG", 1009), having kept
 *   at most `max` bytes; other failures (corrupt data) reject with any error.
 * - Calls may overlap (the engine may call again before a promise settles). Each promise
 *   settles with its own call's result (the engine restores message order itself); with context
 *   takeover the messages must be processed in call order, per direction, and the LZ77 window
 *   must carry over between messages unless the matching no-context-takeover flag is set.
 * - `close()` releases everything; pending and later calls reject.
 */

export interface DeflateCodecOptions {
  /**
   * Window of our compressor, base-2 log, 8-15 as negotiated. zlib's raw deflate cannot use 8
   * and uses 9 instead (as ws, python and Chromium do); see docs/compression.md.
   */
  readonly deflateWindowBits: number;
  /** Reset the compressor after each message (we agreed not to use context takeover). */
  readonly deflateNoContextTakeover: boolean;
  /** Window the peer compresses with: our decompressor needs at least this window. */
  readonly inflateWindowBits: number;
  /** The peer resets its compressor after each message: ours may reset (or be shared) too. */
  readonly inflateNoContextTakeover: boolean;
}

export interface DeflateCodec {
  deflate(data: Uint8Array): Promise<Uint8Array>;
  inflate(chunks: readonly Uint8Array[], maxOutput: number): Promise<Uint8Array>;
  close(): void;
}

/** Creates one codec per connection, with the parameters negotiated for it. */
export type DeflateCodecFactory = (options: DeflateCodecOptions) => DeflateCodec;
