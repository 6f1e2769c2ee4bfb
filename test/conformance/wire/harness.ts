/**
 * Wire conformance harness (Autobahn "fuzzingclient" mode): starts wirecable's echo server, the
 * CLI (`node bin/wirecable.js echo --port 0`, needs `npm run build`), and judges each case from
 * raw bytes read off a real TCP connection, the way the Autobahn TestSuite's fuzzing client does: exact echoes and pongs, the expected close code,
 * the server closing TCP after a failed case, and the server still serving the next case.
 */
import assert from "node:assert/strict";
import { isUtf8 } from "node:buffer";
import type { ChildProcess } from "node:child_process";
import { closeBody, OP, type WireMessage } from "../../helpers/frames.js";
import { RawClient } from "../../helpers/raw-client.js";
import { spawnTied } from "../../helpers/tied-process.js";

const root = new URL("../../../", import.meta.url).pathname;

export interface EchoTarget {
  port: number;
  /** Throws when the server died (a crash). */
  assertAlive(): void;
  stop(): Promise<void>;
}

/** The CLI echo server, `wirecable echo --port 0 --host 127.0.0.1 [--deflate]`. */
export async function startCliEcho(deflate = false, extraArgs: string[] = []): Promise<EchoTarget> {
  const args = ["bin/wirecable.js", "echo", "--port", "0", "--host", "127.0.0.1"];
  if (deflate) args.push("--deflate");
  args.push(...extraArgs);
  const child: ChildProcess = spawnTied(process.execPath, args, { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (c: Buffer) => (stderr += c.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`echo server did not start: ${out} ${stderr}`)), 15000);
    child.stdout!.on("data", (c: Buffer) => {
      out += c.toString();
      const m = /ws:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`echo server exited with ${code}: ${stderr}`));
    });
  });
  return {
    port,
    assertAlive() {
      assert.equal(child.exitCode, null, `the echo server died: ${stderr}`);
      assert.equal(child.signalCode, null, `the echo server died: ${stderr}`);
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}

export type Expected = { kind: WireMessage["kind"]; data: Buffer | string };

export const text = (data: Buffer | string): Expected => ({ kind: "text", data });
export const binary = (data: Buffer | string): Expected => ({ kind: "binary", data });
export const pong = (data: Buffer | string = ""): Expected => ({ kind: "pong", data });

function sameMessage(got: WireMessage | null, want: Expected, label: string): void {
  assert.ok(got, `${label}: the server closed TCP instead of sending ${want.kind}`);
  const data = typeof want.data === "string" ? Buffer.from(want.data, "utf8") : want.data;
  assert.equal(got.kind, want.kind, `${label}: kind`);
  assert.equal(got.data.length, data.length, `${label}: ${want.kind} length`);
  assert.ok(got.data.equals(data), `${label}: ${want.kind} payload differs`);
}

async function receiveExpected(c: RawClient, expected: readonly Expected[], timeoutMs: number): Promise<void> {
  for (let i = 0; i < expected.length; i++) sameMessage(await c.next(timeoutMs), expected[i], `message ${i + 1}`);
}

export interface CaseOptions {
  timeoutMs?: number;
  path?: string;
  headers?: Record<string, string>;
  /** failCase: answer the server's close (default true; false when we sent a close already). */
  reply?: boolean;
}

/**
 * A case the server must pass: run `play`, then exactly `expected` comes back (echoes, pongs,
 * in order); then our close 1000 is answered with close 1000 and the server closes TCP.
 */
export async function echoCase(
  target: EchoTarget,
  play: (c: RawClient) => Promise<void>,
  expected: readonly Expected[],
  options: CaseOptions = {},
): Promise<void> {
  const c = await RawClient.connect(target.port, options);
  try {
    await play(c);
    await receiveExpected(c, expected, options.timeoutMs ?? 5000);
    await c.sendFrame(OP.CLOSE, closeBody(1000));
    const close = await c.next(options.timeoutMs ?? 5000);
    assert.ok(close, "the server closed TCP without answering our close");
    assert.equal(close.kind, "close", `expected the close answer, got ${close.kind} (an extra message)`);
    assert.equal(close.data.readUInt16BE(0), 1000);
    assert.ok(await c.waitTcpClose(), "the server did not close TCP after the closing handshake");
    assert.equal(c.protocolViolation, null);
  } finally {
    c.destroy();
  }
  target.assertAlive();
}

/**
 * A case the server must fail: `before` may come back first (echoes of valid messages sent
 * before the bad frame), then a close frame with one of `codes`, then the server closes TCP.
 * Like Autobahn's client, we answer the close before waiting for the TCP close.
 */
export async function failCase(
  target: EchoTarget,
  play: (c: RawClient) => Promise<void>,
  codes: readonly number[],
  before: readonly Expected[] = [],
  options: CaseOptions = {},
): Promise<number> {
  const c = await RawClient.connect(target.port, options);
  let code = -1;
  try {
    await play(c);
    await receiveExpected(c, before, options.timeoutMs ?? 5000);
    const close = await c.next(options.timeoutMs ?? 5000);
    assert.ok(close, `the server closed TCP without a close frame (expected ${codes.join("/")})`);
    assert.equal(close.kind, "close", `expected a close frame, got ${close.kind}`);
    code = close.data.length >= 2 ? close.data.readUInt16BE(0) : 1005;
    assert.ok(codes.includes(code), `close code ${code}, expected ${codes.join(" or ")}`);
    if (code === 1005) assert.equal(close.data.length, 0);
    else if (close.data.length > 2) assert.ok(isUtf8(close.data.subarray(2)), "close reason is not UTF-8");
    if (options.reply !== false && !c.ended) await c.sendFrame(OP.CLOSE, closeBody(code)).catch(() => {});
    assert.ok(await c.waitTcpClose(), "the server did not close TCP after failing the connection");
    assert.equal(c.protocolViolation, null);
  } finally {
    c.destroy();
  }
  target.assertAlive();
  return code;
}
