/**
 * A broker for `wirecable serve --workers N` without Redis: the workers of one node:cluster
 * share rooms through the primary, which relays every publish to every worker (the publisher
 * included) over the cluster IPC channel (the relay of workers.ts), and holds the stream
 * history, presence and dedup of all of them (the in-memory implementations of
 * src/channels/brokers) through the primary hooks of workers.ts (`clusterStoreHooks`).
 *
 * Contract (the Broker contract of src/channels/brokers/broker.ts, for one machine):
 * - `publish` resolves once the message is handed to IPC (rejects, and `lost`, if it cannot be); delivery order is the primary's
 *   receive order, the same in every worker, so per-publisher order is kept. On a stream that
 *   keeps history the primary stamps the message before relaying it.
 * - `history`, `presence` and `dedup` are requests to the primary (answered in order on the same
 *   channel as the relayed messages). A worker's presence sessions leave as soon as the primary
 *   sees it exit (a crashed worker's members go at once: `timeout` 0).
 * - Exact stream names only. Handlers that throw are reported as `error` and do not stop others.
 * - Nothing is kept while the primary is gone (it only goes when the whole server stops).
 * It is the in-process alternative to `--redis`; Redis is still what spans several machines.
 */
import { EventEmitter } from "node:events";
import type {
  Broker,
  BrokerHandler,
  DedupClaim,
  Deduplicator,
  HistoryOptions,
  HistoryRead,
  PresenceEvent,
  PresenceJoin,
  PresenceListener,
  PresenceMember,
  PresenceSnapshot,
  StreamEntry,
  StreamHistory,
  StreamPosition,
  StreamPresence,
  Unsubscribe,
} from "../../channels/index.js";
import { MemoryDedup, MemoryHistory, MemoryPresence } from "../../channels/index.js";
import type { PrimaryHooks, WorkerContext } from "../workers.js";

const RPC = "wirecable-rpc";
const REPLY = "wirecable-rpc-reply";
const PRESENCE = "wirecable-presence";

interface RelayMessage {
  stream: string;
  payload: string;
  epoch?: string;
  offset?: number;
}

type Op =
  | ["position", string]
  | ["since", string, StreamPosition]
  | ["recent", string, number]
  | ["join", string, string, PresenceMember]
  | ["leave", string, string]
  | ["snapshot", string]
  | ["claim", string, number]
  | ["settle", string, string, number]
  | ["release", string];

interface RpcMessage {
  tag: typeof RPC;
  id: number;
  op: Op;
}

function isRelay(message: unknown): message is RelayMessage {
  const m = message as Partial<RelayMessage> | null;
  return typeof m === "object" && m !== null && typeof m.stream === "string" && typeof m.payload === "string";
}

const tagged = (message: unknown, tag: string): message is Record<string, unknown> =>
  typeof message === "object" && message !== null && (message as { tag?: unknown }).tag === tag;

/** What the primary keeps for every worker (one per primary process). */
export class ClusterStore {
  readonly history: MemoryHistory | undefined;
  readonly presence: MemoryPresence;
  readonly dedup = new MemoryDedup();
  /** Streams whose presence events are relayed to every worker, and how to stop. */
  readonly #relayed = new Map<string, () => Promise<void>>();

  constructor(options: { history?: HistoryOptions } = {}) {
    this.history = options.history === undefined ? undefined : new MemoryHistory(options.history);
    this.presence = new MemoryPresence();
  }

  /** Relay `stream`'s presence events through `send` (to every worker) from now on. */
  relayPresence(stream: string, send: (message: unknown) => void): void {
    if (this.#relayed.has(stream)) return;
    this.#relayed.set(
      stream,
      this.presence.watchNow(stream, (event) => send({ tag: PRESENCE, stream, event })),
    );
  }

  /** Stop relaying an empty stream's presence (the next join or snapshot starts again). */
  forgetEmpty(stream: string): void {
    const stop = this.#relayed.get(stream);
    if (stop === undefined || this.presence.snapshotNow(stream).members.length > 0) return;
    this.#relayed.delete(stream);
    void stop();
  }

  /** A worker exited: its sessions leave (events relayed), empty streams are forgotten. */
  dropWorker(owner: string): void {
    this.presence.dropOwner(owner);
    for (const stream of [...this.#relayed.keys()]) this.forgetEmpty(stream);
  }
}

/**
 * The primary's hooks (RunServerOptions.primary) for workers using ClusterBroker: relayed
 * messages on history streams are stamped, requests answered from `store`, presence events
 * relayed to every worker, and an exited worker's sessions leave.
 */
export function clusterStoreHooks(store: ClusterStore, toAll: (message: unknown) => void): Required<PrimaryHooks> {
  return {
    relay(message) {
      if (!isRelay(message) || !store.history?.keeps(message.stream)) return message;
      const { epoch, offset } = store.history.append(message.stream, message.payload);
      return { ...message, epoch, offset };
    },
    message(message, worker, reply) {
      if (!tagged(message, RPC) || typeof message.id !== "number" || !Array.isArray(message.op)) return;
      let result: unknown;
      let error: string | undefined;
      try {
        const op = message.op as Op;
        if (op[0] === "join" || op[0] === "snapshot") store.relayPresence(op[1], toAll);
        result = answer(store, op, String(worker));
        if (op[0] === "leave") store.forgetEmpty(op[1]);
      } catch (err) {
        error = err instanceof Error ? err.message : String(err);
      }
      reply({ tag: REPLY, id: message.id, result, error });
    },
    exit(worker) {
      store.dropWorker(String(worker));
    },
  };
}

function answer(store: ClusterStore, op: Op, owner: string): unknown {
  const history = store.history;
  switch (op[0]) {
    case "position":
      return history?.positionNow(op[1]);
    case "since":
      return history?.sinceNow(op[1], op[2]);
    case "recent":
      return history?.recentNow(op[1], op[2]);
    case "join":
      return store.presence.joinNow(op[1], op[2], op[3], owner);
    case "leave":
      return store.presence.leaveNow(op[1], op[2]);
    case "snapshot":
      return store.presence.snapshotNow(op[1]);
    case "claim":
      return store.dedup.claimNow(op[1], op[2]);
    case "settle":
      return store.dedup.settleNow(op[1], op[2], op[3]);
    case "release":
      return void store.dedup.release(op[1]);
  }
}

/** How long a worker waits for the primary's answer (it only fails when the primary is gone). */
const RPC_TIMEOUT = 5000;

/** In a worker: a Broker whose messages and state go through the primary. */
export class ClusterBroker extends EventEmitter implements Broker {
  readonly #handlers = new Map<string, Set<BrokerHandler>>();
  readonly #watchers = new Map<string, Set<PresenceListener>>();
  readonly #calls = new Map<number, { resolve(v: unknown): void; reject(e: Error): void; timer: NodeJS.Timeout }>();
  #nextCall = 0;
  readonly #onMessage = (message: unknown): void => {
    if (this.#closed) return;
    if (isRelay(message)) {
      const set = this.#handlers.get(message.stream);
      if (set === undefined) return;
      const position =
        typeof message.epoch === "string" && typeof message.offset === "number"
          ? { epoch: message.epoch, offset: message.offset }
          : undefined;
      for (const handler of [...set]) this.#call(() => handler(message.payload, position));
    } else if (tagged(message, REPLY) && typeof message.id === "number") {
      const call = this.#calls.get(message.id);
      if (call === undefined) return;
      this.#calls.delete(message.id);
      clearTimeout(call.timer);
      if (typeof message.error === "string") call.reject(new Error(message.error));
      else call.resolve(message.result);
    } else if (tagged(message, PRESENCE) && typeof message.stream === "string") {
      for (const listener of [...(this.#watchers.get(message.stream) ?? [])]) {
        this.#call(() => listener(message.event as PresenceEvent));
      }
    }
  };
  #closed = false;
  lostCount = 0;
  readonly #relay: (message: unknown) => Promise<void>;
  readonly #toPrimary: (message: unknown) => Promise<void>;
  readonly history: StreamHistory | undefined;
  readonly presence: StreamPresence;
  readonly dedup: Deduplicator;

  /**
   * `worker`: a cluster worker's context (runServer); `history`: the same options as the
   * primary's ClusterStore (both decide which streams keep it).
   */
  constructor(
    worker: Pick<WorkerContext, "relay" | "onRelay" | "toPrimary" | "onPrimary">,
    options: { history?: HistoryOptions } = {},
  ) {
    super();
    this.on("error", () => {}); // default listener: an unheard broker error never crashes
    if (worker.relay === undefined || worker.toPrimary === undefined)
      throw new Error("ClusterBroker needs a cluster worker (a relay)");
    this.#relay = worker.relay;
    this.#toPrimary = worker.toPrimary;
    worker.onRelay(this.#onMessage);
    worker.onPrimary(this.#onMessage);
    const rpc = <T>(...op: Op) => this.#rpc<T>(op);
    if (options.history !== undefined) {
      const local = new MemoryHistory(options.history); // for its settings only
      this.history = {
        limit: local.limit,
        ttl: local.ttl,
        keeps: (stream) => local.keeps(stream),
        position: (stream) => rpc<StreamPosition>("position", stream),
        since: (stream, since) => rpc<HistoryRead>("since", stream, since),
        recent: (stream, count) => rpc<{ entries: StreamEntry[]; position: StreamPosition }>("recent", stream, count),
      };
    }
    this.presence = {
      timeout: 0,
      maxMembers: new MemoryPresence().maxMembers,
      join: (stream, session, member) => rpc<PresenceJoin>("join", stream, session, member),
      leave: (stream, session) => rpc<void>("leave", stream, session),
      snapshot: (stream) => rpc<PresenceSnapshot>("snapshot", stream),
      watch: async (stream, listener) => {
        const own: PresenceListener = (event) => listener(event);
        let set = this.#watchers.get(stream);
        if (set === undefined) this.#watchers.set(stream, (set = new Set()));
        set.add(own);
        await rpc<PresenceSnapshot>("snapshot", stream); // the primary relays this stream's events from now on
        return async () => {
          set.delete(own);
          if (set.size === 0) this.#watchers.delete(stream);
        };
      },
    };
    this.dedup = {
      claim: (key, windowMs) => rpc<DedupClaim>("claim", key, windowMs),
      settle: (key, outcome, windowMs) => rpc<void>("settle", key, outcome, windowMs),
      release: (key) => rpc<void>("release", key),
    };
  }

  #call(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.emit("error", err instanceof Error ? err : new Error(String(err)));
    }
  }

  #rpc<T>(op: Op): Promise<T> {
    if (this.#closed) return Promise.reject(new Error("broker is closed"));
    const id = ++this.#nextCall;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#calls.delete(id);
        reject(new Error("the cluster primary did not answer"));
      }, RPC_TIMEOUT);
      timer.unref();
      this.#calls.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.#toPrimary({ tag: RPC, id, op } satisfies RpcMessage).catch((err: Error) => {
        this.#calls.delete(id);
        clearTimeout(timer);
        reject(err);
      });
    });
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
    const own: BrokerHandler = (payload, position) => handler(payload, position);
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
    this.#watchers.clear();
    for (const call of this.#calls.values()) {
      clearTimeout(call.timer);
      call.reject(new Error("broker is closed"));
    }
    this.#calls.clear();
  }
}
