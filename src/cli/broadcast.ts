/**
 * `wirecable broadcast --port P [--host H] [--workers N]`: every message a client sends goes to
 * every connected client (framed once per message), the sender included. Prints the URL it
 * listens on.
 *
 * With `--workers N` (N > 1) the workers share the port and a message received by any worker
 * is relayed through the primary (node:cluster IPC) to every worker, which sends it to its own
 * clients: every client gets every message exactly once, in the same order on every worker.
 * With `--broker URL` (redis://, redis+cluster://, nats://, postgres://; `--redis URL` is the
 * same for a redis:// URL) every process (each worker, or the only one) publishes to and
 * subscribes from one stream of that broker instead (local delivery first, its own echo dropped),
 * so separate processes and machines share the broadcast; text is sent as `t<text>`, binary as
 * `b<base64>`. Pub/sub keeps no backlog: messages published while a subscriber is disconnected
 * are lost for its clients.
 */
import { type Command, Option } from "commander";
import type { Broker } from "../channels/index.js";
import { WebSocketServer } from "../node/index.js";
import { addLegacyDraftsOption, addListenOptions, parseBrokerUrl, parseRedisUrl } from "./options.js";
import { CLOSE_TIMEOUT, parseWorkerCount, runServer } from "./workers.js";

interface BroadcastOptions {
  port: number;
  host: string;
  workers: number;
  broker?: string;
  redis?: string;
  legacyDrafts: boolean;
}

interface Relayed {
  data: string | Uint8Array;
  binary: boolean;
}

const STREAM = "wirecable:broadcast";

function encode(data: string | Uint8Array, binary: boolean): string {
  return binary ? `b${Buffer.from(data as Uint8Array).toString("base64")}` : `t${String(data)}`;
}

function decode(payload: string): Relayed {
  return payload[0] === "b"
    ? { data: Buffer.from(payload.slice(1), "base64"), binary: true }
    : { data: payload.slice(1), binary: false };
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
  const command = program.command("broadcast").description("run a broadcast server");
  addListenOptions(command, "required");
  addLegacyDraftsOption(command)
    .option("-w, --workers <n>", "worker processes (node:cluster) sharing the port", parseWorkerCount, 1)
    .option("--broker <url>", "share the broadcast with every process using this broker", parseBrokerUrl)
    .addOption(
      new Option("--redis <url>", "the same as --broker with a redis:// URL")
        .argParser(parseRedisUrl)
        .conflicts("broker"),
    )
    .action(async (opts: BroadcastOptions) => {
      const brokerUrl = opts.broker ?? opts.redis;
      // The brokers load only when one is asked for (the plain server carries no more code than it runs).
      const channels = brokerUrl === undefined ? undefined : await import("../channels/index.js");
      const shared = channels !== undefined && channels.brokerKind(brokerUrl!) !== "memory" ? brokerUrl : undefined;
      await runServer({
        name: "broadcast server",
        workers: opts.workers,
        start: async ({ worker, relay, onRelay }) => {
          const wss = new WebSocketServer({
            port: opts.port,
            host: opts.host,
            backpressure: "drop",
            legacyDrafts: opts.legacyDrafts,
            ...(worker !== undefined ? { headers: { "X-Wirecable-Worker": String(worker) } } : {}),
          });
          const local = (data: string | Uint8Array, binary: boolean): void => {
            wss.broadcast(data, { binary });
          };
          let send: (data: string | Uint8Array, binary: boolean) => void = local;
          let broker: Broker | undefined;
          if (shared !== undefined && channels !== undefined) {
            const b = channels.createBroker(shared, { connectTimeout: 3000 });
            broker = b;
            try {
              await b.subscribe(STREAM, (payload) => {
                const m = decode(payload);
                local(m.data, m.binary);
              });
              // Fail fast when the broker cannot be reached at start (subscribe waits for it; publish does not).
              await b.publish(`${STREAM}:probe`, "");
            } catch (err) {
              await b.close();
              wss.close({ timeout: 0 }).catch(() => {});
              throw new Error(`cannot use the broker at ${shared}: ${err instanceof Error ? err.message : err}`);
            }
            send = (data, binary) => void b.publish(STREAM, encode(data, binary)).catch(() => {});
          } else if (relay !== undefined) {
            onRelay((m) => {
              if (isRelayed(m)) local(m.data, m.binary);
            });
            // A message the primary cannot take (it is stopping) is lost, as with a broker.
            send = (data, binary) => void relay({ data, binary } satisfies Relayed).catch(() => {});
          }
          wss.on("connection", (conn) => {
            conn.on("message", (data: string | Buffer, isBinary: boolean) => send(data, isBinary));
          });
          await wss.ready;
          return {
            url: wss.url!,
            close: async () => {
              await wss.close({ timeout: CLOSE_TIMEOUT });
              await broker?.close();
            },
          };
        },
      });
    });
}
