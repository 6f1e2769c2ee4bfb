/**
 * Fan-out benchmark server process: a CableServer (memory or Redis broker) with one channel
 * streaming `bench`. IPC: {type:"burst", count, paceMs} -> broadcasts `count` messages stamped
 * with the send time, then answers {type:"burst-done"}.
 */
import { RedisBroker } from "../../src/channels/brokers/redis.js";
import { CableServer } from "../../src/channels/cable-server.js";
import { Channel } from "../../src/channels/channel.js";
import { nowMs } from "./histogram.js";

class BenchChannel extends Channel {
  override subscribed(): void {
    this.streamFrom("bench");
  }
}

const broker =
  process.env.BROKER === "redis" ? new RedisBroker({ url: process.env.REDIS_URL, prefix: "bench" }) : undefined;
const cable = new CableServer({
  port: 0,
  host: "127.0.0.1",
  channels: { BenchChannel },
  broker,
  limits: { maxSubscriptions: 10 },
});
await cable.ready;
process.send?.({ type: "ready", port: (cable.address() as { port: number }).port });

process.on("message", async (msg: { type: string; count: number; paceMs: number }) => {
  if (msg.type === "burst") {
    for (let i = 0; i < msg.count; i++) {
      const t0 = nowMs();
      await cable.broadcast("bench", { i, t: t0 });
      if (process.env.BENCH_DEBUG) console.error(`broadcast ${i}: ${(nowMs() - t0).toFixed(2)} ms in the server`);
      if (msg.paceMs > 0) await new Promise((r) => setTimeout(r, msg.paceMs));
      else if (i % 16 === 15) await new Promise((r) => setImmediate(r)); // let sockets drain
    }
    process.send?.({ type: "burst-done" });
  } else if (msg.type === "exit") {
    await cable.close();
    await broker?.close();
    process.exit(0);
  }
});
process.on("disconnect", () => process.exit(0));
