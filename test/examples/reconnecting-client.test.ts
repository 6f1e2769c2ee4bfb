// examples/reconnecting-client: the echo server stops and comes back on the same port; the
// client shows the reconnection with its backoff, and a message sent meanwhile is queued and
// echoed after the reconnection.
import assert from "node:assert/strict";
import { after, it } from "node:test";
import { start } from "../../examples/echo/server.js";
import { createClient } from "../../examples/reconnecting-client/client.js";
import type { ReconnectingWebSocket } from "../../src/client/index.js";
import type { WebSocketServer } from "../../src/node/index.js";
import { sleep, until } from "../helpers/time.js";

let wss: WebSocketServer | undefined;
let client: ReconnectingWebSocket | undefined;
after(async () => {
  client?.close();
  await wss?.close();
});

it("reconnects with backoff and delivers what was queued", async () => {
  wss = await start(0);
  const { port } = wss.address() as { port: number };
  const lines: string[] = [];
  client = createClient(`ws://127.0.0.1:${port}`, { initialDelay: 100, maxDelay: 400, log: (l) => lines.push(l) });
  await until(() => lines.some((l) => l.startsWith("open")), "first open");
  assert.equal(client.send("before"), "sent");
  await until(() => lines.includes("message: before"), "echo before");

  await wss.close();
  await until(() => lines.some((l) => /^lost \(\d+\); retry 1 in \d+ ms$/.test(l)), "reconnecting");
  assert.equal(client.send("while down"), "queued");
  await sleep(300); // a few failed attempts
  wss = await start(port);
  await until(() => lines.includes("message: while down"), "queued message echoed");
  assert.equal(lines.filter((l) => l === "message: while down").length, 1);
  assert.equal(lines.filter((l) => l.startsWith("open")).length, 2, lines.join("\n"));
});
