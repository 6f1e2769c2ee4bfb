/**
 * A reconnecting client in Node: wirecable/client's ReconnectingWebSocket over wirecable's
 * WebSocket, with jittered exponential backoff (1 s, 2 s, 4 s... capped at 30 s by default),
 * messages queued while disconnected (bounded, drop-oldest) and sent in order after the
 * reconnection, and every state change printed.
 * Run: npx tsx examples/echo/server.ts    then: npx tsx examples/reconnecting-client/client.ts
 *      (stop and restart the echo server and watch the client reconnect).
 */
import { pathToFileURL } from "node:url";
import { ReconnectingWebSocket, type WebSocketConstructorLike } from "../../src/client/index.js";
import { WebSocket } from "../../src/node/index.js";

export interface ClientOptions {
  initialDelay?: number;
  maxDelay?: number;
  log?: (line: string) => void;
  WebSocket?: WebSocketConstructorLike;
}

export function createClient(url = "ws://127.0.0.1:8080", options: ClientOptions = {}): ReconnectingWebSocket {
  const log = options.log ?? console.log;
  const client = new ReconnectingWebSocket(url, {
    WebSocket: options.WebSocket ?? (WebSocket as unknown as WebSocketConstructorLike),
    initialDelay: options.initialDelay ?? 1000, // first retry within 1 s (full jitter)...
    factor: 2, // ...then 2 s, 4 s, 8 s...
    maxDelay: options.maxDelay ?? 30_000, // ...never more than 30 s apart
    queue: { size: 100, policy: "drop-oldest" },
  });
  client.on("open", ({ attempt }) => log(`open (attempt ${attempt})`));
  client.on("reconnecting", ({ attempt, delay, close }) =>
    log(`lost (${close.code}); retry ${attempt} in ${Math.round(delay)} ms`),
  );
  client.on("message", ({ data }) => log(`message: ${String(data)}`));
  client.on("dropped", ({ messages }) => log(`dropped ${messages.length} queued message(s)`));
  client.on("closed", ({ code }) => log(`closed for good (${code})`));
  return client;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const client = createClient(process.argv[2]);
  let n = 0;
  const timer = setInterval(() => console.log(`send #${++n}: ${client.send(`ping ${n}`)}`), 2000);
  process.once("SIGINT", () => {
    clearInterval(timer);
    client.close();
  });
}
