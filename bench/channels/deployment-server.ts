/**
 * Deployment benchmark server process: a CableServer with one channel streaming `bench`, whose
 * broker can be switched while every connection stays open (so 100,000 connections are opened
 * once for every broker measured). IPC:
 * - {type:"use", url} -> {type:"using"}: from now on the broker at `url` (createBroker), or with
 *   url "relay" the relay through the parent (ClusterBroker: `--workers` without a broker);
 *   every stream is subscribed on the new broker before the old one is closed.
 * - {type:"burst", count, paceMs} -> broadcasts `count` messages stamped with the send time, then
 *   {type:"burst-done"}.
 * - {type:"broker-burst", count} -> publishes `count` messages on `broker-probe` (a stream every
 *   server subscribes to without any client: the broker's own cost), 100 in flight, then
 *   {type:"broker-burst-done"}; {type:"probe-count"} -> {type:"probe-count", received}.
 * - {type:"exit"}.
 */
import { EventEmitter } from "node:events";
import type { Broker, BrokerHandler, Unsubscribe } from "../../src/channels/brokers/broker.js";
import { createBroker } from "../../src/channels/brokers/from-url.js";
import { CableServer } from "../../src/channels/cable-server.js";
import { Channel } from "../../src/channels/channel.js";
import { ClusterBroker } from "../../src/cli/demo/cluster-broker.js";
import { ipcRelay } from "../../src/cli/workers.js";
import { nowMs } from "./histogram.js";

class BenchChannel extends Channel {
  override subscribed(): void {
    this.streamFrom("bench");
  }
}

const make = (url: string): Broker =>
  url === "relay" ? new ClusterBroker(ipcRelay()) : createBroker(url, { prefix: "bench" });

/** A Broker delegating to the current one; `use` moves every subscription to another. */
class SwitchBroker extends EventEmitter implements Broker {
  #inner: Broker;
  readonly #subs = new Map<BrokerHandler, { stream: string; unsubscribe: Unsubscribe }>();

  constructor(inner: Broker) {
    super();
    this.on("error", () => {});
    this.#inner = inner;
  }

  async use(next: Broker): Promise<void> {
    const moved = await Promise.all(
      [...this.#subs].map(async ([handler, s]) => [handler, s, await next.subscribe(s.stream, handler)] as const),
    );
    const old = this.#inner;
    this.#inner = next;
    for (const [handler, s, unsubscribe] of moved) this.#subs.set(handler, { stream: s.stream, unsubscribe });
    await old.close();
  }

  publish(stream: string, payload: string): Promise<void> {
    return this.#inner.publish(stream, payload);
  }

  async subscribe(stream: string, handler: BrokerHandler): Promise<Unsubscribe> {
    const unsubscribe = await this.#inner.subscribe(stream, handler);
    this.#subs.set(handler, { stream, unsubscribe });
    return async () => {
      const s = this.#subs.get(handler);
      this.#subs.delete(handler);
      await s?.unsubscribe();
    };
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}

const broker = new SwitchBroker(make(process.env.BROKER_URL ?? "relay"));
const cable = new CableServer({
  port: 0,
  host: "127.0.0.1",
  channels: { BenchChannel },
  broker,
  limits: { maxSubscriptions: 10 },
  // No WebSocket-level pings, and a long handshake deadline: client processes starved of CPU on
  // this shared machine would miss them and be cut. ActionCable's own heartbeat (3 s) still runs.
  websocket: { pingInterval: 0, handshakeTimeout: 120_000 },
});
await cable.ready;
let probes = 0;
await broker.subscribe("broker-probe", () => {
  probes++;
});
process.send?.({ type: "ready", port: (cable.address() as { port: number }).port });

process.on("message", async (msg: { type: string; count: number; paceMs: number; url: string }) => {
  if (msg.type === "use") {
    await broker.use(make(msg.url));
    process.send?.({ type: "using" });
  } else if (msg.type === "burst") {
    for (let i = 0; i < msg.count; i++) {
      await cable.broadcast("bench", { i, t: nowMs() });
      if (msg.paceMs > 0) await new Promise((r) => setTimeout(r, msg.paceMs));
      else if (i % 4 === 3) await new Promise((r) => setImmediate(r)); // let sockets drain
    }
    process.send?.({ type: "burst-done" });
  } else if (msg.type === "broker-burst") {
    probes = 0;
    for (let sent = 0; sent < msg.count; ) {
      const batch = Math.min(100, msg.count - sent);
      await Promise.all(
        Array.from({ length: batch }, (_, i) =>
          broker.publish("broker-probe", JSON.stringify({ i: sent + i, t: nowMs() })).catch(() => {}),
        ),
      );
      sent += batch;
    }
    process.send?.({ type: "broker-burst-done" });
  } else if (msg.type === "probe-count") {
    process.send?.({ type: "probe-count", received: probes });
  } else if (msg.type === "exit") {
    await broker.close().catch(() => {});
    process.exit(0);
  }
});
process.on("disconnect", () => process.exit(0));
