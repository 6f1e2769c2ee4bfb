/**
 * Native helpers the engine accepts as options (EngineOptions `masker`, `isUtf8`, `decodeUtf8`, `decodeAscii`;
 * the server handshake's `computeAccept`, `encodeHead` and `renderSwitching`), resolved once per process.
 *
 * Contract: nothing here is required. `bufferutil` (an optional native addon, installed with ws)
 * is loaded with a guarded require; without it (or with WIRECABLE_NO_NATIVE set) the engine masks
 * in JS. The others come with Node itself (node:buffer, node:crypto).
 */
import { Buffer, isUtf8 as nodeIsUtf8 } from "node:buffer";
import * as crypto from "node:crypto";
import { createRequire } from "node:module";
import { SWITCHING_PREFIX, WEBSOCKET_GUID } from "../protocol/handshake/server-handshake.js";
import type { EngineOptions } from "../protocol/types.js";

type Masker = NonNullable<EngineOptions["masker"]>;

function loadMasker(): Masker | undefined {
  if (process.env.WIRECABLE_NO_NATIVE) return undefined;
  try {
    const addon = createRequire(import.meta.url)("bufferutil") as Partial<Masker>;
    if (typeof addon.mask !== "function" || typeof addon.unmask !== "function") return undefined;
    // Check it once on known bytes (a broken build must not corrupt frames).
    const out = new Uint8Array(8);
    addon.mask(new Uint8Array([1, 2, 3, 4, 5]), new Uint8Array([1, 1, 1, 1]), out, 2, 5);
    if (out.join() !== "0,0,0,3,2,5,4,0") return undefined;
    return addon as Masker;
  } catch {
    return undefined;
  }
}

/** bufferutil's masker, or undefined (the engine then masks in JS). */
export const masker: Masker | undefined = loadMasker();

/** Strict whole-buffer UTF-8 check (node:buffer, simdutf). */
export const isUtf8: (bytes: Uint8Array) => boolean = nodeIsUtf8;

// Buffer#utf8Slice is the binding behind Buffer#toString("utf8", start, end); it works on any
// Uint8Array, so no Buffer view has to be made per message.
type Slice = (this: Uint8Array, start: number, end: number) => string;
const utf8Slice = (Buffer.prototype as unknown as { utf8Slice: Slice }).utf8Slice;
// For ASCII, Latin-1 and UTF-8 agree; latin1Slice copies the bytes without UTF-8's decoding scan.
const latin1Slice = (Buffer.prototype as unknown as { latin1Slice: Slice }).latin1Slice;
// Its writing twin (Buffer#write(text, offset, "latin1") without the argument shuffling): bytes written.
type Write = (this: Uint8Array, text: string, offset: number) => number;
const latin1Write = (Buffer.prototype as unknown as { latin1Write: Write }).latin1Write;

/** Decode valid UTF-8 in `bytes[start..end)` natively. */
export function decodeUtf8(bytes: Uint8Array, start: number, end: number): string {
  return utf8Slice.call(bytes, start, end);
}

/** Decode `bytes[start..end)`, known to be ASCII, natively. */
export function decodeAscii(bytes: Uint8Array, start: number, end: number): string {
  return latin1Slice.call(bytes, start, end);
}

/** node:crypto's one-shot `hash()` (Node 20.12+; no Hash object per call), when present. */
const oneShotHash = (crypto as { hash?: (algorithm: string, data: string | Uint8Array, encoding: "base64") => string })
  .hash;

/** RFC 6455 4.2.2: base64(SHA-1(key + GUID)) with node:crypto's native SHA-1. */
export function computeAccept(key: string): string {
  // The key is ASCII (validated as base64 by the handshake), so UTF-8 and Latin-1 agree.
  if (oneShotHash !== undefined) return oneShotHash("sha1", key + WEBSOCKET_GUID, "base64");
  return crypto
    .createHash("sha1")
    .update(key + WEBSOCKET_GUID, "latin1")
    .digest("base64");
}

/** Latin-1 text to bytes natively (a short string lands in Node's shared pool: no buffer of its own). */
export function encodeLatin1(text: string): Uint8Array {
  return Buffer.from(text, "latin1");
}

/** The 101's fixed start as bytes. */
const SWITCHING = Buffer.from(SWITCHING_PREFIX, "latin1");
/** SHA-1's input: the 24-character key, then the GUID (written once). */
const ACCEPT_INPUT = Buffer.from(`${"=".repeat(24)}${WEBSOCKET_GUID}`, "latin1");
const KEY_LENGTH = 24;

/**
 * The server handshake's `renderSwitching`: the 101 written straight into one Buffer (the fixed
 * start copied, the accept value hashed from a reused input buffer and written after it), no
 * head string built and encoded. Keys of another length (never validated ones) and Nodes without
 * the one-shot hash take the string path.
 */
export function renderSwitching(key: string, tail: string): Uint8Array {
  if (key.length !== KEY_LENGTH || oneShotHash === undefined) {
    return encodeLatin1(`${SWITCHING_PREFIX}${computeAccept(key)}\r\n${tail}\r\n`);
  }
  latin1Write.call(ACCEPT_INPUT, key, 0);
  const accept = oneShotHash("sha1", ACCEPT_INPUT, "base64");
  const prefix = SWITCHING.length;
  const out = Buffer.allocUnsafe(prefix + accept.length + tail.length + 4);
  SWITCHING.copy(out, 0);
  let at = prefix + latin1Write.call(out, accept, prefix);
  out[at++] = 0x0d;
  out[at++] = 0x0a;
  if (tail.length > 0) at += latin1Write.call(out, tail, at);
  out[at++] = 0x0d;
  out[at] = 0x0a;
  return out;
}
