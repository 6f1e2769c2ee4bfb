/**
 * `wirecable echo --port P [--host H] [--deflate] [--workers N] [--max-payload B]
 * [--max-fragments N]`: an echo server (each message is sent back as received, text as text,
 * binary as binary). Prints the URL it listens on.
 *
 * Limits default to accept everything the Autobahn TestSuite sends (this is the conformance-oriented
 * server): 16 MiB messages (case 9.1.6) of up to 65,537 frames (9.3.1/9.4.1); the
 * library's own defaults are 64 MiB and 4,096 frames. With `--workers N` (N > 1) every 101 response carries
 * `X-Wirecable-Worker: <worker id>`, so a client can tell which process serves it.
 */
import type { Command } from "commander";
import { WebSocketServer } from "../node/index.js";
import { addLimitOptions, parsePort } from "./options.js";
import { CLOSE_TIMEOUT, parseWorkerCount, runServer } from "./workers.js";

export interface EchoOptions {
  port: number;
  host: string;
  deflate: boolean;
  workers: number;
  maxPayload: number;
  maxFragments: number;
}

export function register(program: Command): void {
  const command = program
    .command("echo")
    .description("run an echo server")
    .requiredOption("-p, --port <port>", "port to listen on (0: any free port)", parsePort)
    .option("-H, --host <host>", "address to bind", "127.0.0.1")
    .option("--deflate", "offer permessage-deflate", false)
    .option("-w, --workers <n>", "worker processes (node:cluster) sharing the port", parseWorkerCount, 1);
  addLimitOptions(command).action(async (opts: EchoOptions) => {
    await runServer({
      name: "echo server",
      workers: opts.workers,
      start: async ({ worker }) => {
        const wss = new WebSocketServer({
          port: opts.port,
          host: opts.host,
          perMessageDeflate: opts.deflate,
          maxPayload: opts.maxPayload,
          maxFragments: opts.maxFragments,
          ...(worker !== undefined ? { headers: { "X-Wirecable-Worker": String(worker) } } : {}),
        });
        wss.on("connection", (conn) => {
          conn.on("message", (data: string | Buffer, isBinary: boolean) => {
            conn.send(data, { binary: isBinary });
          });
        });
        await wss.ready;
        return { url: wss.url!, close: () => wss.close({ timeout: CLOSE_TIMEOUT }) };
      },
    });
  });
}
