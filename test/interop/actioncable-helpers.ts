/**
 * Helpers for driving the official @rails/actioncable client from Node: it is loaded from its
 * ESM build, given our WebSocket (Node 20 has no global one) and no-op visibility listeners
 * (its ConnectionMonitor listens to `visibilitychange` on the global object).
 */
import { WebSocket } from "../../src/node/index.js";

export interface Received {
  events: Array<{ event: string; data?: unknown }>;
  wait(predicate: (e: { event: string; data?: unknown }) => boolean, timeoutMs?: number): Promise<void>;
}

// biome-ignore lint/suspicious/noExplicitAny: the client ships no types
export type ActionCableModule = any;

export async function loadActionCable(): Promise<ActionCableModule> {
  const g = globalThis as unknown as Record<string, unknown>;
  g.addEventListener ??= () => {};
  g.removeEventListener ??= () => {};
  const spec = "@rails/actioncable/app/assets/javascripts/actioncable.esm.js";
  const ActionCable = await import(spec);
  ActionCable.adapters.WebSocket = WebSocket;
  return ActionCable;
}

/** A subscription mixin recording every callback. */
export function recorder(): Received & { mixin: Record<string, (data?: unknown) => void> } {
  const events: Array<{ event: string; data?: unknown }> = [];
  let wake: () => void = () => {};
  const push = (event: string, data?: unknown) => {
    events.push({ event, data });
    wake();
  };
  return {
    events,
    mixin: {
      connected: (data) => push("connected", data),
      disconnected: (data) => push("disconnected", data),
      rejected: () => push("rejected"),
      received: (data) => push("received", data),
    },
    async wait(predicate, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (!events.some(predicate)) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`timed out; events: ${JSON.stringify(events).slice(0, 500)}`);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, Math.min(left, 100));
          wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
      }
    },
  };
}
