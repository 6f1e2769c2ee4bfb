/**
 * `wirecable echo --port P [--host H] [--deflate] [--workers N] [--legacy-drafts] [--max-payload B]
 * [--max-fragments N] [--http2 [--cert F --key F]]`: an echo server (each message is sent back
 * as received, text as text, binary as binary). Prints the URL it listens on. `PORT` and `HOST`
 * stand in for --port and --host. With `--http2` it serves TLS on that port, WebSockets over
 * HTTP/2 (RFC 8441) and HTTP/1.1 alike (see tls.ts), prints a `wss://` URL, and answers other
 * requests with a line of text.
 *
 * Limits default to accept everything the Autobahn TestSuite sends (this is the conformance-oriented
 * server): 16 MiB messages (case 9.1.6) of up to 65,537 frames (9.3.1/9.4.1); the
 * library's own defaults are 64 MiB and 4,096 frames. With `--workers N` (N > 1) every 101 response carries
 * `X-Wirecable-Worker: <worker id>`, so a client can tell which process serves it.
 */
import type { Socket } from "node:net";
import type { Command } from "commander";
import { type Connection, WebSocketServer } from "../node/index.js";
import { addLegacyDraftsOption, addLimitOptions, addListenOptions } from "./options.js";
import { addHttp2Options, checkHttp2Options, createTlsServer, type Http2Options, tlsMaterial } from "./tls.js";
import { CLOSE_TIMEOUT, parseWorkerCount, runServer } from "./workers.js";

export interface EchoOptions extends Http2Options {
  port: number;
  host: string;
  deflate: boolean;
  legacyDrafts: boolean;
  workers: number;
  maxPayload: number;
  maxFragments: number;
}

export function register(program: Command): void {
  const command = program.command("echo").description("run an echo server");
  addListenOptions(command, "required")
    .option("--deflate", "offer permessage-deflate", false)
    .option("-w, --workers <n>", "worker processes (node:cluster) sharing the port", parseWorkerCount, 1);
  addHttp2Options(command);
  addLegacyDraftsOption(command);
  addLimitOptions(command).action(async (opts: EchoOptions) => {
    checkHttp2Options(opts);
    const tls = opts.http2 ? tlsMaterial(opts, opts.host) : undefined;
    if (tls?.selfSigned && !process.env.NODE_UNIQUE_ID) {
      process.stderr.write("echo: TLS with a self-signed certificate made at start (give yours with --cert/--key)\n");
    }
    await runServer({
      name: "echo server",
      workers: opts.workers,
      start: async ({ worker }) => {
        const settings = {
          perMessageDeflate: opts.deflate,
          maxPayload: opts.maxPayload,
          maxFragments: opts.maxFragments,
          legacyDrafts: opts.legacyDrafts,
          // The handler sends each message back before it returns: large ones need no buffer of their own.
          lendMessages: true,
          ...(worker !== undefined ? { headers: { "X-Wirecable-Worker": String(worker) } } : {}),
        };
        const echo = (conn: Connection): void => {
          conn.on("message", (data: string | Buffer, isBinary: boolean) => {
            conn.send(data, { binary: isBinary });
          });
        };
        if (tls !== undefined) {
          const server = createTlsServer(tls);
          // Closed at shutdown once the WebSockets are: idle HTTP/2 sessions and HTTP/1.1 sockets.
          const sockets = new Set<Socket>();
          server.on("secureConnection", (socket: Socket) => {
            sockets.add(socket);
            socket.once("close", () => sockets.delete(socket));
          });
          const wss = new WebSocketServer({ server, ...settings });
          wss.on("connection", echo);
          server.on("request", (_req, res) => {
            res.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
            res.end(`wirecable echo server: connect a WebSocket to ${wss.url} (HTTP/2 or HTTP/1.1)\n`);
          });
          await new Promise<void>((resolve, reject) => {
            server.once("error", reject);
            server.listen(opts.port, opts.host, () => {
              server.off("error", reject);
              resolve();
            });
          });
          return {
            url: wss.url!,
            close: async () => {
              await wss.close({ timeout: CLOSE_TIMEOUT });
              const closed = new Promise((resolve) => server.close(resolve));
              for (const socket of sockets) socket.destroy();
              await closed;
            },
          };
        }
        const wss = new WebSocketServer({ port: opts.port, host: opts.host, ...settings });
        wss.on("connection", echo);
        await wss.ready;
        return { url: wss.url!, close: () => wss.close({ timeout: CLOSE_TIMEOUT }) };
      },
    });
  });
}
