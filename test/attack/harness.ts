/**
 * The attack suite's harness: real CLI servers as child processes, their memory and file
 * descriptors read from /proc, a healthy client measuring round trips on another connection,
 * and hostile peers speaking raw TCP.
 *
 * How an attack is written (see test/attack/README.md):
 * ```ts
 * const target = await startTarget("echo");           // or "echo-deflate", "serve", extra args
 * const base = await target.baseline();               // after a warm-up connection
 * const healthy = await target.healthy();             // its own process, its own connection
 * ... attack, asserting on what the attacker receives (status, close code) ...
 * await target.settle(base, { rss: 32 * MiB });       // memory and fds back near baseline
 * (await healthy.report()).assertHealthy();           // round trips kept answering, fast
 * ```
 * Everything started here is stopped by `stopTargets()` (call it in `after`).
 *
 * Bounds: waits are in UNIT (100 ms x WIRECABLE_TEST_TIME_SCALE); memory and fds are checked by
 * polling until they are back within the slack given, so an attack's assertions are on events
 * (statuses, close codes, resources coming back), not on timing. Only the healthy client's
 * round-trip bound is a time, generous and scaled.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { type AddressInfo, createServer, connect as netConnect, type Socket } from "node:net";
import { availableParallelism, loadavg } from "node:os";
import { join } from "node:path";
import WS from "ws";
import { ensureBuilt, type Running, startCli, stopAll } from "../cli/helpers.js";
import { cframe, frame } from "../helpers/frames.js";
import { forkTied } from "../helpers/tied-process.js";
import { sleep, TIME_SCALE, UNIT } from "../helpers/time.js";

export { cframe, frame, sleep, UNIT };
export const KiB = 1024;
export const MiB = 1024 * 1024;

// ---- /proc --------------------------------------------------------------------------------

export interface ProcStats {
  /** Resident set size, bytes (VmRSS). */
  rss: number;
  /** Open file descriptors. */
  fds: number;
  /** Of which sockets (any kind: an IPC channel is one). */
  sockets: number;
  /** Of which TCP sockets the kernel lists (/proc/net/tcp, tcp6), in any state. */
  tcp: number;
  /** User + system CPU seconds so far. */
  cpu: number;
}

/** A process's memory, descriptors and CPU, from /proc/PID/{status,fd,stat}. */
export function procStats(pid: number): ProcStats {
  const status = readFileSync(`/proc/${pid}/status`, "latin1");
  const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
  let fds = 0;
  let sockets = 0;
  let tcp = 0;
  const kernel = kernelTcpInodes();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    fds++;
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) {
        sockets++;
        if (kernel.has(m[1]!)) tcp++;
      }
    } catch {
      // closed while we looked
    }
  }
  const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const cpu = (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in CLK_TCK (100)
  return { rss, fds, sockets, tcp, cpu };
}

/** Inodes of the sockets a process holds open (/proc/PID/fd -> socket:[inode]). */
export function socketInodes(pid: number): Set<string> {
  const out = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) out.add(m[1]!);
    } catch {
      // closed while we looked
    }
  }
  return out;
}

/** Inodes of the TCP sockets the kernel lists (/proc/net/tcp and tcp6), with their state. */
export function kernelTcpInodes(): Map<string, string> {
  const out = new Map<string, string>();
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = readFileSync(file, "latin1");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length > 9) out.set(f[9]!, f[3]!);
    }
  }
  return out;
}

const mb = (n: number): string => `${(n / MiB).toFixed(1)} MB`;

// ---- targets ------------------------------------------------------------------------------

export type TargetKind = "echo" | "echo-deflate" | "serve";

export interface SettleSlack {
  /** Bytes of RSS above the baseline still accepted. Default 32 MiB. */
  rss?: number;
  /** Descriptors above the baseline still accepted. Default 0. */
  fds?: number;
  /** How long to wait for it, ms. Default 100 units (10 s). */
  timeout?: number;
}

export interface Target {
  readonly kind: TargetKind;
  /** The WebSocket URL attacks aim at: ws://127.0.0.1:PORT/ (echo) or ws://127.0.0.1:PORT/cable (serve). */
  readonly url: string;
  /** serve only: the HTTP URL (page, /healthz, /metrics). */
  readonly httpUrl: string | undefined;
  readonly port: number;
  readonly pid: number;
  readonly process: Running;
  stats(): ProcStats;
  /** Warm the server up (a few connections and messages), then read its stats. */
  baseline(): Promise<ProcStats>;
  /**
   * Poll until the server's RSS and fds are back within `slack` of `base` (the connections of
   * healthy clients still running are allowed for); returns the stats reached, or fails the test
   * with the last reading.
   */
  settle(base: ProcStats, slack?: SettleSlack): Promise<ProcStats>;
  /** Start a healthy client on its own connection (echo: echo round trips; serve: chat round trips). */
  healthy(options?: HealthyOptions): Promise<HealthyClient>;
  /** A full GC in the server, then its JS heap in use, bytes (needs `inspect: true`). */
  heapUsed(): Promise<number>;
  /**
   * A full GC in the server, then what it really retains, bytes: its JS heap in use plus its
   * ArrayBuffers (Buffers queued on sockets are there). Unlike RSS, this does not count what the
   * allocator keeps after a burst of garbage, which grows with GC delays on a loaded machine.
   */
  retained(): Promise<number>;
  /** SIGTERM, and the exit. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const ECHO_URL = /listening on (ws:\/\/\S+)/;
const SERVE_URL = /^(http:\/\/\S+)$/m;

const targets = new Set<Target>();
const healthyClients = new Set<ChildProcess>();

export interface TargetOptions {
  /** Appended to the command line (e.g. `["--max-payload", "1KiB"]`, `["--workers", "2"]`). */
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /**
   * Start it with the inspector on a free loopback port (default true), for `heapUsed()` (a
   * full GC, then the JS heap in use: what the process really retains) and for `settle()`,
   * which collects the garbage once before it judges RSS. false: RSS as it is.
   */
  inspect?: boolean;
}

/**
 * Start `wirecable echo` (plain or `--deflate`) or `wirecable serve` on port 0, with
 * `options.args` appended, and wait until it listens.
 */
export async function startTarget(kind: TargetKind, options: TargetOptions = {}): Promise<Target> {
  ensureBuilt();
  const args = options.args ?? [];
  const argv =
    kind === "serve"
      ? ["serve", "--port", "0", "--log-level", "warn", ...args]
      : ["echo", "--port", "0", ...(kind === "echo-deflate" ? ["--deflate"] : []), ...args];
  const env = { ...options.env };
  const inspect = options.inspect ?? true;
  if (inspect) env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ""} --inspect=127.0.0.1:0`.trim();
  const running = startCli(argv, env);
  const [, printed] = await running.waitFor(kind === "serve" ? SERVE_URL : ECHO_URL, 100 * UNIT);
  let inspector: string | undefined;
  for (let tries = 0; inspect && inspector === undefined; tries++) {
    inspector = /ws:\/\/127\.0\.0\.1:\d+\/[\w-]+/.exec(running.stderr())?.[0];
    if (inspector === undefined && tries > 100) throw new Error(`no inspector URL in: ${running.stderr()}`);
    if (inspector === undefined) await sleep(20);
  }
  const port = Number(new URL(printed!).port);
  const url = kind === "serve" ? `ws://127.0.0.1:${port}/cable` : `ws://127.0.0.1:${port}/`;
  const pid = running.child.pid!;
  let healthyOpen = 0;
  const target: Target = {
    kind,
    url,
    httpUrl: kind === "serve" ? `http://127.0.0.1:${port}` : undefined,
    port,
    pid,
    process: running,
    stats: () => procStats(pid),
    async baseline() {
      await warmUp(target);
      return procStats(pid);
    },
    async settle(base, slack = {}) {
      const rssSlack = slack.rss ?? 32 * MiB;
      // The healthy clients' own connections are not the attack's.
      const fdSlack = (slack.fds ?? 0) + healthyOpen;
      const end = Date.now() + (slack.timeout ?? 100 * UNIT);
      let now = procStats(pid);
      let collected = false;
      while (now.rss > base.rss + rssSlack || now.fds > base.fds + fdSlack) {
        if (!collected && inspector !== undefined && now.rss > base.rss + rssSlack) {
          // Garbage is not retention: let the server collect it before RSS is judged.
          collected = true;
          await inspectorHeapUsed(inspector);
          now = procStats(pid);
          continue;
        }
        if (Date.now() > end) {
          assert.fail(
            `${kind} did not come back to its baseline: RSS ${mb(now.rss)} (baseline ${mb(base.rss)}, slack ${mb(rssSlack)}), ` +
              `fds ${now.fds} (baseline ${base.fds}, slack ${fdSlack})`,
          );
        }
        await sleep(100);
        now = procStats(pid);
      }
      return now;
    },
    async healthy(options) {
      const client = await startHealthy(target, options);
      healthyOpen++;
      const stop = client.stop;
      client.stop = () => {
        healthyOpen--;
        stop();
      };
      return client;
    },
    async heapUsed() {
      if (inspector === undefined) throw new Error("heapUsed() needs the inspector (inspect: false was given)");
      return inspectorHeapUsed(inspector);
    },
    async retained() {
      if (inspector === undefined) throw new Error("retained() needs the inspector (inspect: false was given)");
      return inspectorRetained(inspector);
    },
    async stop() {
      targets.delete(target);
      running.child.kill("SIGTERM");
      return running.exited;
    },
  };
  targets.add(target);
  return target;
}

/** Through the inspector protocol: HeapProfiler.collectGarbage, then Runtime.getHeapUsage. */
/** One session on the server's inspector: a full GC, then `measure` with the session's `call`. */
async function afterFullGc<T>(
  url: string,
  measure: (call: (method: string, params?: object) => Promise<Record<string, unknown>>) => Promise<T>,
): Promise<T> {
  const socket = new WS(url);
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("open", () => resolve());
      socket.once("error", reject);
    });
    let id = 0;
    const call = (method: string, params?: object): Promise<Record<string, unknown>> =>
      new Promise((resolve, reject) => {
        const mine = ++id;
        const onMessage = (data: WS.RawData) => {
          const reply = JSON.parse(String(data)) as { id?: number; result?: Record<string, unknown>; error?: unknown };
          if (reply.id !== mine) return;
          socket.off("message", onMessage);
          if (reply.error !== undefined) reject(new Error(`${method}: ${JSON.stringify(reply.error)}`));
          else resolve(reply.result ?? {});
        };
        socket.on("message", onMessage);
        socket.send(JSON.stringify({ id: mine, method, params }));
      });
    await call("HeapProfiler.collectGarbage");
    return await measure(call);
  } finally {
    socket.close();
  }
}

function inspectorHeapUsed(url: string): Promise<number> {
  return afterFullGc(url, async (call) => (await call("Runtime.getHeapUsage")).usedSize as number);
}

function inspectorRetained(url: string): Promise<number> {
  return afterFullGc(url, async (call) => {
    const { result } = (await call("Runtime.evaluate", {
      expression: "(() => { const m = process.memoryUsage(); return m.heapUsed + m.arrayBuffers; })()",
      returnByValue: true,
    })) as { result: { value: number } };
    return result.value;
  });
}

/** A few connections and round trips, so that the baseline includes what every server allocates at first use. */
async function warmUp(target: Target): Promise<void> {
  for (let i = 0; i < 3; i++) {
    const peer = await HostilePeer.upgrade(target, {});
    assert.equal(peer.status, 101, `warm-up handshake: ${peer.responseHead}`);
    if (target.kind === "serve") await peer.until(() => peer.texts.some((t) => t.includes("welcome")));
    else {
      for (let j = 0; j < 20; j++) peer.send(cframe(0x1, `warm-up ${j}`));
      await peer.until(() => peer.texts.length >= 20);
    }
    peer.send(cframe(0x8, Buffer.from([0x03, 0xe8])));
    await peer.closedPromise;
  }
  await sleep(2 * UNIT);
}

/** Stop every target, healthy client, client subject and hostile server this file started (call in `after`). */
export async function stopTargets(): Promise<void> {
  await closeServers();
  for (const child of healthyClients) child.kill("SIGKILL");
  healthyClients.clear();
  for (const target of targets) target.process.child.kill("SIGKILL");
  targets.clear();
  stopAll();
}

// ---- the healthy client -------------------------------------------------------------------

export interface HealthyOptions {
  /** Pause between round trips, ms. Default 50 (echo), 600 (serve: the chat's rate limit is 2/s). */
  interval?: number;
  /** The chat room (serve). Default "healthy". */
  room?: string;
  /** A round trip not answered within this long is a failure. Default 100 units. */
  timeout?: number;
}

export interface HealthyReport {
  count: number;
  failures: number;
  /** Round trips in ms. */
  max: number;
  p50: number;
  p90: number;
  rtts: number[];
  /** Why the connection ended, if it did. */
  closed: string | null;
  error: string | null;
}

export interface HealthyClient {
  /**
   * Its round trips since the previous report (and failures so far), once there are at least
   * `min` of them (default 5) or it failed: an attack that ends quickly still gets measured.
   */
  report(min?: number): Promise<HealthyReport & { assertHealthy(bound?: { p50?: number; max?: number }): void }>;
  stop(): void;
}

/**
 * Default round-trip bounds for the healthy client while the server is attacked, ms, scaled:
 * the median under 100 ms (the bound for other rooms during a storm) and no single
 * round trip over 3 s (a busy 2-core machine running two test files at once).
 */
export const HEALTHY_P50 = 100 * TIME_SCALE;
export const HEALTHY_MAX = 3000 * TIME_SCALE;

/**
 * How much busier than "two test files on two cores" the machine is: the 1-minute load average
 * per core over 2, at least 1. The healthy client's round trips measure the server's event loop
 * AND the machine's run queue; at load 20 on 2 cores a process waits for a core far longer than
 * any bound says about our server. The bounds stretch by this factor (printed with a failure);
 * an attack that starves the server still fails them (unbounded: a round trip unanswered).
 */
export function machineBusy(): number {
  return Math.max(1, loadavg()[0]! / availableParallelism() / 2);
}

async function startHealthy(target: Target, options: HealthyOptions = {}): Promise<HealthyClient> {
  const mode = target.kind === "serve" ? "cable" : "echo";
  const config = {
    url: target.url,
    mode,
    interval: options.interval ?? (mode === "cable" ? 600 : 50),
    room: options.room ?? "healthy",
    timeout: options.timeout ?? 100 * UNIT,
  };
  const child = forkTied(join(import.meta.dirname, "healthy-client.mjs"), [JSON.stringify(config)], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    execArgv: [],
  });
  healthyClients.add(child);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("healthy client did not start within 100 units")), 100 * UNIT);
    child.once("message", () => {
      clearTimeout(timer);
      resolve();
    });
    child.once("exit", (code) => reject(new Error(`healthy client exited (${code}) before it was ready`)));
  });
  return {
    async report(min = 5) {
      const reply = new Promise<HealthyReport>((resolve, reject) => {
        const onMessage = (message: { report?: HealthyReport }) => {
          if (message.report === undefined) return;
          child.off("message", onMessage);
          resolve(message.report);
        };
        child.on("message", onMessage);
        void exited.then(() => reject(new Error("healthy client exited")));
      });
      child.send({ report: min });
      const report = await reply;
      return {
        ...report,
        assertHealthy(bound = {}) {
          const busy = machineBusy();
          const p50 = (bound.p50 ?? HEALTHY_P50) * busy;
          const max = (bound.max ?? HEALTHY_MAX) * busy;
          const summary = `healthy client: ${report.count} round trips, p50 ${report.p50.toFixed(1)} ms, p90 ${report.p90.toFixed(1)} ms, max ${report.max.toFixed(1)} ms, failures ${report.failures}, ${report.error ?? "no error"}; bounds x${busy.toFixed(1)} (load ${loadavg()[0]!.toFixed(1)})`;
          assert.equal(report.failures, 0, summary);
          assert.equal(report.closed, null, summary);
          assert.ok(report.count > 0, summary);
          assert.ok(report.p50 <= p50, `${summary} (median bound ${p50} ms)`);
          assert.ok(report.max <= max, `${summary} (max bound ${max} ms)`);
        },
      };
    },
    stop() {
      healthyClients.delete(child);
      if (child.connected) child.send("stop");
      else child.kill("SIGKILL");
    },
  };
}

// ---- hostile peers ------------------------------------------------------------------------

export interface ReceivedFrame {
  fin: boolean;
  opcode: number;
  payload: Buffer;
}

export interface PeerOptions {
  /** Request path (default: the target's). */
  path?: string;
  /** Extra request headers. */
  headers?: Record<string, string>;
  /** Sec-WebSocket-Protocol offered (serve: actioncable-v1-json unless given). */
  protocol?: string | null;
  /** Send this instead of an upgrade request (bytes or text, verbatim). */
  request?: string | Buffer;
  /** Do not read at all after the head (a peer that never reads): default false. */
  noRead?: boolean;
  /** Keep payloads of received data frames (default true; false for floods, which only count them). */
  keepData?: boolean;
}

/**
 * A raw TCP peer. `upgrade` connects, sends a handshake (or `request`) and waits for the answer
 * head; then frames are parsed as they come (unmasked server frames) without keeping more than
 * one partial frame, close frames recorded, pings NOT answered (a hostile peer decides itself).
 */
export class HostilePeer {
  readonly socket: Socket;
  status = 0;
  responseHead = "";
  /** Data-frame bytes received (payload), and messages. */
  dataBytes = 0;
  messages = 0;
  texts: string[] = [];
  /** Control frames received by opcode. */
  pongs = 0;
  pings = 0;
  /** The payload of the last pong received. */
  lastPong: Buffer | undefined;
  /** The close frame's code (1005: none in the frame), or undefined. */
  closeCode: number | undefined;
  closeReason = "";
  ended = false;
  readonly closedPromise: Promise<void>;
  readonly #keep: boolean;
  #buffer: Buffer = Buffer.alloc(0);
  #headDone = false;
  #textParts: Buffer[] = [];
  #waiters = new Set<() => void>();

  private constructor(socket: Socket, keep: boolean) {
    this.socket = socket;
    this.#keep = keep;
    this.closedPromise = new Promise((resolve) => socket.once("close", () => resolve()));
    socket.on("error", () => {});
    socket.on("data", (chunk: Buffer) => this.#onData(chunk));
    socket.on("close", () => {
      this.ended = true;
      this.#wake();
    });
  }

  /** Connect to the target's port (no bytes sent). */
  static async connect(target: { port: number }, options: { keepData?: boolean } = {}): Promise<HostilePeer> {
    const socket = netConnect({ host: "127.0.0.1", port: target.port });
    socket.setNoDelay(true);
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    return new HostilePeer(socket, options.keepData ?? true);
  }

  /** Connect, send the opening handshake (or `options.request`) and wait for the answer head or EOF. */
  static async upgrade(target: Target | { port: number; url: string; kind?: TargetKind }, options: PeerOptions = {}) {
    const peer = await HostilePeer.connect(target, options);
    peer.socket.write(options.request ?? upgradeRequest(target, options));
    await peer.until(() => peer.#headDone || peer.ended, 100 * UNIT);
    if (options.noRead) peer.socket.pause();
    return peer;
  }

  #onData(chunk: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    if (!this.#headDone) {
      const end = this.#buffer.indexOf("\r\n\r\n");
      if (end === -1) {
        if (this.#buffer.length > 64 * KiB) this.socket.destroy();
        return;
      }
      this.responseHead = this.#buffer.subarray(0, end).toString("latin1");
      this.status = Number(this.responseHead.split(" ")[1]);
      this.#buffer = this.#buffer.subarray(end + 4);
      this.#headDone = true;
      if (this.status !== 101) this.#buffer = Buffer.alloc(0); // a body, not frames
    }
    if (this.status === 101) this.#parse();
    this.#wake();
  }

  #parse(): void {
    let buffer = this.#buffer;
    for (;;) {
      if (buffer.length < 2) break;
      const b0 = buffer[0]!;
      let len = buffer[1]! & 0x7f;
      let at = 2;
      if (len === 126) {
        if (buffer.length < 4) break;
        len = buffer.readUInt16BE(2);
        at = 4;
      } else if (len === 127) {
        if (buffer.length < 10) break;
        len = Number(buffer.readBigUInt64BE(2));
        at = 10;
      }
      if (buffer.length < at + len) break;
      const payload = buffer.subarray(at, at + len);
      buffer = buffer.subarray(at + len);
      const opcode = b0 & 0x0f;
      const fin = (b0 & 0x80) !== 0;
      if (opcode === 0x8) {
        this.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        this.closeReason = payload.subarray(2).toString();
      } else if (opcode === 0x9) this.pings++;
      else if (opcode === 0xa) {
        this.pongs++;
        this.lastPong = Buffer.from(payload);
      } else {
        this.dataBytes += len;
        if (this.#keep) this.#textParts.push(Buffer.from(payload));
        if (fin) {
          this.messages++;
          if (this.#keep) {
            this.texts.push(Buffer.concat(this.#textParts).toString());
            this.#textParts = [];
          }
        }
      }
    }
    // Keep only the partial frame (a copy: the chunk it came from may be large).
    this.#buffer = buffer.length === 0 ? Buffer.alloc(0) : Buffer.from(buffer);
  }

  #wake(): void {
    for (const w of [...this.#waiters]) w();
  }

  /** The response body (non-101 answers), as received so far. */
  get body(): string {
    return this.#buffer.toString("latin1");
  }

  send(bytes: Buffer | Uint8Array | string): boolean {
    if (this.socket.destroyed) return false;
    return this.socket.write(bytes);
  }

  /** Write `bytes`, waiting for 'drain' when the socket buffer is full; false if the peer was closed. */
  async write(bytes: Buffer | Uint8Array | string): Promise<boolean> {
    if (this.socket.destroyed || this.ended) return false;
    if (this.socket.write(bytes)) return true;
    await new Promise<void>((resolve) => {
      const done = () => {
        this.socket.off("drain", done);
        this.socket.off("close", done);
        resolve();
      };
      this.socket.on("drain", done);
      this.socket.on("close", done);
    });
    return !this.socket.destroyed && !this.ended;
  }

  /** Wait (bounded, default 100 units) until `check()` holds; re-checked on every chunk and at close. */
  async until(check: () => boolean, ms = 100 * UNIT, what = "condition"): Promise<void> {
    const end = Date.now() + ms;
    while (!check()) {
      const left = end - Date.now();
      if (left <= 0) {
        throw new Error(
          `${what} not met within ${ms} ms (status ${this.status}, close ${this.closeCode}, ended ${this.ended})`,
        );
      }
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(t);
          this.#waiters.delete(wake);
          resolve();
        };
        const t = setTimeout(wake, Math.min(left, 50));
        this.#waiters.add(wake);
      });
    }
  }

  /** Wait for the server's close frame (or the end of the connection); returns its code (undefined: none). */
  async closed(ms = 100 * UNIT): Promise<number | undefined> {
    await this.until(() => this.closeCode !== undefined || this.ended, ms, "close");
    return this.closeCode;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** A valid upgrade request for `target` (path, cable subprotocol), plus `options.headers`. */
export function upgradeRequest(
  target: { port: number; url: string; kind?: TargetKind },
  options: Pick<PeerOptions, "path" | "headers" | "protocol"> = {},
): string {
  const path = options.path ?? new URL(target.url).pathname;
  const key = randomBytes(16).toString("base64");
  let request = `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${target.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n`;
  const protocol = options.protocol === undefined && target.kind === "serve" ? "actioncable-v1-json" : options.protocol;
  if (protocol) request += `Sec-WebSocket-Protocol: ${protocol}\r\n`;
  for (const [k, v] of Object.entries(options.headers ?? {})) request += `${k}: ${v}\r\n`;
  return `${request}\r\n`;
}

/** A close frame from a client (masked). */
export function closeFrame(code = 1000, reason = ""): Buffer {
  const payload = Buffer.alloc(2 + Buffer.byteLength(reason));
  payload.writeUInt16BE(code, 0);
  payload.write(reason, 2);
  return cframe(0x8, payload);
}

/** A client frame header announcing `length` bytes (masked, with a zero mask) and no payload. */
export function frameHeader(opcode: number, length: bigint | number, fin = true): Buffer {
  const len = BigInt(length);
  const out = Buffer.alloc(14);
  out[0] = (fin ? 0x80 : 0) | opcode;
  if (len < 126n) {
    out[1] = 0x80 | Number(len);
    return out.subarray(0, 6);
  }
  if (len < 65536n) {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(Number(len), 2);
    return out.subarray(0, 8);
  }
  out[1] = 0x80 | 127;
  out.writeBigUInt64BE(len, 2);
  return out;
}

/** The same frame `count` times in one buffer (floods). */
export function repeat(frame: Buffer, count: number): Buffer {
  const out = Buffer.allocUnsafe(frame.length * count);
  for (let i = 0; i < count; i++) frame.copy(out, i * frame.length);
  return out;
}

/** Open `count` peers at once (bounded concurrency), each through `open`. */
export async function many<T>(count: number, open: (i: number) => Promise<T>, concurrency = 64): Promise<T[]> {
  const out: T[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) {
        const i = next++;
        out[i] = await open(i);
      }
    }),
  );
  return out;
}

// ---- hostile servers and our clients as subjects -------------------------------------------

export interface HostileServer {
  readonly port: number;
  readonly url: string;
  /** Connections accepted so far. */
  accepted: number;
  /** Sockets currently open. */
  readonly sockets: Set<Socket>;
  close(): Promise<void>;
}

/**
 * A raw TCP server on 127.0.0.1:0 that hands each socket to `onSocket`. With `upgrade: true`
 * (default) it first reads the request head and answers a valid 101 (`accept` overrides the
 * Sec-WebSocket-Accept value), then calls `onSocket(socket, rest)` with the bytes after the head.
 */
export async function hostileServer(
  onSocket: (socket: Socket, rest: Buffer) => void,
  options: { upgrade?: boolean; accept?: string; headers?: string } = {},
): Promise<HostileServer> {
  const sockets = new Set<Socket>();
  const state = { accepted: 0 };
  const server = createServer((socket) => {
    state.accepted++;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    if (options.upgrade === false) {
      onSocket(socket, Buffer.alloc(0));
      return;
    }
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf("\r\n\r\n");
      if (end === -1) return;
      socket.off("data", onData);
      const key = /sec-websocket-key:\s*(\S+)/i.exec(head.subarray(0, end).toString("latin1"))?.[1] ?? "";
      const accept =
        options.accept ?? createHash("sha1").update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64");
      socket.write(
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n${options.headers ?? ""}\r\n`,
      );
      onSocket(socket, head.subarray(end + 4));
    };
    socket.on("data", onData);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const hostile: HostileServer = {
    port,
    url: `ws://127.0.0.1:${port}/`,
    get accepted() {
      return state.accepted;
    },
    sockets,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  servers.add(hostile);
  return hostile;
}

const servers = new Set<HostileServer>();

/** Close every hostile server this file started (call in `after`). */
export async function closeServers(): Promise<void> {
  for (const s of servers) await s.close();
  servers.clear();
}

export interface SubjectReport {
  messages: number;
  bytes: number;
  pings: number;
  opens: number;
  attempts: number;
  errors: number;
  closes: Array<number | string>;
  attemptTimes: number[];
  /** [attempt, delay ms] of each reconnection the client scheduled. */
  delays: Array<[number, number]>;
  /** ms from each failed connection's error to its close (reconnecting client). */
  closeTimes: number[];
  /** process.getActiveResourcesInfo() by kind (Timeout, TCPSocketWrap...). */
  resources: Record<string, number>;
}

export interface ClientSubject {
  readonly pid: number;
  stats(): ProcStats;
  report(): Promise<SubjectReport>;
  /** Close the client (terminate / close()), then its figures once the dust settled. */
  close(): Promise<SubjectReport>;
  stop(): void;
}

/**
 * One of our clients in a process of its own (client-subject.mjs, from dist/): `connect` (the
 * Node client) or `reconnecting` (wirecable/client's ReconnectingWebSocket, `socketOptions`
 * given to each of its WebSockets), pointed at `url`.
 * Started with --expose-gc: `report()` collects garbage first, so RSS counts what is kept.
 */
export async function startClient(
  mode: "connect" | "reconnecting",
  url: string,
  options: Record<string, unknown> = {},
  socketOptions?: Record<string, unknown>,
): Promise<ClientSubject> {
  ensureBuilt();
  const config = { dist: join(import.meta.dirname, "..", "..", "dist"), url, mode, options, socketOptions };
  const child = forkTied(join(import.meta.dirname, "client-subject.mjs"), [JSON.stringify(config)], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    execArgv: ["--expose-gc"],
  });
  healthyClients.add(child);
  await new Promise<void>((resolve, reject) => {
    child.once("message", () => resolve());
    child.once("exit", (code) => reject(new Error(`client subject exited (${code}) before it was ready`)));
  });
  const ask = <T>(message: string, key: "report" | "closed"): Promise<T> =>
    new Promise((resolve, reject) => {
      const onMessage = (reply: Record<string, T>) => {
        if (!(key in reply)) return;
        child.off("message", onMessage);
        resolve(reply[key]!);
      };
      child.on("message", onMessage);
      child.once("exit", () => reject(new Error("client subject exited")));
      child.send(message);
    });
  return {
    pid: child.pid!,
    stats: () => procStats(child.pid!),
    report: () => ask<SubjectReport>("report", "report"),
    close: () => ask<SubjectReport>("close", "closed"),
    stop() {
      healthyClients.delete(child);
      child.kill("SIGKILL");
    },
  };
}
