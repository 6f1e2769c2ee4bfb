import { MemoryBroker } from "../../src/channels/brokers/memory.js";
import { dedupContract, historyContract, presenceContract } from "./broker-capabilities.js";
import { brokerContract } from "./broker-contract.js";

brokerContract("memory", {
  async pair() {
    const broker = new MemoryBroker();
    return [broker, broker];
  },
});

const memory = {
  async pair(features = {}) {
    const broker = new MemoryBroker(features);
    return [broker, broker] as [MemoryBroker, MemoryBroker];
  },
};
historyContract("memory", memory);
presenceContract("memory", memory);
dedupContract("memory", memory);
