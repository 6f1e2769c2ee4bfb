/**
 * Fan-out benchmark client process: holds many ActionCable subscribers (the `ws` client, to
 * measure our server rather than our client). PROTOCOL=ext offers the delivery extensions
 * (actioncable-v1-ext-json) first. IPC:
 *   {type:"connect", port, count} -> {type:"connected"} once every subscription is confirmed;
 *   {type:"expect", messages}     -> {type:"done", at, histogram} once every client got them all.
 */
import WebSocket from "ws";
import { Histogram, nowMs } from "./histogram.js";

const IDENTIFIER = JSON.stringify({ channel: "BenchChannel" });
const hist = new Histogram();
let expected = 0;
let received = 0;
const sockets: WebSocket[] = [];

function onMessage(data: WebSocket.RawData): void {
  const text = String(data);
  // Broadcasts carry `"t":<ms>}` (then `}`, or the extensions' stamp); read it without a full
  // JSON.parse (keep clients cheap: they share the machine's cores with the servers measured).
  const at = text.lastIndexOf('"t":');
  if (at < 0 || !text.startsWith('{"identifier"')) return;
  hist.recordMs(nowMs() - Number.parseFloat(text.slice(at + 4)));
  received++;
  if (expected > 0 && received === expected) {
    process.send?.({ type: "done", at: nowMs(), histogram: hist.toJSON() });
    expected = 0;
  }
}

function connectOne(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const offer = ["actioncable-v1-json", "actioncable-unsupported"];
    if (process.env.PROTOCOL === "ext") offer.unshift("actioncable-v1-ext-json");
    const ws = new WebSocket(`ws://127.0.0.1:${port}/cable`, offer, { perMessageDeflate: false });
    ws.on("error", reject);
    ws.on("message", function first(data) {
      const text = String(data);
      if (text.startsWith('{"type":"welcome"')) {
        ws.send(JSON.stringify({ command: "subscribe", identifier: IDENTIFIER }));
      } else if (text.includes("confirm_subscription")) {
        ws.off("message", first);
        ws.on("message", onMessage);
        resolve();
      }
    });
    sockets.push(ws);
  });
}

process.on("message", async (msg: { type: string; port: number; count: number; messages: number }) => {
  if (msg.type === "connect") {
    let next = 0;
    const worker = async () => {
      while (next < msg.count) {
        next++;
        await connectOne(msg.port);
      }
    };
    await Promise.all(Array.from({ length: 200 }, worker)); // at most 200 handshakes in flight
    process.send?.({ type: "connected" });
  } else if (msg.type === "expect") {
    hist.reset();
    received = 0;
    expected = msg.messages * sockets.length;
    process.send?.({ type: "expecting" });
  } else if (msg.type === "exit") {
    for (const ws of sockets) ws.terminate();
    process.exit(0);
  }
});
process.on("disconnect", () => process.exit(0));
process.send?.({ type: "ready" });
