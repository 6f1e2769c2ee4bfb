/**
 * The engine harness of the protocol tests: feeds bytes to a server engine in any chunking and
 * returns comparable plain data (events, output as hex). Frames come from test/helpers/frames.ts.
 */
import { Engine } from "../../../src/protocol/engine.js";
import type { EngineEvent, EngineHost, EngineOptions } from "../../../src/protocol/types.js";
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
  engine: TestEngine;
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

/** Feed chunks (copied: the engine unmasks in place) to a fresh engine on a recording host. */
export function run(chunks: readonly Uint8Array[], options: Partial<EngineOptions> = {}, eof = false): RunResult {
  const engine = testEngine({ role: "server", randomFill: fixedKeyFill(), ...options });
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

/** Reactions a test gives a {@link RecordingHost} (what a host's methods do besides recording). */
export interface HostHooks {
  /** Takes the chunks instead of the recorder. */
  onOutput?: (chunk: Uint8Array) => void;
  /** Takes arena ranges instead of the recorder (which copies them into its chunks otherwise). */
  onOutputRange?: (bytes: Uint8Array, start: number, end: number) => void;
  /** Takes the events instead of the recorder. */
  onEvent?: (event: EngineEvent) => void;
}

/**
 * An EngineHost for tests: keeps the output (arena ranges copied) and the events for
 * `takeOutput()` / `takeEvents()`, unless hooks take them, and counts the engine's decisions.
 */
export class RecordingHost implements EngineHost {
  #output: Uint8Array[] = [];
  #events: EngineEvent[] = [];
  /** How many times the engine asked for a close timeout / for the transport to be closed. */
  awaitCloseCalls = 0;
  closeTransportCalls = 0;
  readonly #hooks: HostHooks;

  constructor(hooks: HostHooks = {}) {
    this.#hooks = hooks;
  }

  output(chunk: Uint8Array): void {
    if (this.#hooks.onOutput !== undefined) this.#hooks.onOutput(chunk);
    else this.#output.push(chunk);
  }
  outputRange(bytes: Uint8Array, start: number, end: number): void {
    if (this.#hooks.onOutputRange !== undefined) this.#hooks.onOutputRange(bytes, start, end);
    else this.output(bytes.slice(start, end));
  }
  dispatch(event: EngineEvent): void {
    if (this.#hooks.onEvent !== undefined) this.#hooks.onEvent(event);
    else this.#events.push(event);
  }
  awaitClose(): void {
    this.awaitCloseCalls++;
  }
  closeTransport(): void {
    this.closeTransportCalls++;
  }

  /** The output recorded since the last call. */
  takeOutput(): Uint8Array[] {
    const out = this.#output;
    this.#output = [];
    return out;
  }
  /** The events recorded since the last call. */
  takeEvents(): EngineEvent[] {
    const events = this.#events;
    this.#events = [];
    return events;
  }
}

/** An engine on a RecordingHost; `takeOutput`/`takeEvents` read the host's records. */
export type TestEngine = Engine & {
  readonly host: RecordingHost;
  takeOutput(): Uint8Array[];
  takeEvents(): EngineEvent[];
};

/** Attach a recording host's readers to what was built on it. */
export function recorded<T extends object>(
  build: (host: RecordingHost) => T,
  hooks?: HostHooks,
): T & { readonly host: RecordingHost; takeOutput(): Uint8Array[]; takeEvents(): EngineEvent[] } {
  const host = new RecordingHost(hooks);
  return Object.assign(build(host), {
    host,
    takeOutput: () => host.takeOutput(),
    takeEvents: () => host.takeEvents(),
  });
}

/** An RFC 6455 engine for tests: `options` may carry the host hooks. */
export function testEngine(options: EngineOptions & HostHooks): TestEngine {
  const { onOutput, onOutputRange, onEvent, ...engineOptions } = options;
  return recorded((host) => new Engine(host, engineOptions), { onOutput, onOutputRange, onEvent });
}

/**
 * Feed `stream` to `engine` as a socket would deliver it: bytes become available at each of
 * `arrivals` (offsets), and each read takes what is available, at most `readSize` bytes.
 * "lent": every read lands in one reused buffer (receiveLent of a view of the bytes read),
 * scribbled over after the call; "in-place" (as read-path.ts): `readTarget()` is asked first and
 * read into when it offers a view (receiveData), else the read lands in the reused buffer, handed
 * over whole with the read's length (receiveLent(buffer, n)), stale frame-like bytes after them.
 * Returns the output, copied as it is handed over.
 */
export function feedAsSocket(
  engine: TestEngine,
  stream: Uint8Array,
  arrivals: readonly number[],
  mode: "lent" | "in-place",
  readSize: number,
): Uint8Array[] {
  const lent = new Uint8Array(readSize);
  const output: Uint8Array[] = [];
  const ends = [...new Set(arrivals.filter((a) => a > 0 && a < stream.length)), stream.length].sort((a, b) => a - b);
  let at = 0;
  for (const available of ends) {
    while (at < available) {
      const target = mode === "in-place" ? engine.readTarget() : null;
      if (target !== null) {
        if (target.length === 0) throw new Error("a target is never empty");
        const n = Math.min(target.length, available - at);
        target.set(stream.subarray(at, at + n), 0);
        at += n;
        engine.receiveData(target.subarray(0, n));
      } else {
        const n = Math.min(readSize, available - at);
        lent.set(stream.subarray(at, at + n), 0);
        at += n;
        if (mode === "lent") engine.receiveLent(lent.subarray(0, n));
        else {
          // Bytes past the read are never parsed: make them look like a frame's start.
          lent.fill(0x81, n, n + 16);
          engine.receiveLent(lent, n);
        }
        lent.fill(0xee); // the host reuses the buffer: nothing may still point into it
      }
      // Output is the host's once handed over (arena ranges are copied by the recorder).
      for (const chunk of engine.takeOutput()) output.push(Uint8Array.prototype.slice.call(chunk));
    }
  }
  return output;
}
