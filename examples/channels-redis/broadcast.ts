/**
 * Broadcast from a process with no sockets (a job, a script, another service): publish on the
 * Redis the cable servers share, with the same prefix. Every subscriber of the room, on every
 * server, receives it.
 * Run: npx tsx examples/channels-redis/broadcast.ts ROOM "text" [redis://127.0.0.1:6379]
 */
import { pathToFileURL } from "node:url";
import { createBroadcaster, RedisBroker } from "../../src/channels/index.js";

export async function broadcast(room: string, text: string, redisUrl: string, prefix = "wirecable-example") {
  const broadcaster = createBroadcaster({ broker: new RedisBroker({ url: redisUrl, prefix }) });
  try {
    await broadcaster.broadcast(`room:${room}`, { text, server: "broadcast.ts" });
  } finally {
    await broadcaster.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const [room = "general", text = "hello from a script", url = "redis://127.0.0.1:6379"] = process.argv.slice(2);
  await broadcast(room, text, url);
  console.log(`broadcast to room:${room}`);
}
