/**
 * A minimal ActionCable wire client for server-side tests (the official client is exercised in
 * test/interop). Uses the `ws` package so these tests depend only on our server side.
 */
import WebSocket from "ws";

export interface CableTestClient {
  readonly messages: Array<Record<string, unknown>>;
  subscribe(identifier: string): Promise<void>;
  perform(identifier: string, data: Record<string, unknown>): void;
  waitFor(predicate: (m: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  close(): void;
}

export async function cableClient(url: string): Promise<CableTestClient> {
  const ws = new WebSocket(url, ["actioncable-v1-json", "actioncable-unsupported"]);
  const messages: Array<Record<string, unknown>> = [];
  const waiters = new Set<() => void>();
  ws.on("message", (data) => {
    messages.push(JSON.parse(String(data)));
    for (const w of waiters) w();
  });
  ws.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  const client: CableTestClient = {
    messages,
    async waitFor(predicate, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = messages.find(predicate);
        if (found) return found;
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`timed out; got ${JSON.stringify(messages).slice(0, 400)}`);
        await new Promise<void>((resolve) => {
          const t = setTimeout(done, Math.min(left, 200));
          function done() {
            clearTimeout(t);
            waiters.delete(done);
            resolve();
          }
          waiters.add(done);
        });
      }
    },
    async subscribe(identifier) {
      ws.send(JSON.stringify({ command: "subscribe", identifier }));
      await client.waitFor((m) => m.identifier === identifier && m.type === "confirm_subscription");
    },
    perform(identifier, data) {
      ws.send(JSON.stringify({ command: "message", identifier, data: JSON.stringify(data) }));
    },
    close: () => ws.close(),
  };
  await client.waitFor((m) => m.type === "welcome");
  return client;
}
