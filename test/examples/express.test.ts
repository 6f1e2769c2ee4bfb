// examples/express: Express routes and a WebSocket endpoint on one port via handleUpgrade;
// other upgrade paths get 404.
import assert from "node:assert/strict";
import { once } from "node:events";
import { after, before, it } from "node:test";
import WS from "ws";
import { type App, start } from "../../examples/express/server.js";

let app: App;
before(async () => {
  app = await start(0);
});
after(() => app.close());

it("serves HTTP routes and WebSockets on /ws", async () => {
  assert.match(await (await fetch(`${app.url}/`)).text(), /WebSocket at \/ws/);
  const ws = new WS(`${app.url.replace("http", "ws")}/ws`);
  await once(ws, "open");
  ws.send("through express");
  const [reply] = await once(ws, "message");
  assert.equal(String(reply), "through express");
  const stats = (await (await fetch(`${app.url}/stats`)).json()) as { clients: number; messages: number };
  assert.deepEqual(stats, { clients: 1, messages: 1 });
  ws.close();
  await once(ws, "close");
});

it("refuses upgrades on other paths with 404", async () => {
  const ws = new WS(`${app.url.replace("http", "ws")}/elsewhere`);
  ws.on("error", () => {});
  const [, res] = await once(ws, "unexpected-response");
  assert.equal((res as { statusCode: number }).statusCode, 404);
});
