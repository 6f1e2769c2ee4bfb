/**
 * A channels client in Node: wirecable/client's ActionCable consumer (the same API as
 * @rails/actioncable, which works too). Subscribes to a room, prints what arrives, posts each
 * line typed on stdin.
 * Run: npx tsx examples/channels-redis/client.ts ws://127.0.0.1:8088/cable [room]
 */
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";
import { createConsumer, type Subscription, type WebSocketConstructorLike } from "../../src/client/index.js";
import { WebSocket } from "../../src/node/index.js";

export function joinRoom(
  url: string,
  room: string,
  onMessage: (data: { text: string; server: unknown }) => void,
  WebSocketImpl: WebSocketConstructorLike = WebSocket as unknown as WebSocketConstructorLike,
): { subscription: Subscription; connected: Promise<void>; leave(): void } {
  const consumer = createConsumer(url, { WebSocket: WebSocketImpl });
  let ready!: () => void;
  const connected = new Promise<void>((resolve) => (ready = resolve));
  const subscription = consumer.subscriptions.create(
    { channel: "RoomChannel", room },
    {
      connected: () => ready(),
      received: (data: unknown) => onMessage(data as { text: string; server: unknown }),
    },
  );
  return { subscription, connected, leave: () => consumer.disconnect() };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const url = process.argv[2] ?? "ws://127.0.0.1:8088/cable";
  const room = process.argv[3] ?? "general";
  const { subscription, connected, leave } = joinRoom(url, room, (m) => console.log(`[${m.server}] ${m.text}`));
  await connected;
  console.log(`in room ${room}; type to post`);
  const rl = createInterface({ input: process.stdin });
  rl.on("line", (text) => subscription.perform("post", { text }));
  rl.on("close", leave);
}
