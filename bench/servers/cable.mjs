// Peer server: wirecable's CableServer (the ActionCable protocol) from the built dist/, for the
// channels broadcast beside the raw one (workload broadcast-10k). One channel, BenchChannel:
// subscribing streams "bench"; its `publish` action broadcasts the action's data on "bench", so
// every subscriber (the publisher too: its copy is its ack) gets
// `{"identifier":…,"message":{"action":"publish",…}}` framed once for all of them.
// The cable's 3 s heartbeat is off: the load generator counts every text frame as a delivery.
import { MAX_PAYLOAD, serve } from "./common.mjs";

// WIRECABLE_DIST points at another build (see wirecable.mjs).
const dist = process.env.WIRECABLE_DIST
  ? new URL(`file://${process.env.WIRECABLE_DIST}/channels/index.js`)
  : new URL("../../dist/channels/index.js", import.meta.url);
const { CableServer, Channel } = await import(dist.href);

class BenchChannel extends Channel {
  subscribed() {
    this.streamFrom("bench");
  }

  publish(data) {
    return this.broadcast("bench", data);
  }
}

serve(async ({ host }) => {
  const cable = new CableServer({
    host,
    port: 0,
    channels: { BenchChannel },
    pingInterval: 0,
    limits: { maxCommandSize: MAX_PAYLOAD },
    websocket: { pingInterval: 0, idleTimeout: 0 },
  });
  await cable.ready;
  return cable.address().port;
});
