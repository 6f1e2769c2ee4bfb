/**
 * Multi-core mode for the CLI servers (`echo`, `broadcast`): `--workers N` forks N node:cluster
 * workers sharing one port (the primary accepts and hands connections round-robin; Node 20 has
 * no `reusePort`).
 *
 * Contract:
 * - `runServer` with `workers <= 1` (or in a worker) runs `start` in this process; with more,
 *   this process becomes the primary and forks. The primary prints one line,
 *   `<name> listening on <url>` (with `(N workers)`), once every worker listens; a worker that
 *   fails to start fails the whole command (non-zero exit, the worker's message on stderr).
 * - SIGTERM/SIGINT: graceful shutdown; every server closes its clients with 1001, gives them
 *   CLOSE_TIMEOUT (3 s) for the closing handshake, then cuts them (a process still running after
 *   8 s exits 1). A worker that dies after the start is replaced.
 * - Relay (`broadcast`): a worker's `relay(message)` goes to the primary, which sends it to every
 *   worker (the sender included) in its receive order, so each worker hands each message to its
 *   own clients exactly once, in the same order everywhere. IPC uses "advanced" serialization,
 *   so a Uint8Array arrives as one.
 */
import type { Serializable } from "node:child_process";
import cluster, { type Worker } from "node:cluster";
import { InvalidArgumentError } from "commander";

export const MAX_WORKERS = 256;
const LISTENING = "wirecable-listening";
const FAILED = "wirecable-failed";
const SHUTDOWN = "wirecable-shutdown";
const RELAY = "wirecable-relay-message";

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
  /** Send a message to every worker's `onRelay` (undefined when running alone). */
  relay: ((message: unknown) => void) | undefined;
  /** Register the handler of relayed messages (every worker gets each message once). */
  onRelay(handler: (message: unknown) => void): void;
}

export interface RunServerOptions {
  /** How the ready line names the server ("echo server"). */
  name: string;
  workers: number;
  start(context: WorkerContext): Promise<Served>;
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
  let served: Served | undefined;
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    if (served === undefined) process.exit(0); // nothing served yet
    setTimeout(() => {
      console.error(`${options.name}: graceful shutdown did not finish within ${STOP_TIMEOUT / 1000} s`);
      process.exit(1);
    }, STOP_TIMEOUT).unref();
    void served.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  // Listen for the stop request first: a worker still starting when the primary stops must stop too.
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  const relayHandlers: Array<(message: unknown) => void> = [];
  if (inCluster) {
    process.on("message", (m: Tagged) => {
      if (m?.tag === SHUTDOWN) stop();
      else if (m?.tag === RELAY) for (const h of relayHandlers) h(m.message);
    });
  }
  const context: WorkerContext = {
    worker: inCluster ? cluster.worker?.id : undefined,
    relay: inCluster ? (message) => process.send?.({ tag: RELAY, message }) : undefined,
    onRelay: (handler) => relayHandlers.push(handler),
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
  else console.log(`${options.name} listening on ${served.url}`);
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

  const fork = (): void => {
    const worker = cluster.fork();
    worker.on("message", (m: Tagged) => {
      if (m?.tag === RELAY) {
        for (const w of workers()) sendToWorker(w, m);
      } else if (m?.tag === LISTENING && !printed && ++listening === want) {
        printed = true;
        console.log(`${options.name} listening on ${m.url} (${want} workers)`);
        resolveReady();
      } else if (m?.tag === FAILED) {
        rejectReady(new Error(String(m.message)));
      }
    });
    worker.on("exit", (code, signal) => {
      if (stopping) return;
      if (!printed) {
        rejectReady(new Error(`a worker exited during start (${code ?? signal})`));
        return;
      }
      console.error(`${options.name}: worker ${worker.id} died (${code ?? signal}); starting another`);
      fork();
    });
  };
  for (let i = 0; i < want; i++) fork();

  const stop = (): void => {
    if (stopping) return;
    stopping = true;
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
    setTimeout(() => {
      for (const w of alive) if (!w.isDead()) w.kill("SIGKILL");
      process.exit(1);
    }, STOP_TIMEOUT + 2000).unref();
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);

  try {
    await ready;
  } catch (err) {
    stopping = true;
    for (const w of workers()) w.kill("SIGKILL");
    throw err;
  }
}
