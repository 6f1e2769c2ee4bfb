/**
 * Deployment benchmark client process: holds many idle ActionCable subscribers (the `ws` client,
 * to measure the servers rather than our client) spread over several servers, from its own
 * 127.0.0.x source addresses with explicit source ports (bind() with port 0 on a fixed address
 * searches the port range linearly: minutes of kernel time at these counts). IPC:
 *   {type:"connect", ports, count, addresses, portStart} -> {type:"connected", failed}
 *   {type:"expect", messages} -> {type:"expecting", sockets, closed}, then {type:"done", at,
 *   histogram} once every client got them all
 *   {type:"exit"}
 */
import WebSocket from "ws";
import { Histogram, nowMs } from "./histogram.js";

const IDENTIFIER = JSON.stringify({ channel: "BenchChannel" });
const hist = new Histogram();
let expected = 0;
let received = 0;
/** Subscribed sockets that closed since (the benchmark refuses figures with any). */
let closed = 0;
const sockets: WebSocket[] = [];

function onMessage(data: WebSocket.RawData): void {
  const text = String(data);
  // Broadcasts end with `"t":<ms>}}`; read the stamp without a full JSON.parse (clients share
  // the machine's cores with the servers and brokers being measured).
  const at = text.lastIndexOf('"t":');
  if (at < 0 || !text.startsWith('{"identifier"')) return;
  hist.recordMs(nowMs() - Number.parseFloat(text.slice(at + 4)));
  received++;
  if (expected > 0 && received === expected) {
    process.send?.({ type: "done", at: nowMs(), histogram: hist.toJSON() });
    expected = 0;
  }
}

function connectOne(port: number, localAddress: string, localPort: number): Promise<boolean> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/cable`, ["actioncable-v1-json", "actioncable-unsupported"], {
      perMessageDeflate: false,
      localAddress,
      localPort,
    } as WebSocket.ClientOptions);
    const timer = setTimeout(() => {
      ws.terminate();
      resolve(false);
    }, 30_000);
    ws.on("error", () => {
      clearTimeout(timer);
      resolve(false);
    });
    ws.on("message", function first(data) {
      const text = String(data);
      if (text === '{"type":"welcome"}') {
        ws.send(JSON.stringify({ command: "subscribe", identifier: IDENTIFIER }));
      } else if (text.includes("confirm_subscription")) {
        clearTimeout(timer);
        ws.off("message", first);
        ws.on("message", onMessage);
        ws.on("close", () => closed++);
        sockets.push(ws);
        resolve(true);
      }
    });
  });
}

interface Command {
  type: string;
  ports: number[];
  count: number;
  addresses: string[];
  portStart: number;
  messages: number;
}

process.on("message", async (msg: Command) => {
  if (msg.type === "connect") {
    let next = 0;
    let failed = 0;
    const lane = async () => {
      while (next < msg.count) {
        const k = next++;
        const ok = await connectOne(
          msg.ports[k % msg.ports.length]!,
          msg.addresses[k % msg.addresses.length]!,
          msg.portStart + Math.floor(k / msg.addresses.length),
        );
        if (!ok) failed++;
      }
    };
    await Promise.all(Array.from({ length: 100 }, lane)); // at most 100 handshakes in flight
    process.send?.({ type: "connected", failed });
  } else if (msg.type === "expect") {
    hist.reset();
    received = 0;
    expected = msg.messages * sockets.length;
    process.send?.({ type: "expecting", sockets: sockets.length, closed });
  } else if (msg.type === "exit") {
    for (const ws of sockets) ws.terminate();
    process.exit(0);
  }
});
process.on("disconnect", () => process.exit(0));
process.send?.({ type: "ready" });
