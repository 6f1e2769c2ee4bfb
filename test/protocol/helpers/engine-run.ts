/**
 * The engine harness of the protocol tests: feeds bytes to a server engine in any chunking and
 * returns comparable plain data (events, output as hex). Frames come from test/helpers/frames.ts.
 */
import { Engine } from "../../../src/protocol/engine.js";
import type { EngineEvent, EngineOptions } from "../../../src/protocol/types.js";
import { concat, hex } from "../../helpers/bytes.js";
import { RFC_KEY } from "../../helpers/frames.js";

/** A randomFill that always yields the same 4-byte key (so frames are predictable). */
export function fixedKeyFill(key: Uint8Array = RFC_KEY): (target: Uint8Array) => void {
  return (target) => {
    for (let i = 0; i < target.length; i++) target[i] = key[i & 3];
  };
}

/** Plain comparable form of an event. */
export type Plain = Record<string, unknown>;
export function plain(e: EngineEvent): Plain {
  switch (e.type) {
    case "text":
      return { type: "text", data: e.data };
    case "binary":
    case "ping":
    case "pong":
      return { type: e.type, data: hex(e.data) };
    case "closing":
      return { type: "closing", code: e.code, reason: e.reason, initiator: e.initiator };
    case "close":
      return { type: "close", code: e.code, reason: e.reason, wasClean: e.wasClean };
    case "error":
      return { type: "error", code: (e.error as { code?: string }).code ?? e.error.name };
    case "open":
      return { type: "open", protocol: e.protocol, extensions: e.extensions };
  }
}

export interface RunResult {
  events: Plain[];
  output: string;
  engine: Engine;
}

/** Split `bytes` at the given offsets (sorted, unique). */
export function split(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  for (const c of cuts) {
    if (c <= at || c >= bytes.length) continue;
    out.push(Uint8Array.prototype.slice.call(bytes, at, c));
    at = c;
  }
  out.push(Uint8Array.prototype.slice.call(bytes, at));
  return out;
}

/** Feed chunks (copied: the engine unmasks in place) to a fresh engine in queue mode. */
export function run(chunks: readonly Uint8Array[], options: Partial<EngineOptions> = {}, eof = false): RunResult {
  const engine = new Engine({ role: "server", randomFill: fixedKeyFill(), ...options });
  const events: Plain[] = [];
  const output: Uint8Array[] = [];
  for (const c of chunks) {
    engine.receiveData(new Uint8Array(c)); // a copy: the engine unmasks in place
    output.push(...engine.takeOutput());
    events.push(...engine.takeEvents().map(plain));
  }
  if (eof) {
    engine.receiveEof();
    output.push(...engine.takeOutput());
    events.push(...engine.takeEvents().map(plain));
  }
  return { events, output: hex(concat(output)), engine };
}

/** Whole, split at every index, and one byte at a time: all must agree. Returns the whole run. */
export function runAllSplits(bytes: Uint8Array, options: Partial<EngineOptions> = {}): RunResult[] {
  const results = [run([bytes], options)];
  for (let i = 1; i < bytes.length; i++) results.push(run(split(bytes, [i]), options));
  results.push(
    run(
      Array.from(bytes, (_, i) => bytes.subarray(i, i + 1)),
      options,
    ),
  );
  return results;
}
