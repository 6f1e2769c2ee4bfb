/**
 * A server that is careful about who talks to it and how much:
 * - Origin allow-list: browsers always send Origin; other sites' pages get 403 (cross-site
 *   WebSocket hijacking). Clients without Origin (scripts) are allowed only with "*" in the list,
 *   so here they must still present a token.
 * - Token authentication during the handshake (`?token=` or `Authorization: Bearer`): a missing or
 *   unknown token is refused with 401 before any WebSocket frame; the user becomes `conn.data`.
 * - Per-connection rate limit (excess closes with 1008), a 64 KiB message limit (1009), a cap
 *   on connections (503 + Retry-After).
 * Run: npx tsx examples/secure-server/server.ts [port]
 *      node bin/wirecable.js connect "ws://127.0.0.1:8084/?token=alice-token" -o http://localhost:3000
 */
import type { IncomingMessage } from "node:http";
import { pathToFileURL } from "node:url";
import { type Connection, Rejection, WebSocketServer } from "../../src/node/index.js";

export interface SecureOptions {
  port?: number;
  host?: string;
  origins?: string[];
  /** token -> user name. */
  tokens?: Record<string, string>;
  rateLimit?: { messages: number; interval: number };
}

function tokenOf(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  if (auth?.startsWith("Bearer ")) return auth.slice(7);
  // Prefix the target rather than resolve it: a target like "//x" must not become a host.
  return new URL(`http://localhost${req.url ?? "/"}`).searchParams.get("token") ?? undefined;
}

export async function start(options: SecureOptions = {}): Promise<WebSocketServer> {
  const tokens = new Map(Object.entries(options.tokens ?? { "alice-token": "alice", "bob-token": "bob" }));
  const wss = new WebSocketServer({
    port: options.port ?? 8084,
    host: options.host ?? "127.0.0.1",
    origins: options.origins ?? ["http://localhost:3000", "https://app.example.com"],
    authenticate(req) {
      const user = tokens.get(tokenOf(req) ?? "");
      if (user === undefined) {
        return new Rejection(401, { headers: { "WWW-Authenticate": "Bearer" }, body: "unknown token" });
      }
      return { user };
    },
    rateLimit: options.rateLimit ?? { messages: 20, interval: 1000 },
    maxPayload: 64 * 1024,
    maxConnections: 1000,
  });
  wss.on("connection", (conn: Connection) => {
    const { user } = conn.data as { user: string };
    conn.send(JSON.stringify({ type: "hello", user }));
    conn.on("message", (data: string | Buffer) =>
      conn.send(JSON.stringify({ type: "echo", user, length: data.length })),
    );
  });
  wss.on("rejected", (req: IncomingMessage, error: Error) => {
    console.warn(`refused ${req.headers.origin ?? "(no origin)"}: ${error.message}`);
  });
  await wss.ready;
  return wss;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const wss = await start({ port: Number(process.argv[2] ?? 8084) });
  console.log(`secure server on ${wss.url}`);
  process.once("SIGINT", () => void wss.close().then(() => process.exit(0)));
}
