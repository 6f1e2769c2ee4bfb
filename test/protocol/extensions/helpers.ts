/**
 * Test helpers: build ExtensionOffers by hand (independent of the header parser) and a trivial
 * in-memory codec for session tests that must not depend on zlib.
 */

import type { DeflateCodec, DeflateCodecOptions } from "../../../src/protocol/extensions/deflate-codec.js";
import type { ExtensionOffer } from "../../../src/protocol/extensions/extension.js";

/** `offer("server_no_context_takeover", ["server_max_window_bits", "10"])` */
export function offer(...params: Array<string | readonly [string, string | true]>): ExtensionOffer {
  const rawParams = params.map((p) => (typeof p === "string" ? ([p, true] as const) : p));
  const record: Record<string, string | true> = {};
  for (const [k, v] of rawParams) if (!(k in record)) record[k] = v;
  return { name: "permessage-deflate", params: record, rawParams };
}

/** A codec that records its options and calls, "compressing" by identity plus a sync-flush tail. */
export class RecordingCodec implements DeflateCodec {
  static last: RecordingCodec | undefined;
  readonly options: DeflateCodecOptions;
  readonly deflated: Uint8Array[] = [];
  readonly inflated: Array<readonly Uint8Array[]> = [];
  closed = 0;
  constructor(options: DeflateCodecOptions) {
    this.options = options;
    RecordingCodec.last = this;
  }
  async deflate(data: Uint8Array): Promise<Uint8Array> {
    this.deflated.push(data);
    const out = new Uint8Array(data.byteLength + 4);
    out.set(data);
    out.set([0, 0, 0xff, 0xff], data.byteLength);
    return out;
  }
  async inflate(chunks: readonly Uint8Array[], _max: number): Promise<Uint8Array> {
    this.inflated.push(chunks);
    return chunks[0]!;
  }
  close(): void {
    this.closed++;
  }
}

export const recordingFactory = (options: DeflateCodecOptions): DeflateCodec => new RecordingCodec(options);
