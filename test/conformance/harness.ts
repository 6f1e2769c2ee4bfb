/**
 * Conformance harness modelled on the Autobahn TestSuite's fuzzing client against an echo
 * server: client frames (masked) are fed to a server engine that echoes text and binary; the
 * expected output is compared byte for byte. Each case is fed whole, frame by frame and one
 * octet at a time (Autobahn's "chops"), and all three must produce the same bytes.
 */
import assert from "node:assert/strict";
import type { EngineEvent, EngineOptions } from "../../src/protocol/types.js";
import { concat, hex } from "../helpers/bytes.js";
import { decodeFrames, frame } from "../helpers/frames.js";
import { type TestEngine, testEngine } from "../protocol/helpers/engine-run.js";

export interface EchoServer {
  engine: TestEngine;
  events: EngineEvent[];
  feed(bytes: Uint8Array): void;
  output(): Uint8Array;
}

export function echoServer(options: Partial<EngineOptions> = {}): EchoServer {
  const out: Uint8Array[] = [];
  const events: EngineEvent[] = [];
  const engine: TestEngine = testEngine({
    role: "server",
    ...options,
    onOutput: (c) => out.push(c.slice()),
    onEvent: (ev) => {
      events.push(ev);
      if (ev.type === "text") engine.sendText(ev.data);
      else if (ev.type === "binary") engine.sendBinary(ev.data);
    },
  });
  return { engine, events, feed: (b) => engine.receiveData(new Uint8Array(b)), output: () => concat(out) };
}

export type Chop = "whole" | "frames" | "octets";

/** Run the frames through an echo server with the given chopping; returns the output. */
export function runCase(frames: readonly Uint8Array[], chop: Chop, options: Partial<EngineOptions> = {}): EchoServer {
  const server = echoServer(options);
  if (chop === "whole") server.feed(concat(frames));
  else if (chop === "frames") for (const f of frames) server.feed(f);
  else for (const f of frames) for (let i = 0; i < f.length; i++) server.feed(f.subarray(i, i + 1));
  return server;
}

/** Expected server output: unmasked frames. */
export const sframe = frame;

/**
 * Assert the case: `expected` bytes exactly, or, with `failCode`, `expected` as a prefix
 * followed by exactly one close frame carrying `failCode` (the reason text is free).
 */
export function expectCase(
  frames: readonly Uint8Array[],
  expected: Uint8Array,
  failCode?: number,
  options: Partial<EngineOptions> = {},
): void {
  for (const chop of ["whole", "frames", "octets"] as const) {
    const server = runCase(frames, chop, options);
    const out = server.output();
    if (failCode === undefined) {
      assert.equal(hex(out), hex(expected), `chop=${chop}`);
      continue;
    }
    assert.equal(hex(out.subarray(0, expected.length)), hex(expected), `chop=${chop}`);
    const rest = decodeFrames(out.subarray(expected.length));
    assert.equal(rest.length, 1, `chop=${chop}: one close frame after the expected bytes`);
    assert.equal(rest[0].opcode, 8);
    assert.equal((rest[0].payload[0] << 8) | rest[0].payload[1], failCode, `chop=${chop}`);
    assert.equal(server.engine.host.closeTransportCalls, 1);
    const last = server.events.at(-1);
    assert.ok(last?.type === "close" && last.code === failCode && !last.wasClean);
  }
}

/** A close frame as the server sends it: the echoed code, no reason. */
export function closeEcho(code?: number): Uint8Array {
  return code === undefined ? frame(8) : frame(8, Uint8Array.of(code >> 8, code & 0xff));
}
