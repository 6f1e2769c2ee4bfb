// examples/echo: the server echoes text and binary; the client prints both replies.
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { run } from "../../examples/echo/client.js";
import { start } from "../../examples/echo/server.js";
import type { WebSocketServer } from "../../src/node/index.js";

let wss: WebSocketServer;
before(async () => {
  wss = await start(0);
});
after(() => wss.close());

it("echoes text as text and binary as binary", async () => {
  const replies = await run(wss.url!);
  assert.equal(replies[0], "hello, echo");
  assert.ok(Buffer.isBuffer(replies[1]));
  assert.equal((replies[1] as Buffer).toString("hex"), "deadbeef");
});
