/**
 * Load child for bench/deflate/echo.ts: `ws` clients (perMessageDeflate like a browser: context
 * takeover, `client_max_window_bits` offered) in their own process, so that their zlib memory
 * and CPU never count against the server measured.
 * Contract (IPC): {cmd:"open", port, count, deflate} -> {opened, extensions};
 * {cmd:"run", messages, payload} -> every connection sends `messages` messages one at a time,
 * waiting for each echo -> {done, echoed, bytesIn}; {cmd:"exit"}.
 */
import WebSocket from "ws";

let sockets: WebSocket[] = [];

async function open(port: number, count: number, deflate: boolean): Promise<string> {
  let extensions = "";
  const pending: Array<Promise<void>> = [];
  for (let i = 0; i < count; i++) {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: deflate });
    sockets.push(ws);
    pending.push(
      new Promise((resolve, reject) => {
        ws.once("upgrade", (res) => {
          extensions = String(res.headers["sec-websocket-extensions"] ?? "");
        });
        ws.once("open", () => resolve());
        ws.once("error", reject);
      }),
    );
    // Pace the handshakes a little: 1,000 at once would only measure the accept queue.
    if (i % 100 === 99) await Promise.all(pending.slice(-100));
  }
  await Promise.all(pending);
  return extensions;
}

async function run(messages: number, payload: string): Promise<{ echoed: number; bytesIn: number }> {
  let echoed = 0;
  let bytesIn = 0;
  await Promise.all(
    sockets.map(
      (ws) =>
        new Promise<void>((resolve, reject) => {
          let left = messages;
          const onMessage = (data: Buffer) => {
            echoed++;
            bytesIn += data.length;
            if (--left === 0) {
              ws.off("message", onMessage);
              resolve();
            } else ws.send(payload);
          };
          ws.on("message", onMessage);
          ws.once("close", () => reject(new Error("closed during the run")));
          ws.send(payload);
        }),
    ),
  );
  return { echoed, bytesIn };
}

interface Command {
  cmd: "open" | "run" | "exit";
  port: number;
  count: number;
  deflate: boolean;
  messages: number;
  payload: string;
}

process.on("message", async (m: Command) => {
  try {
    if (m.cmd === "open") {
      const extensions = await open(m.port, m.count, m.deflate);
      process.send?.({ opened: sockets.length, extensions });
    } else if (m.cmd === "run") {
      const result = await run(m.messages, m.payload);
      process.send?.({ done: true, ...result });
    } else if (m.cmd === "exit") {
      for (const ws of sockets) ws.terminate();
      sockets = [];
      process.exit(0);
    }
  } catch (error) {
    process.send?.({ error: String(error) });
  }
});
process.on("disconnect", () => process.exit(0));
