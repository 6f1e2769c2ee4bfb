// Presence over a broker's plain publish/subscribe (src/channels/brokers/pubsub-presence.ts),
// the default for brokers whose store has none: the presence contract, with two "processes"
// sharing an in-memory broker and two NATS connections sharing a real nats-server.
import { after, before } from "node:test";
import type { Broker } from "../../src/channels/brokers/broker.js";
import { MemoryBroker } from "../../src/channels/brokers/memory.js";
import { NatsBroker } from "../../src/channels/brokers/nats.js";
import { PubSubPresence } from "../../src/channels/brokers/pubsub-presence.js";
import { type NatsProcess, startNats } from "../helpers/nats.js";
import { presenceContract } from "./broker-capabilities.js";
import type { BrokerFeatures } from "./broker-contract.js";

/** A broker whose presence is a PubSubPresence over `inner` (as CableCore gives one without). */
function withPubSubPresence(inner: Broker, features: BrokerFeatures): Broker {
  const presence = new PubSubPresence(inner, features.presence);
  return new Proxy(inner, {
    get(target, key, receiver) {
      if (key === "presence") return presence;
      if (key === "close") return async () => presence.close();
      return Reflect.get(target, key, receiver);
    },
  });
}

const crash = async (broker: Broker) => (broker.presence as PubSubPresence).abandon();

presenceContract("pub/sub presence over the in-memory broker", {
  async pair(features: BrokerFeatures = {}) {
    const shared = new MemoryBroker();
    return [withPubSubPresence(shared, features), withPubSubPresence(shared, features)];
  },
  crash,
  eventualPresence: true,
});

let nats: NatsProcess;
before(async () => {
  nats = await startNats();
});
after(async () => {
  await nats?.stop();
});

let prefixes = 0;
const opened: Broker[] = [];
after(async () => {
  await Promise.all(opened.map((b) => b.close()));
});
presenceContract("pub/sub presence over NATS", {
  async pair(features: BrokerFeatures = {}) {
    const prefix = `pp${++prefixes}`;
    const a = new NatsBroker({ url: nats.url, prefix });
    const b = new NatsBroker({ url: nats.url, prefix });
    opened.push(a, b);
    return [withPubSubPresence(a, features), withPubSubPresence(b, features)];
  },
  crash,
  eventualPresence: true,
});
