/**
 * A broker for `wirecable serve --workers N` without Redis: the workers of one node:cluster
 * share rooms through the primary, which relays every publish to every worker (the publisher
 * included) over the cluster IPC channel.
 *
 * Contract (the Broker contract of src/channels/brokers/broker.ts, for one machine):
 * - `publish` resolves once the message is handed to IPC; delivery order is the primary's
 *   receive order, the same in every worker, so per-publisher order is kept.
 * - Exact stream names only. Handlers that throw are reported as `error` and do not stop others.
 * - Nothing is kept while the primary is gone (it only goes when the whole server stops).
 * It is the in-process alternative to `--redis`; Redis is still what spans several machines.
 */
import type { Worker } from "node:cluster";
import { EventEmitter } from "node:events";
import type { Broker, BrokerHandler, Unsubscribe } from "../../channels/index.js";
import { sendToWorker } from "../workers.js";

const TAG = "wirecable-relay";

interface RelayMessage {
  tag: typeof TAG;
  stream: string;
  payload: string;
}

function isRelay(message: unknown): message is RelayMessage {
  const m = message as Partial<RelayMessage> | null;
  return (
    typeof m === "object" &&
    m !== null &&
    m.tag === TAG &&
    typeof m.stream === "string" &&
    typeof m.payload === "string"
  );
}

/** In the primary: relay `worker`'s publishes to every worker (call once per forked worker). */
export function relayBetweenWorkers(workers: () => Iterable<Worker | undefined>, worker: Worker): void {
  worker.on("message", (message: unknown) => {
    if (!isRelay(message)) return;
    for (const w of workers()) if (w !== undefined) sendToWorker(w, message);
  });
}

/** In a worker: a Broker whose messages go through the primary. */
export class ClusterBroker extends EventEmitter implements Broker {
  readonly #handlers = new Map<string, Set<BrokerHandler>>();
  readonly #onMessage = (message: unknown): void => {
    if (!isRelay(message)) return;
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

  constructor() {
    super();
    this.on("error", () => {}); // default listener: an unheard broker error never crashes
    if (typeof process.send !== "function") throw new Error("ClusterBroker needs a cluster worker (process.send)");
    process.on("message", this.#onMessage);
  }

  publish(stream: string, payload: string): Promise<void> {
    if (this.#closed) return Promise.reject(new Error("broker is closed"));
    const message: RelayMessage = { tag: TAG, stream, payload };
    return new Promise((resolve, reject) => {
      process.send!(message, undefined, undefined, (err) => {
        if (err === null || err === undefined) return resolve();
        this.lostCount++;
        this.emit("lost", { stream, payload, reason: err.message });
        reject(err);
      });
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
    process.off("message", this.#onMessage);
  }
}
