/**
 * Prometheus metrics of the demo server (prom-client), one registry per server so several can
 * run in one process (tests). Names are prefixed `wirecable_` (Node's default metrics, already
 * named `process_*` and `nodejs_*`, become `wirecable_process_*` and `wirecable_nodejs_*`); with
 * `--workers` a scrape reports every worker, aggregated (cluster-metrics.ts).
 */
import { Counter, collectDefaultMetrics, Gauge, Registry } from "prom-client";

export interface DemoMetrics {
  readonly registry: Registry;
  readonly connections: Gauge;
  readonly connectionsTotal: Counter;
  readonly messagesIn: Counter;
  readonly messagesOut: Counter;
  readonly bytesIn: Counter;
  readonly bytesOut: Counter;
  readonly dropped: Counter<"reason">;
  readonly errors: Counter<"kind">;
  readonly chatMessages: Counter;
  readonly brokerLag: Gauge;
}

export function createMetrics(labels: Record<string, string> = {}, defaults = true): DemoMetrics {
  const registry = new Registry();
  registry.setDefaultLabels(labels);
  if (defaults) collectDefaultMetrics({ register: registry, prefix: "wirecable_" });
  const registers = [registry];
  return {
    registry,
    connections: new Gauge({ name: "wirecable_connections", help: "Open WebSocket connections", registers }),
    connectionsTotal: new Counter({
      name: "wirecable_connections_total",
      help: "WebSocket connections accepted",
      registers,
    }),
    messagesIn: new Counter({ name: "wirecable_messages_in_total", help: "Messages received", registers }),
    messagesOut: new Counter({ name: "wirecable_messages_out_total", help: "Messages sent", registers }),
    bytesIn: new Counter({ name: "wirecable_bytes_in_total", help: "Payload bytes received", registers }),
    bytesOut: new Counter({ name: "wirecable_bytes_out_total", help: "Payload bytes sent", registers }),
    dropped: new Counter({
      name: "wirecable_messages_dropped_total",
      help: "Messages dropped (slow consumer, broker unavailable, typing coalesced, room busy)",
      labelNames: ["reason"],
      registers,
    }),
    errors: new Counter({
      name: "wirecable_errors_total",
      help: "Errors by kind (handshake, connection, cable, broker)",
      labelNames: ["kind"],
      registers,
    }),
    chatMessages: new Counter({ name: "wirecable_chat_messages_total", help: "Chat messages accepted", registers }),
    brokerLag: new Gauge({
      name: "wirecable_broker_lag_seconds",
      help: "Publish-to-delivery time of the last broker probe (every 5 s); -1 when the last probe got no answer",
      registers,
    }),
  };
}
