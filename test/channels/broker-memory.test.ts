import { MemoryBroker } from "../../src/channels/brokers/memory.js";
import { brokerContract } from "./broker-contract.js";

brokerContract("memory", {
  async pair() {
    const broker = new MemoryBroker();
    return [broker, broker];
  },
});
