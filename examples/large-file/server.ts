/**
 * Streaming a large file: each client that connects gets the file as ONE binary message sent
 * in fragments (RFC 6455 5.4) as it is read from disk (64 KiB reads), so the server never holds
 * the whole file; then a text message with its name, size and SHA-256 for checking.
 * `conn.stream()` waits for the socket to drain between fragments: a slow client slows the
 * reads instead of filling memory.
 * Run: npx tsx examples/large-file/server.ts FILE [port]    (then: npx tsx examples/large-file/client.ts)
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { basename } from "node:path";
import { pathToFileURL } from "node:url";
import { type Connection, WebSocketServer } from "../../src/node/index.js";

export async function start(file: string, port = 8083, host = "127.0.0.1"): Promise<WebSocketServer> {
  const { size } = await stat(file);
  const wss = new WebSocketServer({ port, host });
  wss.on("connection", async (conn: Connection) => {
    const hash = createHash("sha256");
    const reader = createReadStream(file, { highWaterMark: 64 * 1024 });
    reader.on("data", (chunk) => hash.update(chunk));
    try {
      await conn.stream(reader, { binary: true });
      conn.send(JSON.stringify({ name: basename(file), size, sha256: hash.digest("hex") }));
      conn.close(1000, "done");
    } catch (err) {
      reader.destroy();
      if (conn.readyState === 1) conn.close(1011, "");
      console.error("stream failed:", (err as Error).message);
    }
  });
  await wss.ready;
  return wss;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const file = process.argv[2];
  if (!file) {
    console.error("usage: npx tsx examples/large-file/server.ts FILE [port]");
    process.exit(1);
  }
  const wss = await start(file, Number(process.argv[3] ?? 8083));
  console.log(`serving ${file} on ${wss.url}`);
  process.once("SIGINT", () => void wss.close().then(() => process.exit(0)));
}
