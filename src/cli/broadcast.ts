/**
 * `wirecable broadcast --port P [--host H]`: every message a client sends goes to every
 * connected client (framed once per message). Prints the URL it listens on.
 */
import type { Command } from "commander";
import { WebSocketServer } from "../node/index.js";
import { parsePort } from "./echo.js";

export function register(program: Command): void {
  program
    .command("broadcast")
    .description("run a broadcast server")
    .requiredOption("-p, --port <port>", "port to listen on (0: any free port)", parsePort)
    .option("-H, --host <host>", "address to bind", "127.0.0.1")
    .action(async (opts: { port: number; host: string }) => {
      const wss = new WebSocketServer({ port: opts.port, host: opts.host, backpressure: "drop" });
      wss.on("connection", (conn) => {
        conn.on("message", (data: string | Buffer, isBinary: boolean) => {
          wss.broadcast(typeof data === "string" ? data : data, { binary: isBinary });
        });
      });
      await wss.ready;
      console.log(`broadcast server listening on ${wss.url}`);
      const stop = (): void => {
        void wss.close().then(() => process.exit(0));
      };
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
}
