// examples/secure-server: origin allow-list (403), token authentication (401, the user in
// conn.data), per-connection rate limit (1008) and message size limit (1009).
import assert from "node:assert/strict";
import { once } from "node:events";
import { after, before, it } from "node:test";
import WS from "ws";
import { start } from "../../examples/secure-server/server.js";
import type { WebSocketServer } from "../../src/node/index.js";

let wss: WebSocketServer;
let base = "";
before(async () => {
  wss = await start({ port: 0, rateLimit: { messages: 5, interval: 1000 } });
  base = wss.url!.replace(/\/$/, "");
});
after(() => wss.close());

function open(path: string, options: WS.ClientOptions = {}): Promise<{ ws?: WS; status?: number; hello?: unknown }> {
  return new Promise((resolve) => {
    const ws = new WS(`${base}${path}`, options);
    ws.once("message", (d) => resolve({ ws, hello: JSON.parse(String(d)) }));
    ws.on("unexpected-response", (_req, res) => resolve({ status: res.statusCode }));
    ws.on("error", () => {});
  });
}

const ORIGIN = { origin: "http://localhost:3000" };

it("refuses foreign origins and missing or unknown tokens", async () => {
  assert.equal((await open("/?token=alice-token", { origin: "https://evil.example" })).status, 403);
  assert.equal((await open("/?token=alice-token")).status, 403, "no Origin is not in the list");
  assert.equal((await open("/", ORIGIN)).status, 401);
  assert.equal((await open("/?token=nope", ORIGIN)).status, 401);
});

it("accepts a known token from an allowed origin (query or Bearer header)", async () => {
  const a = await open("/?token=alice-token", ORIGIN);
  assert.deepEqual(a.hello, { type: "hello", user: "alice" });
  const b = await open("/", { ...ORIGIN, headers: { authorization: "Bearer bob-token" } });
  assert.deepEqual(b.hello, { type: "hello", user: "bob" });
  a.ws?.close();
  b.ws?.close();
});

it("closes a flooding connection with 1008 and an oversize message with 1009", async () => {
  const flood = await open("/?token=alice-token", ORIGIN);
  for (let i = 0; i < 50; i++) flood.ws!.send("spam");
  assert.equal((await once(flood.ws!, "close"))[0], 1008);
  const big = await open("/?token=alice-token", ORIGIN);
  big.ws!.send("x".repeat(64 * 1024 + 1));
  assert.equal((await once(big.ws!, "close"))[0], 1009);
});
