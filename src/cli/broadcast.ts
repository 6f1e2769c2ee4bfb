/**
 * `wirecable broadcast --port P [--host H] [--workers N]`: every message a client sends goes to
 * every connected client (framed once per message), the sender included. Prints the URL it
 * listens on.
 *
 * With `--workers N` (N > 1) the workers share the port and a message received by any worker
 * is relayed through the primary (node:cluster IPC) to every worker, which sends it to its own
 * clients: every client gets every message exactly once, in the same order on every worker.
 */
import type { Command } from "commander";
import { WebSocketServer } from "../node/index.js";
import { parsePort } from "./echo.js";
import { CLOSE_TIMEOUT, parseWorkerCount, runServer } from "./workers.js";

interface Relayed {
  data: string | Uint8Array;
  binary: boolean;
}

function isRelayed(m: unknown): m is Relayed {
  const r = m as Partial<Relayed> | null;
  return (
    typeof r === "object" &&
    r !== null &&
    typeof r.binary === "boolean" &&
    (typeof r.data === "string" || r.data instanceof Uint8Array)
  );
}

export function register(program: Command): void {
  program
    .command("broadcast")
    .description("run a broadcast server")
    .requiredOption("-p, --port <port>", "port to listen on (0: any free port)", parsePort)
    .option("-H, --host <host>", "address to bind", "127.0.0.1")
    .option("-w, --workers <n>", "worker processes (node:cluster) sharing the port", parseWorkerCount, 1)
    .action(async (opts: { port: number; host: string; workers: number }) => {
      await runServer({
        name: "broadcast server",
        workers: opts.workers,
        start: async ({ worker, relay, onRelay }) => {
          const wss = new WebSocketServer({
            port: opts.port,
            host: opts.host,
            backpressure: "drop",
            ...(worker !== undefined ? { headers: { "X-Wirecable-Worker": String(worker) } } : {}),
          });
          const local = (data: string | Uint8Array, binary: boolean): void => {
            wss.broadcast(data, { binary });
          };
          onRelay((m) => {
            if (isRelayed(m)) local(m.data, m.binary);
          });
          wss.on("connection", (conn) => {
            conn.on("message", (data: string | Buffer, isBinary: boolean) => {
              if (relay === undefined) local(data, isBinary);
              else relay({ data, binary: isBinary } satisfies Relayed);
            });
          });
          await wss.ready;
          return { url: wss.url!, close: () => wss.close({ timeout: CLOSE_TIMEOUT }) };
        },
      });
    });
}
