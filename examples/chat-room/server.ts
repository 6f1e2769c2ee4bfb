/**
 * A chat room on the plain server (no channels): join and leave announcements with the count,
 * chat and typing messages relayed to everyone else, JSON validated, text limited to 1 000
 * characters. Each broadcast is framed once and shared (wss.broadcast).
 *
 * Protocol (JSON text): client -> server {type:"chat", user, text} | {type:"typing", user}
 *                       server -> client {type:"join"|"leave", count} | {type:"chat", user, text, timestamp}
 *                                        | {type:"typing", user} | {type:"error", message}
 * Browsers must render `user` and `text` with textContent: they are untrusted.
 * Run: npx tsx examples/chat-room/server.ts [port]     (try: node bin/wirecable.js connect ws://127.0.0.1:8081)
 */
import { pathToFileURL } from "node:url";
import { type Connection, WebSocketServer } from "../../src/node/index.js";

const MAX_TEXT = 1000;

export async function start(port = 8081, host = "127.0.0.1"): Promise<WebSocketServer> {
  const wss = new WebSocketServer({ port, host, maxPayload: 16 * 1024 });
  const send = (data: unknown, except?: Connection) =>
    wss.broadcast(JSON.stringify(data), except ? { except } : undefined);

  const members = new Set<Connection>();

  wss.on("connection", (conn: Connection) => {
    members.add(conn);
    send({ type: "join", count: members.size });
    conn.on("close", () => {
      members.delete(conn);
      send({ type: "leave", count: members.size });
    });
    conn.on("message", (data: string | Buffer, isBinary: boolean) => {
      let message: { type?: unknown; user?: unknown; text?: unknown };
      try {
        if (isBinary) throw new Error("binary");
        message = JSON.parse(String(data));
      } catch {
        conn.send(JSON.stringify({ type: "error", message: "Invalid JSON" }));
        return;
      }
      const user = typeof message.user === "string" ? message.user.slice(0, 32) : "anonymous";
      if (message.type === "chat") {
        if (typeof message.text !== "string" || message.text.length > MAX_TEXT) {
          conn.send(JSON.stringify({ type: "error", message: "Invalid message" }));
          return;
        }
        send({ type: "chat", user, text: message.text, timestamp: Date.now() }, conn);
      } else if (message.type === "typing") {
        send({ type: "typing", user }, conn);
      } else {
        conn.send(JSON.stringify({ type: "error", message: "Unknown type" }));
      }
    });
  });
  await wss.ready;
  return wss;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const wss = await start(Number(process.argv[2] ?? 8081));
  console.log(`chat room on ${wss.url}`);
  process.once("SIGINT", () => void wss.close().then(() => process.exit(0)));
}
