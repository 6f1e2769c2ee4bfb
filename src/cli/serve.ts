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
 * - `--http2 [--cert F --key F]`: HTTPS on the port, HTTP/2 and HTTP/1.1 alike, and the cable over
 *   HTTP/2 streams (RFC 8441) too; without `--cert/--key` a self-signed certificate made at start
 *   (by the primary under `--workers`: every worker serves the same one). The URL is https://.
 * SIGTERM/SIGINT: graceful shutdown; clients get `server_restart` and close code 1001, and
 * reconnect (to another process if a load balancer is in front).
 */
import cluster from "node:cluster";
import { type Command, InvalidArgumentError, Option } from "commander";
import type { Logger } from "pino";
import { addListenOptions, parseBrokerUrl, parseRedisUrl } from "./options.js";
import { addHttp2Options, checkHttp2Options, type Http2Options, tlsMaterial } from "./tls.js";
import { parseWorkerCount, runServer, type Served, type ServerLog, type WorkerContext } from "./workers.js";

export interface ServeOptions extends Http2Options {
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
 * The demo server, pino, the brokers and the cluster broker load when `serve` runs, not when the
 * CLI starts: `wirecable echo` and `broadcast` are measured as servers, and V8 collects a process
 * holding every command's code far more often under large messages (bench/results/profile.md).
 */
async function demoModules() {
  // `default`: pino's module.exports (a bundle chunk of a CommonJS package has no named exports)
  const [{ default: pino }, channels, chat, clusterBroker, metrics, server] = await Promise.all([
    import("pino"),
    import("../channels/index.js"),
    import("./demo/chat-channel.js"),
    import("./demo/cluster-broker.js"),
    import("./demo/cluster-metrics.js"),
    import("./demo/server.js"),
  ]);
  return {
    pino,
    brokerKind: channels.brokerKind,
    CHAT_HISTORY: chat.CHAT_HISTORY,
    ...clusterBroker,
    ...metrics,
    startDemoServer: server.startDemoServer,
  };
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

export function registerServe(program: Command): void {
  const command = program
    .command("serve")
    .description("run the demo chat server (web page, ActionCable channels, /healthz, /metrics)");
  addListenOptions(command, 3000)
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
    );
  addHttp2Options(command)
    .addHelpText(
      "after",
      "\nExamples:\n  wirecable serve                      # http://localhost:3000\n  wirecable serve --port 0             # any free port; the URL is printed\n  wirecable serve --workers 4          # 4 processes, rooms relayed by the primary\n  wirecable serve --broker redis://127.0.0.1:6379   # rooms shared with other servers\n  wirecable serve --broker nats://127.0.0.1:4222    # ... through NATS\n  wirecable serve --broker redis+cluster://10.0.0.1:7000,10.0.0.2:7000   # ... through Redis Cluster\n  wirecable serve --http2              # https://, HTTP/2 and WebSockets over it (self-signed)\n",
    )
    .action(async (opts: ServeOptions) => {
      checkHttp2Options(opts);
      const demo = await demoModules();
      const logger = createLogger(demo, opts, cluster.isWorker ? cluster.worker?.id : undefined);
      // Made before any worker forks: the workers inherit it (see tls.ts) and serve the same one.
      const tls = opts.http2 ? tlsMaterial(opts, opts.host) : undefined;
      if (tls?.selfSigned && cluster.isPrimary) {
        logger.info("TLS with a self-signed certificate made at start (give yours with --cert/--key)");
      }
      await runServer({
        name: "wirecable serve",
        workers: opts.workers,
        readyLine: (url) => url,
        log: pinoLog(logger),
        // One scrape of /metrics reports every worker: the primary aggregates their registries.
        onFork: demo.answerMetricsRequests,
        start: (context) => startServing(demo, opts, logger, context, tls),
        // Without a shared broker the primary holds the rooms' history, presence and command ids.
        ...(sharedBroker(demo, opts) === undefined
          ? { primary: (toAll) => demo.clusterStoreHooks(new demo.ClusterStore({ history: demo.CHAT_HISTORY }), toAll) }
          : {}),
      });
    });
}

export const register = registerServe;

function createLogger({ pino }: DemoModules, opts: ServeOptions, worker?: number): Logger {
  return pino(
    { level: opts.logLevel, base: { pid: process.pid, ...(worker !== undefined ? { worker } : {}) } },
    pino.destination({ dest: 2, sync: true }),
  );
}

/** The CLI servers' reports, as pino log lines. */
function pinoLog(logger: Logger): ServerLog {
  return {
    info: (message, fields) => logger.info(fields ?? {}, message),
    warn: (message, fields) => logger.warn(fields ?? {}, message),
    error: (message, fields) => logger.error(fields ?? {}, message),
  };
}

/** The broker URL every process shares, if any (`memory` shares nothing between processes). */
function sharedBroker({ brokerKind }: DemoModules, opts: ServeOptions): string | undefined {
  const url = opts.broker ?? opts.redis;
  return url === undefined || brokerKind(url) === "memory" ? undefined : url;
}

/**
 * One server process (the only one without --workers, or a cluster worker): with a shared
 * broker the rooms go through it; else, in a cluster, through the primary (ClusterBroker).
 */
async function startServing(
  demo: DemoModules,
  opts: ServeOptions,
  logger: Logger,
  context: WorkerContext,
  tls: { cert: string; key: string } | undefined,
): Promise<Served> {
  const { startDemoServer, ClusterBroker, CHAT_HISTORY, askPrimary, reportToPrimary } = demo;
  const shared = sharedBroker(demo, opts);
  const workerId = context.worker;
  try {
    const server = await startDemoServer({
      ...(tls !== undefined ? { tls: { cert: tls.cert, key: tls.key } } : {}),
      port: opts.port,
      host: opts.host,
      ...(shared !== undefined ? { brokerUrl: shared } : {}),
      ...(context.relay !== undefined && shared === undefined
        ? { broker: new ClusterBroker(context, { history: CHAT_HISTORY }) }
        : {}),
      origins: opts.origin,
      logger,
      ...(workerId !== undefined ? { worker: workerId, metricsText: () => askPrimary() } : {}),
    });
    if (workerId !== undefined) reportToPrimary(server.metrics.registry);
    return { url: server.url, close: () => server.close() };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === "EADDRINUSE") throw new Error(`port ${opts.port} is already in use on ${opts.host}`);
    if (e.code === "EADDRNOTAVAIL" || e.code === "ENOTFOUND")
      throw new Error(`cannot listen on ${opts.host}: ${e.code}`);
    throw err;
  }
}
