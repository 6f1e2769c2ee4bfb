/**
 * In-process broker (the default): delivers synchronously to the handlers of exactly the
 * published stream. Share one instance between several CableServers of the same process, or
 * with `createBroadcaster`, to reach them all. Nothing is ever lost while it is open.
 */
import { BaseBroker, type Broker, type BrokerHandler, type Unsubscribe } from "./broker.js";

export class MemoryBroker extends BaseBroker implements Broker {
  async publish(stream: string, payload: string): Promise<void> {
    this.assertOpen();
    this.dispatch(stream, payload);
  }

  async subscribe(stream: string, handler: BrokerHandler): Promise<Unsubscribe> {
    this.assertOpen();
    const own = (payload: string) => handler(payload); // distinct per call: unsubscribe removes only this one
    this.addHandler(stream, own);
    return async () => {
      this.removeHandler(stream, own);
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.handlers.clear();
  }
}
