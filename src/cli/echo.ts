/**
 * `wirecable echo --port P [--host H] [--deflate]`: an echo server (each message is sent back
 * as received, text as text, binary as binary). Prints the URL it listens on.
 */
import { type Command, InvalidArgumentError } from "commander";
import { WebSocketServer } from "../node/index.js";

export function register(program: Command): void {
  program
    .command("echo")
    .description("run an echo server")
    .requiredOption("-p, --port <port>", "port to listen on (0: any free port)", parsePort)
    .option("-H, --host <host>", "address to bind", "127.0.0.1")
    .option("--deflate", "offer permessage-deflate", false)
    .action(async (opts: { port: number; host: string; deflate: boolean }) => {
      const wss = new WebSocketServer({
        port: opts.port,
        host: opts.host,
        perMessageDeflate: opts.deflate,
        maxPayload: 0,
      });
      wss.on("connection", (conn) => {
        conn.on("message", (data: string | Buffer, isBinary: boolean) => {
          conn.send(data, { binary: isBinary });
        });
      });
      await wss.ready;
      console.log(`echo server listening on ${wss.url}`);
      const stop = (): void => {
        void wss.close().then(() => process.exit(0));
      };
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
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
