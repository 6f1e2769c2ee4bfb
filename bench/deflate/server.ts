/**
 * Echo server child for bench/deflate/echo.ts: wirecable or ws, with the given perMessageDeflate
 * option (JSON in argv). Contract: started with `fork` (IPC); sends {port} once listening;
 * answers {cmd:"gc"} with {gc: memoryUsage} after two full collections; exits on {cmd:"exit"}.
 */
import { WebSocketServer as WsServer } from "ws";
import { WebSocketServer } from "../../src/node/index.js";

const [impl, pmdJson] = process.argv.slice(2);
const perMessageDeflate = JSON.parse(pmdJson ?? "false");

async function start(): Promise<number> {
  if (impl === "ws") {
    const wss = new WsServer({ host: "127.0.0.1", port: 0, perMessageDeflate, maxPayload: 16 << 20 });
    wss.on("connection", (ws) => {
      ws.on("error", () => {});
      ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
    });
    await new Promise<void>((resolve) => wss.on("listening", () => resolve()));
    return (wss.address() as { port: number }).port;
  }
  const wss = new WebSocketServer({
    host: "127.0.0.1",
    port: 0,
    perMessageDeflate,
    maxPayload: 16 << 20,
    pingInterval: 0,
    idleTimeout: 0,
  });
  wss.on("connection", (conn) => {
    conn.on("message", (data: string | Buffer, isBinary: boolean) => conn.send(data, { binary: isBinary }));
  });
  await wss.ready;
  return (wss.address() as { port: number }).port;
}

const gc = (globalThis as { gc?: () => void }).gc;
process.on("message", (m: { cmd?: string }) => {
  if (m?.cmd === "gc") {
    gc?.();
    gc?.();
    process.send?.({ gc: process.memoryUsage() });
  } else if (m?.cmd === "exit") {
    process.exit(0);
  }
});
process.on("disconnect", () => process.exit(0));
start().then(
  (port) => process.send?.({ port }),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
