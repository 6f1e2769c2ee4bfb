/**
 * History benchmark server process: a CableServer streaming `bench` on a memory or Redis broker,
 * with or without stream history (HISTORY=1). IPC: {type:"burst", count} -> broadcasts `count`
 * messages stamped with the send time, answers {type:"burst-done"}; {type:"cpu"} -> its own CPU
 * time so far and the commands its Redis connections sent ({type:"cpu", us, sent}: every command
 * ioredis writes is one round trip's request, a script included).
 */
import { Redis } from "ioredis";
import type { Broker } from "../../src/channels/brokers/broker.js";
import { MemoryBroker } from "../../src/channels/brokers/memory.js";
import { RedisBroker } from "../../src/channels/brokers/redis.js";
import { CableServer } from "../../src/channels/cable-server.js";
import { Channel } from "../../src/channels/channel.js";
import { nowMs } from "./histogram.js";

class BenchChannel extends Channel {
  override subscribed(): void {
    this.streamFrom("bench");
  }
}

let sent = 0;
const sendCommand = Redis.prototype.sendCommand;
Redis.prototype.sendCommand = function (this: Redis, ...args: Parameters<typeof sendCommand>) {
  sent++;
  return sendCommand.apply(this, args);
};

const history = process.env.HISTORY === "1" ? { limit: 1000 } : undefined;
const broker: Broker =
  process.env.BROKER === "redis"
    ? new RedisBroker({ url: process.env.REDIS_URL, prefix: `bench${process.pid}`, history })
    : new MemoryBroker({ history });
const cable = new CableServer({ port: 0, host: "127.0.0.1", channels: { BenchChannel }, broker });
await cable.ready;
process.send?.({ type: "ready", port: (cable.address() as { port: number }).port });

process.on("message", async (msg: { type: string; count: number }) => {
  if (msg.type === "burst") {
    // 16 broadcasts at a time, as from 16 concurrent requests (awaiting each alone would make a
    // Redis round trip per broadcast the pace, and each broadcast its own turn of socket writes).
    for (let i = 0; i < msg.count; i += 16) {
      const batch = [];
      for (let j = i; j < Math.min(i + 16, msg.count); j++) batch.push(cable.broadcast("bench", { i: j, t: nowMs() }));
      await Promise.all(batch);
      await new Promise((r) => setImmediate(r)); // let sockets drain
    }
    process.send?.({ type: "burst-done" });
  } else if (msg.type === "cpu") {
    const { user, system } = process.cpuUsage();
    process.send?.({ type: "cpu", us: user + system, sent });
  } else if (msg.type === "exit") {
    await cable.close();
    await broker.close();
    process.exit(0);
  }
});
process.on("disconnect", () => process.exit(0));
