/**
 * Load child for bench/deflate/echo.ts: `ws` clients (perMessageDeflate like a browser: context
 * takeover, `client_max_window_bits` offered) in their own process, so that their zlib memory
 * and CPU never count against the server measured.
 * Contract (IPC): {cmd:"open", port, count, deflate} -> {opened, extensions};
 * {cmd:"run", messages, payloads} -> every connection sends `messages` messages (taken in turn
 * from `payloads`, starting at a different one per connection) one at a time,
 * waiting for each echo -> {done, echoed, bytesIn, wireDown, wireUp} (TCP bytes); {cmd:"exit"}.
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

/** Bytes read from / written to the TCP sockets so far (ws keeps its socket in `_socket`). */
function wireBytes(): { read: number; written: number } {
  let read = 0;
  let written = 0;
  for (const ws of sockets) {
    const socket = (ws as unknown as { _socket?: { bytesRead: number; bytesWritten: number } })._socket;
    read += socket?.bytesRead ?? 0;
    written += socket?.bytesWritten ?? 0;
  }
  return { read, written };
}

async function run(
  messages: number,
  payloads: string[],
): Promise<{ echoed: number; bytesIn: number; wireDown: number; wireUp: number }> {
  let echoed = 0;
  let bytesIn = 0;
  const wire0 = wireBytes();
  await Promise.all(
    sockets.map(
      (ws, index) =>
        new Promise<void>((resolve, reject) => {
          let left = messages;
          let next = index;
          const payload = () => payloads[next++ % payloads.length]!;
          const onMessage = (data: Buffer) => {
            echoed++;
            bytesIn += data.length;
            if (--left === 0) {
              ws.off("message", onMessage);
              resolve();
            } else ws.send(payload());
          };
          ws.on("message", onMessage);
          ws.once("close", () => reject(new Error("closed during the run")));
          ws.send(payload());
        }),
    ),
  );
  const wire1 = wireBytes();
  return { echoed, bytesIn, wireDown: wire1.read - wire0.read, wireUp: wire1.written - wire0.written };
}

interface Command {
  cmd: "open" | "run" | "exit";
  port: number;
  count: number;
  deflate: boolean;
  messages: number;
  payloads: string[];
}

process.on("message", async (m: Command) => {
  try {
    if (m.cmd === "open") {
      const extensions = await open(m.port, m.count, m.deflate);
      process.send?.({ opened: sockets.length, extensions });
    } else if (m.cmd === "run") {
      const result = await run(m.messages, m.payloads);
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
