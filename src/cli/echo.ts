/**
 * `wirecable echo --port P [--host H] [--deflate] [--workers N] [--max-payload B]
 * [--max-fragments N]`: an echo server (each message is sent back as received, text as text,
 * binary as binary). Prints the URL it listens on.
 *
 * Limits default to what the Autobahn TestSuite sends (this is the conformance-oriented server):
 * 16 MiB messages (case 9.1.6) of up to 65,536 fragments (cases 9.3.x/9.4.x); the library's own
 * defaults are 64 MiB and 4,096 fragments. With `--workers N` (N > 1) every 101 response carries
 * `X-Wirecable-Worker: <worker id>`, so a client can tell which process serves it.
 */
import { type Command, InvalidArgumentError } from "commander";
import { WebSocketServer } from "../node/index.js";
import { CLOSE_TIMEOUT, parseWorkerCount, runServer } from "./workers.js";

/** Autobahn's largest message (case 9.1.6, 16 MiB) and most fragments (9.3.x/9.4.x, 65,536). */
export const AUTOBAHN_MAX_PAYLOAD = 16 * 1024 * 1024;
export const AUTOBAHN_MAX_FRAGMENTS = 65536;

const LIMITS_HELP = `
Limits (0 disables one): --max-payload takes bytes, or a number with K/KiB or M/MiB
(e.g. 64KiB, 16MiB); --max-fragments is the number of frames one message may span.`;

export interface EchoOptions {
  port: number;
  host: string;
  deflate: boolean;
  workers: number;
  maxPayload: number;
  maxFragments: number;
}

export function register(program: Command): void {
  program
    .command("echo")
    .description("run an echo server")
    .requiredOption("-p, --port <port>", "port to listen on (0: any free port)", parsePort)
    .option("-H, --host <host>", "address to bind", "127.0.0.1")
    .option("--deflate", "offer permessage-deflate", false)
    .option("-w, --workers <n>", "worker processes (node:cluster) sharing the port", parseWorkerCount, 1)
    .option(
      "--max-payload <bytes>",
      "largest message accepted (Autobahn's: 16 MiB)",
      parseByteSize,
      AUTOBAHN_MAX_PAYLOAD,
    )
    .option(
      "--max-fragments <n>",
      "most frames in one message (Autobahn's: 65536; library default 4096)",
      parseFragmentCount,
      AUTOBAHN_MAX_FRAGMENTS,
    )
    .addHelpText("after", LIMITS_HELP)
    .action(async (opts: EchoOptions) => {
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

// Option parsers shared by the CLI commands: each throws commander's InvalidArgumentError with
// a clear message, so a bad value exits non-zero before anything starts.

export function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidArgumentError(`expected a port number 0-65535, got "${value}"`);
  }
  return port;
}

export function parseWsUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError(`expected a ws:// or wss:// URL, got "${value}"`);
  }
  if (url.protocol !== "ws:" && url.protocol !== "wss:") {
    throw new InvalidArgumentError(`expected a ws:// or wss:// URL, got "${value}"`);
  }
  return url.href.replace(/\/$/, "");
}

export function parseName(value: string): string {
  if (!/^[\w.-]{1,64}$/.test(value))
    throw new InvalidArgumentError(`expected a name of letters, digits, ".", "-", "_"`);
  return value;
}

const MAX_BYTE_SIZE = 2 ** 40;

/** Bytes: `1048576`, `64KiB`, `64K`, `16MiB`, `16M` (binary units); 0 disables the limit. */
export function parseByteSize(value: string): number {
  const m = /^(\d+)\s*(|k|kib|m|mib)$/i.exec(value.trim());
  const n = m
    ? Number(m[1]) *
      ({ "": 1, k: 1024, kib: 1024, m: 1024 ** 2, mib: 1024 ** 2 } as Record<string, number>)[m[2]!.toLowerCase()]!
    : NaN;
  if (!Number.isSafeInteger(n) || n > MAX_BYTE_SIZE) {
    throw new InvalidArgumentError(
      `expected a size in bytes such as 1048576, 64KiB or 16MiB (0: no limit), got "${value}"`,
    );
  }
  return n;
}

/** A fragment count: a non-negative integer (0 disables the limit). */
export function parseFragmentCount(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) {
    throw new InvalidArgumentError(`expected a number of fragments (0: no limit), got "${value}"`);
  }
  return n;
}
