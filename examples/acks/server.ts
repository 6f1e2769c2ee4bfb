/**
 * Receiver of examples/acks: acknowledges every data message, processes each id once.
 * `lose` simulates messages lost on the way (dropped before processing, never acknowledged),
 * to watch the sender retry.
 * Run: npx tsx examples/acks/server.ts [port]    then: npx tsx examples/acks/client.ts
 */
import { pathToFileURL } from "node:url";
import { type Connection, WebSocketServer } from "../../src/node/index.js";
import { ReliableReceiver } from "./reliable.js";

export interface AckServerOptions {
  port?: number;
  host?: string;
  /** Return true to lose the n-th data message received (1-based), for demonstrations and tests. */
  lose?: (n: number) => boolean;
  onMessage?: (payload: unknown, id: number) => void;
}

export async function start(options: AckServerOptions = {}): Promise<WebSocketServer> {
  const wss = new WebSocketServer({ port: options.port ?? 8086, host: options.host ?? "127.0.0.1" });
  let received = 0;
  wss.on("connection", (conn: Connection) => {
    const receiver = new ReliableReceiver((payload, id) => options.onMessage?.(payload, id));
    conn.on("message", (data: string | Buffer) => {
      if (options.lose?.(++received)) return;
      const ack = receiver.handle(String(data));
      if (ack !== null) conn.send(ack);
    });
  });
  await wss.ready;
  return wss;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  // Loses every third message so the retries show.
  const wss = await start({
    port: Number(process.argv[2] ?? 8086),
    lose: (n) => n % 3 === 0,
    onMessage: (payload, id) => console.log(`processed #${id}: ${JSON.stringify(payload)}`),
  });
  console.log(`ack server on ${wss.url} (losing every third message)`);
  process.once("SIGINT", () => void wss.close().then(() => process.exit(0)));
}
