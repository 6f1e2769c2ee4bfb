/**
 * In-process broker (the default): delivers synchronously to the handlers of exactly the
 * published stream. Share one instance between several CableServers of the same process, or
 * with `createBroadcaster`, to reach them all. Nothing is ever lost while it is open.
 *
 * With `history`, streams that keep it are stamped and retained here (MemoryHistory: a ring of
 * `limit` messages per stream, each kept `ttl` ms); a restart of the process starts new epochs.
 * Presence and dedup live here too: exact at once, and gone with the process (timeout 0).
 */
import { BaseBroker, type Broker, type BrokerHandler, type Unsubscribe } from "./broker.js";
import { MemoryDedup } from "./dedup.js";
import { type HistoryOptions, MemoryHistory } from "./stream-history.js";
import { MemoryPresence, type PresenceOptions } from "./stream-presence.js";

export interface MemoryBrokerOptions {
  /** Keep stream history (resumable streams). Default: none. */
  history?: HistoryOptions;
  /** Presence limits (`maxMembers`). */
  presence?: PresenceOptions;
}

export class MemoryBroker extends BaseBroker implements Broker {
  readonly history: MemoryHistory | undefined;
  readonly presence: MemoryPresence;
  readonly dedup = new MemoryDedup();
  readonly #sweeper: NodeJS.Timeout | undefined;

  constructor(options: MemoryBrokerOptions = {}) {
    super();
    this.presence = new MemoryPresence(options.presence, (err) => this.emit("error", err));
    if (options.history !== undefined) {
      const history = new MemoryHistory(options.history);
      this.history = history;
      // Expired entries are dropped on every read too; this frees idle streams' memory.
      this.#sweeper = setInterval(() => history.sweep((s) => this.handlers.has(s)), Math.min(history.ttl, 60_000));
      this.#sweeper.unref();
    }
  }

  async publish(stream: string, payload: string): Promise<void> {
    this.assertOpen();
    if (this.history?.keeps(stream)) {
      const entry = this.history.append(stream, payload);
      this.dispatch(stream, payload, entry);
      return;
    }
    this.dispatch(stream, payload);
  }

  async subscribe(stream: string, handler: BrokerHandler): Promise<Unsubscribe> {
    this.assertOpen();
    const own: BrokerHandler = (payload, position) => handler(payload, position); // distinct per call
    this.addHandler(stream, own);
    return async () => {
      this.removeHandler(stream, own);
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.#sweeper);
    this.handlers.clear();
    this.history?.clear();
    this.presence.clear();
    this.dedup.clear();
  }
}
