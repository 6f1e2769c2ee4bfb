/**
 * Broadcasting from anywhere, including a process with no sockets at all (a worker, a script):
 * `createBroadcaster({ broker })` encodes `data` to JSON once and publishes it on the broker that
 * the cable servers share (a RedisBroker with the same url and prefix, across processes).
 */
import type { Broker } from "./brokers/broker.js";
import { broadcastingFor, channelName, type Streamable } from "./naming.js";

export interface Broadcaster {
  broadcast(stream: string, data: unknown): Promise<void>;
  /** Rails' `ChatChannel.broadcast_to(model, data)`: `broadcastTo("ChatChannel", post, data)`. */
  broadcastTo(channel: string, model: Streamable, data: unknown): Promise<void>;
  close(): Promise<void>;
}

export function createBroadcaster(options: { broker: Broker }): Broadcaster {
  const { broker } = options;
  return {
    async broadcast(stream, data) {
      const payload = JSON.stringify(data);
      if (payload === undefined) throw new TypeError("broadcast: data is not JSON-serialisable");
      await broker.publish(String(stream), payload);
    },
    broadcastTo(channel, model, data) {
      return this.broadcast(broadcastingFor(channelName(channel), model), data);
    },
    close: () => broker.close(),
  };
}
