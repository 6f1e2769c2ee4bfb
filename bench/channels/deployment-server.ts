/**
 * Deployment benchmark server process: a CableServer with one channel streaming `bench`, sharing
 * the broker at BROKER_URL (createBroker), or with BROKER_URL=relay the relay through its parent
 * (ClusterBroker: what `--workers` does without a broker). IPC: {type:"burst", count, paceMs} ->
 * broadcasts `count` messages stamped with the send time, then {type:"burst-done"};
 * {type:"broker-burst", count} -> publishes `count` messages on `broker-probe` (a stream every
 * server subscribes to without any client: the broker's own cost), then {type:"broker-burst-done"};
 * {type:"probe-count"} -> {type:"probe-count", received}; {type:"exit"}.
 */
import { createBroker } from "../../src/channels/brokers/from-url.js";
import { CableServer } from "../../src/channels/cable-server.js";
import { Channel } from "../../src/channels/channel.js";
import { ClusterBroker } from "../../src/cli/demo/cluster-broker.js";
import { nowMs } from "./histogram.js";

class BenchChannel extends Channel {
  override subscribed(): void {
    this.streamFrom("bench");
  }
}

const url = process.env.BROKER_URL;
const broker = url === "relay" ? new ClusterBroker() : createBroker(url, { prefix: "bench" });
const cable = new CableServer({
  port: 0,
  host: "127.0.0.1",
  channels: { BenchChannel },
  broker,
  limits: { maxSubscriptions: 10 },
  // No WebSocket-level pings: client processes starved of CPU on this shared machine would miss
  // the pong deadline and be cut; ActionCable's own heartbeat (every 3 s) still runs.
  websocket: { pingInterval: 0 },
});
await cable.ready;
let probes = 0;
await broker.subscribe("broker-probe", () => {
  probes++;
});
process.send?.({ type: "ready", port: (cable.address() as { port: number }).port });

process.on("message", async (msg: { type: string; count: number; paceMs: number }) => {
  if (msg.type === "burst") {
    for (let i = 0; i < msg.count; i++) {
      await cable.broadcast("bench", { i, t: nowMs() });
      if (msg.paceMs > 0) await new Promise((r) => setTimeout(r, msg.paceMs));
      else if (i % 4 === 3) await new Promise((r) => setImmediate(r)); // let sockets drain
    }
    process.send?.({ type: "burst-done" });
  } else if (msg.type === "broker-burst") {
    for (let i = 0; i < msg.count; i++) await broker.publish("broker-probe", JSON.stringify({ i, t: nowMs() }));
    process.send?.({ type: "broker-burst-done" });
  } else if (msg.type === "probe-count") {
    process.send?.({ type: "probe-count", received: probes });
  } else if (msg.type === "exit") {
    await broker.close().catch(() => {});
    process.exit(0);
  }
});
process.on("disconnect", () => process.exit(0));
