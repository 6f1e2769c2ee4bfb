/**
 * Sender of examples/acks: sends messages that must each be acknowledged, retrying those that
 * are not (timeout 500 ms here, 3 retries).
 * Run: npx tsx examples/acks/client.ts [ws://127.0.0.1:8086] [count]
 */
import { pathToFileURL } from "node:url";
import { connect } from "../../src/node/index.js";
import { type ReliableOptions, ReliableSender } from "./reliable.js";

export async function sendAll(
  url: string,
  payloads: unknown[],
  options: ReliableOptions = { timeout: 500, retries: 3 },
): Promise<PromiseSettledResult<void>[]> {
  const conn = await connect(url);
  const sender = new ReliableSender((text) => {
    if (conn.readyState !== 1) throw new Error("not connected");
    conn.send(text);
  }, options);
  conn.on("message", (data: string | Buffer) => sender.handle(String(data)));
  const results = await Promise.allSettled(payloads.map((p) => sender.sendWithAck(p)));
  sender.close();
  conn.close(1000, "done");
  await conn.closed;
  return results;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const count = Number(process.argv[3] ?? 10);
  const payloads = Array.from({ length: count }, (_, i) => ({ n: i, text: `message ${i}` }));
  const results = await sendAll(process.argv[2] ?? "ws://127.0.0.1:8086", payloads);
  const failed = results.filter((r) => r.status === "rejected").length;
  console.log(`${count - failed} acknowledged, ${failed} failed`);
}
