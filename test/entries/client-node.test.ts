// The Node entry registers wirecable's own WebSocket as the default: no `WebSocket` option is
// needed on Node 20, and the client reconnects and flushes its queue over it.
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { ReconnectingWebSocket } from "../../src/entries/client-node.js";
import { WebSocket } from "../../src/node/index.js";
import { nextEvent, RecordingServer } from "../client/helpers/servers.js";
import { until } from "../helpers/time.js";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe("wirecable/client/node", () => {
  it("defaults to wirecable's WebSocket when no option is given", async () => {
    const srv = new RecordingServer();
    await srv.start(0);
    cleanups.push(() => srv.kill());
    srv.onMessage = (ws, text) => ws.send(`echo:${text}`);
    const client = new ReconnectingWebSocket(`ws://127.0.0.1:${srv.port}/`, {
      environment: null,
      initialDelay: 20,
      maxDelay: 100,
    });
    cleanups.push(() => client.close());
    const got: unknown[] = [];
    client.on("message", (e) => got.push(e.data));
    await nextEvent(client, "open");
    assert.equal(client.send("one"), "sent");
    await until(() => got.length === 1, "echo");
    assert.deepEqual(got, ["echo:one"]);

    await srv.kill();
    await nextEvent(client, "reconnecting");
    assert.equal(client.send("queued"), "queued");
    await srv.start();
    await nextEvent(client, "open");
    await until(() => srv.received.length === 2, "the queued message");
    assert.deepEqual(srv.received, ["one", "queued"]);
  });

  it("binary messages arrive as ArrayBuffer (binaryType arraybuffer) over wirecable's WebSocket", async () => {
    const srv = new RecordingServer();
    await srv.start(0);
    cleanups.push(() => srv.kill());
    srv.onMessage = (ws, text) => text === "binary please" && ws.send(Buffer.from([1, 2, 3]));
    const client = new ReconnectingWebSocket(`ws://127.0.0.1:${srv.port}/`, { environment: null, WebSocket });
    cleanups.push(() => client.close());
    await nextEvent(client, "open");
    const message = nextEvent(client, "message");
    client.send("binary please");
    const { data } = await message;
    assert.ok(data instanceof ArrayBuffer);
    assert.deepEqual([...new Uint8Array(data)], [1, 2, 3]);
  });
});
