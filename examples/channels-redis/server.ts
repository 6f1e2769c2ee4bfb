/**
 * ActionCable-style channels across processes: run this server twice (two ports) against one
 * Redis; a client of either server posting to a room reaches the subscribers of both, and so
 * does a broadcast from a process with no sockets at all (broadcast.ts). Rails' @rails/actioncable
 * client works unchanged (see client.ts and the README).
 * Run: redis-server &   then, in two terminals:
 *      npx tsx examples/channels-redis/server.ts --port 8088 --redis redis://127.0.0.1:6379
 *      npx tsx examples/channels-redis/server.ts --port 8089 --redis redis://127.0.0.1:6379
 */

import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { CableServer, Channel, RedisBroker } from "../../src/channels/index.js";

/** One stream per room; `post` broadcasts to every subscriber, on every server. */
export class RoomChannel extends Channel<unknown, { room: string }> {
  static override params = (params: Record<string, unknown>) =>
    typeof params.room === "string" && /^[\w-]{1,32}$/.test(params.room);

  override subscribed(): void {
    this.streamFrom(`room:${this.params.room}`);
  }

  post(data: Record<string, unknown>): Promise<void> | undefined {
    if (typeof data.text !== "string" || data.text.length > 2000) return undefined;
    return this.broadcast(`room:${this.params.room}`, { text: data.text, server: process.pid });
  }
}

export interface Started {
  cable: CableServer;
  url: string;
  close(): Promise<void>;
}

export async function start(port: number, redisUrl: string, prefix = "wirecable-example"): Promise<Started> {
  const broker = new RedisBroker({ url: redisUrl, prefix });
  const cable = new CableServer({ port, host: "127.0.0.1", channels: { RoomChannel }, broker });
  await cable.ready;
  const { port: actual } = cable.address() as { port: number };
  return {
    cable,
    url: `ws://127.0.0.1:${actual}/cable`,
    async close() {
      await cable.close();
      await broker.close();
    },
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const { values } = parseArgs({
    options: {
      port: { type: "string", default: "8088" },
      redis: { type: "string", default: "redis://127.0.0.1:6379" },
    },
  });
  const server = await start(Number(values.port), values.redis!);
  console.log(server.url);
  const stop = () => void server.close().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}
