/**
 * `wirecable serve`: the demo chat server (page, cable, /healthz, /metrics). Prints its URL on
 * stdout (`http://localhost:3000`); structured logs (pino, JSON) go to stderr.
 *
 * Scaling (docs/demo.md, docs/scaling.md):
 * - `--broker URL` (redis://, redis+cluster://, nats://, postgres://; `--redis URL` is the same
 *   for a redis:// URL): rooms are shared by every process and machine using the same broker.
 * - `--workers N` (node:cluster, N > 1): the workers share the port; without a broker they share
 *   rooms through the primary, which relays every broadcast to every worker (ClusterBroker);
 *   with one they use it like any other process.
 * SIGTERM/SIGINT: graceful shutdown; clients get `server_restart` and close code 1001, and
 * reconnect (to another process if a load balancer is in front).
 */
import cluster, { type Worker } from "node:cluster";
import { type Command, InvalidArgumentError, Option } from "commander";
import type { Logger } from "pino";
import type { DemoServer } from "./demo/server.js";
import { parseBrokerUrl, parsePort, parseRedisUrl } from "./options.js";
import { parseWorkerCount, sendToWorker } from "./workers.js";

export interface ServeOptions {
  port: number;
  host: string;
  broker?: string;
  /** `--redis`: the same as `--broker` with a redis:// URL. */
  redis?: string;
  workers: number;
  origin: string[];
  logLevel: string;
}

const LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

export { parseRedisUrl };

/**
 * The demo server, pino, the brokers and the cluster relay load when `serve` runs, not when the
 * CLI starts: `wirecable echo` and `broadcast` are measured as servers, and V8 collects a process
 * holding every command's code far more often under large messages (bench/results/profile.md).
 */
async function demoModules() {
  const [{ pino }, channels, cluster, server] = await Promise.all([
    import("pino"),
    import("../channels/index.js"),
    import("./demo/cluster-broker.js"),
    import("./demo/server.js"),
  ]);
  return { pino, brokerKind: channels.brokerKind, ...cluster, startDemoServer: server.startDemoServer };
}
type DemoModules = Awaited<ReturnType<typeof demoModules>>;

/** `--workers`: the same rule (1-256) as the echo and broadcast servers. */
export const parseWorkers = parseWorkerCount;

export function parseOrigin(value: string, previous: string[] = []): string[] {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError(`expected an origin such as https://chat.example.com, got "${value}"`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new InvalidArgumentError(`expected an http:// or https:// origin, got "${value}"`);
  }
  return [...previous, url.origin];
}

function parseHost(value: string): string {
  if (value.trim() === "" || /[\s/]/.test(value))
    throw new InvalidArgumentError(`expected a host name or address, got "${value}"`);
  return value;
}

export function registerServe(program: Command): void {
  program
    .command("serve")
    .description("run the demo chat server (web page, ActionCable channels, /healthz, /metrics)")
    .option("-p, --port <port>", "port to listen on (0: any free port)", parsePort, 3000)
    .option("-H, --host <host>", "address to bind (0.0.0.0 or :: to serve other machines)", parseHost, "127.0.0.1")
    .option(
      "--broker <url>",
      "share rooms through a broker: redis://…, redis+cluster://h:p,h:p, nats://…, postgres://… (default: memory)",
      parseBrokerUrl,
    )
    .addOption(
      new Option("--redis <url>", "the same as --broker with a redis:// URL")
        .argParser(parseRedisUrl)
        .conflicts("broker"),
    )
    .option("-w, --workers <n>", "worker processes (node:cluster) sharing the port", parseWorkers, 1)
    .option("--origin <origin>", "also allow browsers from this origin (repeatable)", parseOrigin, [])
    .addOption(
      new Option("--log-level <level>", "log level (logs are JSON lines on stderr)").choices(LEVELS).default("info"),
    )
    .addHelpText(
      "after",
      "\nExamples:\n  wirecable serve                      # http://localhost:3000\n  wirecable serve --port 0             # any free port; the URL is printed\n  wirecable serve --workers 4          # 4 processes, rooms relayed by the primary\n  wirecable serve --broker redis://127.0.0.1:6379   # rooms shared with other servers\n  wirecable serve --broker nats://127.0.0.1:4222    # ... through NATS\n  wirecable serve --broker redis+cluster://10.0.0.1:7000,10.0.0.2:7000   # ... through Redis Cluster\n",
    )
    .action(async (opts: ServeOptions) => {
      if (opts.workers > 1 && cluster.isPrimary) await runPrimary(opts);
      else await runWorker(opts);
    });
}

export const register = registerServe;

function createLogger({ pino }: DemoModules, opts: ServeOptions, worker?: number): Logger {
  return pino(
    { level: opts.logLevel, base: { pid: process.pid, ...(worker !== undefined ? { worker } : {}) } },
    pino.destination({ dest: 2, sync: true }),
  );
}

/** One server process (the only one without --workers, or a cluster worker). */
/** The broker URL every process shares, if any (`memory` shares nothing between processes). */
function sharedBroker({ brokerKind }: DemoModules, opts: ServeOptions): string | undefined {
  const url = opts.broker ?? opts.redis;
  return url === undefined || brokerKind(url) === "memory" ? undefined : url;
}

async function runWorker(opts: ServeOptions): Promise<DemoServer> {
  const workerId = cluster.isWorker ? cluster.worker?.id : undefined;
  const demo = await demoModules();
  const { startDemoServer, ClusterBroker } = demo;
  const shared = sharedBroker(demo, opts);
  const logger = createLogger(demo, opts, workerId);
  let server: DemoServer | undefined;
  let stopping = false;
  // Listen for the stop request first: a worker still starting when the primary stops must stop too.
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "stopping");
    if (server === undefined) process.exit(0); // nothing served yet
    // Bounded: clients get 2 s to finish their closing handshakes; anything beyond 8 s is a bug.
    setTimeout(() => {
      logger.error("graceful shutdown did not finish within 8 s");
      process.exit(1);
    }, 8000).unref();
    void server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));
  process.on("message", (message: unknown) => {
    if ((message as { tag?: string } | null)?.tag === "wirecable-shutdown") stop("primary");
  });
  try {
    server = await startDemoServer({
      port: opts.port,
      host: opts.host,
      ...(shared !== undefined ? { brokerUrl: shared } : {}),
      ...(workerId !== undefined && shared === undefined ? { broker: new ClusterBroker() } : {}),
      origins: opts.origin,
      logger,
      ...(workerId !== undefined ? { metricLabels: { worker: String(workerId) } } : {}),
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const message =
      e.code === "EADDRINUSE"
        ? `port ${opts.port} is already in use on ${opts.host}`
        : e.code === "EADDRNOTAVAIL" || e.code === "ENOTFOUND"
          ? `cannot listen on ${opts.host}: ${e.code}`
          : `could not start: ${e.message}`;
    if (cluster.isWorker) process.send?.({ tag: "wirecable-failed", message });
    throw new Error(message);
  }
  if (stopping) {
    // Asked to stop while starting: close what just started.
    void server.close().then(() => process.exit(0));
    return server;
  }
  if (cluster.isWorker) process.send?.({ tag: "wirecable-listening", url: server.url });
  else console.log(server.url);
  return server;
}

/** The cluster primary: forks the workers, relays broadcasts (without Redis), restarts crashed workers. */
async function runPrimary(opts: ServeOptions): Promise<void> {
  const demo = await demoModules();
  const { brokerKind, relayBetweenWorkers } = demo;
  const logger = createLogger(demo, opts);
  const shared = sharedBroker(demo, opts);
  const want = opts.workers;
  let stopping = false;
  let printed = false;
  let listening = 0;
  const workers = (): Iterable<Worker | undefined> => Object.values(cluster.workers ?? {});
  let resolveReady!: () => void;
  let rejectReady!: (err: Error) => void;
  const ready = new Promise<void>((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });

  const fork = (): void => {
    const worker = cluster.fork();
    if (shared === undefined) relayBetweenWorkers(workers, worker);
    worker.on("message", (message: { tag?: string; url?: string; message?: string }) => {
      // Ready (and the URL printed) once every worker listens.
      if (message?.tag === "wirecable-listening" && !printed && ++listening === want) {
        printed = true;
        console.log(message.url);
        resolveReady();
      } else if (message?.tag === "wirecable-failed") {
        rejectReady(new Error(message.message));
      }
    });
    worker.on("exit", (code, signal) => {
      if (stopping) return;
      if (!printed) {
        rejectReady(new Error(`worker exited during start (code ${code ?? signal})`));
        return;
      }
      logger.warn({ worker: worker.id, code, signal }, "worker died: starting another");
      fork();
    });
  };
  logger.info(
    { workers: want, broker: shared === undefined ? "primary relay" : brokerKind(shared) },
    "starting workers",
  );
  for (let i = 0; i < want; i++) fork();

  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "stopping workers");
    const alive = [...workers()].filter((w): w is Worker => w !== undefined && !w.isDead());
    let left = alive.length;
    if (left === 0) process.exit(0);
    for (const w of alive) {
      w.once("exit", () => {
        if (--left === 0) process.exit(0);
      });
      if (!sendToWorker(w, { tag: "wirecable-shutdown" })) w.kill("SIGTERM");
    }
    // Workers that do not finish their graceful close in time (8 s each) are killed.
    setTimeout(() => {
      for (const w of alive) if (!w.isDead()) w.kill("SIGKILL");
      process.exit(1);
    }, 10_000).unref();
  };
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));

  try {
    await ready;
  } catch (err) {
    stopping = true;
    for (const w of workers()) w?.kill("SIGKILL");
    throw err;
  }
}
