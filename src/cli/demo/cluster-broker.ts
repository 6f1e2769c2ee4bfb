/**
 * A broker for `wirecable serve --workers N` without Redis: the workers of one node:cluster
 * share rooms through the primary, which relays every publish to every worker (the publisher
 * included) over the cluster IPC channel (the relay of workers.ts).
 *
 * Contract (the Broker contract of src/channels/brokers/broker.ts, for one machine):
 * - `publish` resolves once the message is handed to IPC; delivery order is the primary's
 *   receive order, the same in every worker, so per-publisher order is kept.
 * - Exact stream names only. Handlers that throw are reported as `error` and do not stop others.
 * - Nothing is kept while the primary is gone (it only goes when the whole server stops).
 * It is the in-process alternative to `--redis`; Redis is still what spans several machines.
 */
import { EventEmitter } from "node:events";
import type { Broker, BrokerHandler, Unsubscribe } from "../../channels/index.js";
import type { WorkerContext } from "../workers.js";

interface RelayMessage {
  stream: string;
  payload: string;
}

function isRelay(message: unknown): message is RelayMessage {
  const m = message as Partial<RelayMessage> | null;
  return typeof m === "object" && m !== null && typeof m.stream === "string" && typeof m.payload === "string";
}

/** In a worker: a Broker whose messages go through the primary. */
export class ClusterBroker extends EventEmitter implements Broker {
  readonly #handlers = new Map<string, Set<BrokerHandler>>();
  readonly #relay: (message: unknown) => Promise<void>;
  readonly #onMessage = (message: unknown): void => {
    if (this.#closed || !isRelay(message)) return;
    const set = this.#handlers.get(message.stream);
    if (set === undefined) return;
    for (const handler of [...set]) {
      try {
        handler(message.payload);
      } catch (err) {
        this.emit("error", err instanceof Error ? err : new Error(String(err)));
      }
    }
  };
  #closed = false;
  lostCount = 0;

  /** `worker`: the relay of a cluster worker's context (runServer). */
  constructor(worker: Pick<WorkerContext, "relay" | "onRelay">) {
    super();
    this.on("error", () => {}); // default listener: an unheard broker error never crashes
    if (worker.relay === undefined) throw new Error("ClusterBroker needs a cluster worker (a relay)");
    this.#relay = worker.relay;
    worker.onRelay(this.#onMessage);
  }

  publish(stream: string, payload: string): Promise<void> {
    if (this.#closed) return Promise.reject(new Error("broker is closed"));
    const message: RelayMessage = { stream, payload };
    return this.#relay(message).catch((err: Error) => {
      this.lostCount++;
      this.emit("lost", { stream, payload, reason: err.message });
      throw err;
    });
  }

  async subscribe(stream: string, handler: BrokerHandler): Promise<Unsubscribe> {
    if (this.#closed) throw new Error("broker is closed");
    const own: BrokerHandler = (payload) => handler(payload);
    let set = this.#handlers.get(stream);
    if (set === undefined) this.#handlers.set(stream, (set = new Set()));
    set.add(own);
    return async () => {
      const current = this.#handlers.get(stream);
      current?.delete(own);
      if (current?.size === 0) this.#handlers.delete(stream);
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#handlers.clear();
  }
}
