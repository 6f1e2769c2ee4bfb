/**
 * How every CLI server runs (`serve`, `echo`, `broadcast`): alone, or with `--workers N` as a
 * node:cluster primary and N workers sharing one port (the primary accepts and hands
 * connections round-robin; Node 20 has no `reusePort`). The one cluster primary of the CLI.
 *
 * Contract:
 * - `runServer` with `workers <= 1` (or in a worker) runs `start` in this process; with more,
 *   this process becomes the primary and forks. One ready line goes to stdout once every worker
 *   listens (`readyLine`; by default `<name> listening on <url>`, with `(N workers)`); a worker
 *   that fails to start fails the whole command (exit 1, the worker's message as the error).
 * - SIGTERM/SIGINT: graceful shutdown; each server closes its clients (1001) within its own
 *   `close()`; a process still running after 8 s exits 1. Exit codes, alone or clustered: 0 when
 *   every server closed cleanly, 1 otherwise. A worker that dies after the start is replaced.
 * - Relay: a worker's `relay(message)` goes to the primary, which sends it to every worker (the
 *   sender included) in its receive order, so each worker hands each message to its own clients
 *   exactly once, in the same order everywhere (`broadcast`, and `serve`'s ClusterBroker). IPC
 *   uses "advanced" serialization, so a Uint8Array arrives as one.
 * - State in the primary (`primary`, serve's ClusterStore without a broker): a worker's
 *   `toPrimary(message)` goes to the primary's hooks alone, which answer that worker
 *   (`reply`) or every worker (`toAll`), both heard through `onPrimary`; the hooks may rewrite
 *   each relayed message (stamp it) and hear when a worker exits.
 * - Reports (a worker replaced, a slow shutdown) go to `log` (default: stderr lines).
 */
import type { Serializable } from "node:child_process";
import cluster, { type Worker } from "node:cluster";
import { InvalidArgumentError } from "commander";

export const MAX_WORKERS = 256;
const LISTENING = "wirecable-listening";
const FAILED = "wirecable-failed";
const SHUTDOWN = "wirecable-shutdown";
/** The tag of relayed messages on the IPC channel, both ways (`{ tag, message }`). */
export const RELAY_TAG = "wirecable-relay-message";
const RELAY = RELAY_TAG;
/** Messages between a worker and the primary's hooks (`{ tag, message }`), not relayed. */
const PRIMARY = "wirecable-primary-message";

export function parseWorkerCount(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > MAX_WORKERS) {
    throw new InvalidArgumentError(`expected a number of workers 1-${MAX_WORKERS}, got "${value}"`);
  }
  return n;
}

function ignoreSendError(): void {}

/**
 * Send `message` to `worker` over the cluster's IPC channel if it is still connected; false if it
 * is not. A worker can exit between that check and the write (a shutdown, a crash): the write
 * then fails with EPIPE, which without a callback is an unhandled 'error' on the Worker and
 * takes the primary down. A message for a worker that is gone has nowhere to go: it is dropped.
 */
export function sendToWorker(worker: Worker, message: Serializable): boolean {
  if (!worker.isConnected()) return false;
  worker.send(message, ignoreSendError);
  return true;
}

/** What a server process runs: its URL, and a graceful close (1001 to clients). */
export interface Served {
  url: string;
  close(): Promise<void>;
}

export interface WorkerContext {
  /** The cluster worker id (1, 2, ...), or undefined when running alone. */
  worker: number | undefined;
  /**
   * Send a message to every worker's `onRelay` (undefined when running alone). Resolves once it
   * is handed to IPC; rejects if it could not be.
   */
  relay: ((message: unknown) => Promise<void>) | undefined;
  /** Register the handler of relayed messages (every worker gets each message once). */
  onRelay(handler: (message: unknown) => void): void;
  /**
   * Send a message to the primary's hooks only (undefined when running alone). Resolves once it
   * is handed to IPC; rejects if it could not be.
   */
  toPrimary: ((message: unknown) => Promise<void>) | undefined;
  /** Register the handler of the primary hooks' messages to this worker. */
  onPrimary(handler: (message: unknown) => void): void;
}

/** What the primary does for a server whose workers keep shared state there (`RunServerOptions.primary`). */
export interface PrimaryHooks {
  /** A relayed message on its way to every worker: what every worker gets instead. */
  relay?(message: unknown): unknown;
  /** A worker's `toPrimary` message; `reply` answers that worker's `onPrimary`. */
  message?(message: unknown, worker: number, reply: (message: unknown) => void): void;
  /** A worker exited (for good or to be replaced). */
  exit?(worker: number): void;
}

/** Where the primary and the servers report what goes wrong. */
export interface ServerLog {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export interface RunServerOptions {
  /** How reports and the default ready line name the server ("echo server"). */
  name: string;
  workers: number;
  /** The line printed on stdout once listening (default: `<name> listening on <url>`, plus ` (N workers)`). */
  readyLine?: (url: string, workers: number) => string;
  log?: ServerLog;
  /** Called in the primary for each worker it forks (e.g. to answer the worker's requests). */
  onFork?: (worker: Worker) => void;
  start(context: WorkerContext): Promise<Served>;
  /** In the primary (workers > 1), once: its hooks; `toAll` sends to every worker's `onPrimary`. */
  primary?(toAll: (message: unknown) => void): PrimaryHooks;
}

/** Reports as stderr lines, named after the server. */
function stderrLog(name: string): ServerLog {
  const line = (message: string, fields?: Record<string, unknown>): void => {
    console.error(`${name}: ${message}${fields === undefined ? "" : ` ${JSON.stringify(fields)}`}`);
  };
  return { info: () => {}, warn: line, error: line };
}

function defaultReadyLine(name: string): (url: string, workers: number) => string {
  return (url, workers) => `${name} listening on ${url}${workers > 1 ? ` (${workers} workers)` : ""}`;
}

/**
 * The relay of a process whose parent relays `RELAY_TAG` messages to every child (the cluster
 * primary; a benchmark's parent): `relay` sends over IPC, `onRelay` hears what comes back.
 */
export function ipcRelay(): Pick<WorkerContext, "relay" | "onRelay" | "toPrimary" | "onPrimary"> {
  const relayed: Array<(message: unknown) => void> = [];
  const fromPrimary: Array<(message: unknown) => void> = [];
  process.on("message", (m: Tagged) => {
    if (m?.tag === RELAY) for (const h of relayed) h(m.message);
    else if (m?.tag === PRIMARY) for (const h of fromPrimary) h(m.message);
  });
  const send = (tag: string) => (message: unknown) =>
    new Promise<void>((resolve, reject) => {
      process.send!({ tag, message }, undefined, undefined, (err) => (err ? reject(err) : resolve()));
    });
  return {
    relay: send(RELAY),
    onRelay: (handler) => relayed.push(handler),
    toPrimary: send(PRIMARY),
    onPrimary: (handler) => fromPrimary.push(handler),
  };
}

/** Send `message` to every worker still connected (one that is gone is skipped, see sendToWorker). */
export function relayToWorkers(workers: Iterable<Worker | undefined>, message: Serializable): void {
  for (const w of workers) if (w !== undefined) sendToWorker(w, message);
}

interface Tagged {
  tag?: string;
  url?: string;
  message?: unknown;
}

const STOP_TIMEOUT = 8000;
/** How long clients get for their closing handshakes on shutdown before they are cut (ms). */
export const CLOSE_TIMEOUT = 3000;

export async function runServer(options: RunServerOptions): Promise<void> {
  if (options.workers > 1 && cluster.isPrimary) await runPrimary(options);
  else await runOne(options);
}

/** One server: the only process, or a cluster worker. */
async function runOne(options: RunServerOptions): Promise<void> {
  const inCluster = cluster.isWorker;
  const log = options.log ?? stderrLog(options.name);
  let served: Served | undefined;
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info("stopping", { signal });
    if (served === undefined) process.exit(0); // nothing served yet
    setTimeout(() => {
      log.error(`graceful shutdown did not finish within ${STOP_TIMEOUT / 1000} s`);
      process.exit(1);
    }, STOP_TIMEOUT).unref();
    void served.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error("shutdown failed", { error: String(err) });
        process.exit(1);
      },
    );
  };
  // Listen for the stop request first: a worker still starting when the primary stops must stop too.
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));
  if (inCluster) {
    process.on("message", (m: Tagged) => {
      if (m?.tag === SHUTDOWN) stop("primary");
    });
  }
  const ipc = inCluster ? ipcRelay() : undefined;
  const context: WorkerContext = {
    worker: inCluster ? cluster.worker?.id : undefined,
    relay: ipc?.relay,
    onRelay: (handler) => ipc?.onRelay(handler),
    toPrimary: ipc?.toPrimary,
    onPrimary: (handler) => ipc?.onPrimary(handler),
  };
  try {
    served = await options.start(context);
  } catch (err) {
    const message = startError(err);
    if (inCluster) {
      process.send?.({ tag: FAILED, message }, undefined, undefined, () => process.exit(1));
      return;
    }
    throw new Error(message);
  }
  if (stopping) {
    void served.close().then(() => process.exit(0));
    return;
  }
  if (inCluster) process.send?.({ tag: LISTENING, url: served.url });
  else console.log((options.readyLine ?? defaultReadyLine(options.name))(served.url, 1));
}

function startError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e?.code === "EADDRINUSE") return "port already in use";
  if (e?.code === "EADDRNOTAVAIL" || e?.code === "ENOTFOUND") return `cannot listen: ${e.code}`;
  return `could not start: ${e instanceof Error ? e.message : String(err)}`;
}

/** The primary: forks, relays, prints the URL once all listen, replaces dead workers, stops them. */
async function runPrimary(options: RunServerOptions): Promise<void> {
  cluster.setupPrimary({ serialization: "advanced" });
  const log = options.log ?? stderrLog(options.name);
  const readyLine = options.readyLine ?? defaultReadyLine(options.name);
  const want = options.workers;
  let stopping = false;
  let printed = false;
  let listening = 0;
  const workers = (): Worker[] => Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
  let resolveReady!: () => void;
  let rejectReady!: (err: Error) => void;
  const ready = new Promise<void>((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });

  const hooks = options.primary?.((message) => relayToWorkers(workers(), { tag: PRIMARY, message } as Serializable));

  const fork = (): void => {
    const worker = cluster.fork();
    const reply = (message: unknown): void => void sendToWorker(worker, { tag: PRIMARY, message } as Serializable);
    options.onFork?.(worker);
    worker.on("message", (m: Tagged) => {
      if (m?.tag === RELAY) {
        const out = hooks?.relay === undefined ? m : { tag: RELAY, message: hooks.relay(m.message) };
        relayToWorkers(workers(), out as Serializable);
      } else if (m?.tag === PRIMARY) {
        hooks?.message?.(m.message, worker.id, reply);
      } else if (m?.tag === LISTENING && !printed && ++listening === want) {
        printed = true;
        console.log(readyLine(String(m.url), want));
        resolveReady();
      } else if (m?.tag === FAILED) {
        rejectReady(new Error(String(m.message)));
      }
    });
    worker.on("exit", (code, signal) => {
      hooks?.exit?.(worker.id);
      if (stopping) return;
      if (!printed) {
        rejectReady(new Error(`a worker exited during start (${code ?? signal})`));
        return;
      }
      log.warn("worker died: starting another", { worker: worker.id, code, signal });
      fork();
    });
  };
  log.info("starting workers", { workers: want });
  for (let i = 0; i < want; i++) fork();

  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info("stopping workers", { signal });
    const alive = workers().filter((w) => !w.isDead());
    let left = alive.length;
    if (left === 0) process.exit(0);
    let failed = false;
    for (const w of alive) {
      w.once("exit", (code) => {
        if (code !== 0) failed = true;
        if (--left === 0) process.exit(failed ? 1 : 0);
      });
      if (!sendToWorker(w, { tag: SHUTDOWN })) w.kill("SIGTERM");
    }
    // Workers that do not finish their graceful close in time are killed.
    setTimeout(() => {
      for (const w of alive) if (!w.isDead()) w.kill("SIGKILL");
      process.exit(1);
    }, STOP_TIMEOUT + 2000).unref();
  };
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));

  try {
    await ready;
  } catch (err) {
    stopping = true;
    for (const w of workers()) w.kill("SIGKILL");
    throw err;
  }
}
