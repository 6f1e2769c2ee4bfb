/**
 * ReconnectingWebSocket picks its transport: WebSocket first, the HTTP fallback when a proxy
 * blocks the upgrade (stripped: 1006 before open; held: not open within fallback.timeout), the
 * choice remembered for `fallback.remember` and the WebSocket tried again afterwards; the
 * `transports` option forces one.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ReconnectingWebSocket } from "../../../src/client/reconnecting-websocket.js";
import type { Clock } from "../../../src/client/types.js";
import type { Connection } from "../../../src/node/connection.js";
import { WebSocketServer } from "../../../src/node/server.js";
import { WebSocket } from "../../../src/node/websocket.js";
import { BlockingProxy } from "../../helpers/blocking-proxy.js";
import { UNIT, until } from "../../helpers/time.js";

let wss: WebSocketServer;
let proxy: BlockingProxy;
let path = 0;

before(async () => {
  wss = new WebSocketServer({ port: 0, host: "127.0.0.1", fallback: true });
  await wss.ready;
  wss.on("connection", (conn: Connection) => conn.on("message", (data) => conn.send(String(data))));
  proxy = new BlockingProxy("strip");
  await proxy.listen(`http://127.0.0.1:${(wss.address() as { port: number }).port}`);
});

after(async () => {
  await proxy.close();
  await wss.close({ timeout: 10 * UNIT });
});

/** A URL of its own per test: the page-wide memory is keyed by host and path. */
function freshUrl(): string {
  return `${proxy.origin.replace("http", "ws")}/room-${++path}`;
}

const clients: ReconnectingWebSocket[] = [];
after(() => {
  for (const c of clients) c.close();
});

function client(url: string, options: ConstructorParameters<typeof ReconnectingWebSocket>[1] = {}) {
  const c = new ReconnectingWebSocket(url, { WebSocket, environment: null, initialDelay: 50, ...options });
  clients.push(c);
  const opens: Array<{ transport: string }> = [];
  const messages: unknown[] = [];
  c.on("open", (e) => opens.push(e));
  c.on("message", (e) => messages.push(e.data));
  return { c, opens, messages };
}

describe("ReconnectingWebSocket: WebSocket first, the HTTP fallback when it is blocked", () => {
  it("a proxy that strips Upgrade: falls back at once and works both ways", async () => {
    proxy.mode = "strip";
    const url = freshUrl();
    const { c, opens, messages } = client(url);
    await until(() => opens.length === 1, "open");
    assert.equal(opens[0]!.transport, "sse");
    assert.equal(c.transport, "sse");
    assert.equal(proxy.count(new URL(url).pathname), 1);
    c.send("ping over http");
    await until(() => messages.length === 1, "echo");
    assert.equal(messages[0], "ping over http");
    c.close();
  });

  it("remembers the choice for the URL: the next client goes straight to the fallback", async () => {
    proxy.mode = "strip";
    const url = freshUrl();
    const first = client(url);
    await until(() => first.opens.length === 1, "first open");
    const second = client(url);
    await until(() => second.opens.length === 1, "second open");
    assert.equal(second.opens[0]!.transport, "sse");
    assert.equal(proxy.count(new URL(url).pathname), 1, "only the first client tried an upgrade");
    first.c.close();
    second.c.close();
  });

  it("a proxy that holds the upgrade: falls back after fallback.timeout", async () => {
    proxy.mode = "hang";
    const errors: string[] = [];
    const { c, opens } = client(freshUrl(), { fallback: { timeout: 3 * UNIT } });
    c.on("error", (e) => errors.push(`${e.kind}: ${e.error.message}`));
    await until(() => opens.length === 1, "open");
    assert.equal(opens[0]!.transport, "sse");
    assert.ok(
      errors.some((e) => e.startsWith("timeout: WebSocket not open within")),
      errors.join(),
    );
    c.close();
    proxy.mode = "strip";
  });

  it("tries the WebSocket again once `remember` has passed, and uses it when it works", async () => {
    proxy.mode = "strip";
    let now = 1_000_000;
    const clock: Clock = {
      setTimeout: (f, ms) => setTimeout(f, ms),
      clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
      now: () => now,
      random: Math.random,
    };
    const room = freshUrl();
    const pathname = new URL(room).pathname;
    const { c, opens } = client(room, { clock, fallback: { remember: 60_000 } });
    await until(() => opens.length === 1, "open");
    assert.equal(opens[0]!.transport, "sse");
    c.reconnect();
    await until(() => opens.length === 2, "reopen");
    assert.equal(opens[1]!.transport, "sse");
    assert.equal(proxy.count(pathname), 1, "within remember: no upgrade");
    now += 61_000;
    c.reconnect();
    await until(() => opens.length === 3, "reopen after remember");
    assert.equal(proxy.count(pathname), 2, "the WebSocket was tried again");
    assert.equal(opens[2]!.transport, "sse");
    // The network stops blocking: the direct URL's WebSocket works and is used.
    const direct = client(wss.url!.replace(/\/$/, `/room-${path}`), { clock });
    await until(() => direct.opens.length === 1, "direct open");
    assert.equal(direct.opens[0]!.transport, "websocket");
    c.close();
    direct.c.close();
  });

  it('transports: ["websocket"] never falls back', async () => {
    proxy.mode = "strip";
    const url = freshUrl();
    const { c, opens } = client(url, { transports: ["websocket"] });
    const reconnecting: number[] = [];
    c.on("reconnecting", (e) => reconnecting.push(e.close.code));
    await until(() => reconnecting.length >= 2, "two failed attempts");
    assert.equal(opens.length, 0);
    assert.equal(proxy.count(new URL(url).pathname, true), 0, "no fallback request");
    c.close();
  });

  it('transports: ["sse"] never tries the WebSocket', async () => {
    const url = freshUrl();
    const { c, opens } = client(url, { transports: ["sse"] });
    await until(() => opens.length === 1, "open");
    assert.equal(opens[0]!.transport, "sse");
    assert.equal(proxy.count(new URL(url).pathname), 0);
    c.close();
    assert.throws(() => new ReconnectingWebSocket("ws://x/", { transports: [] }), TypeError);
    assert.throws(() => new ReconnectingWebSocket("ws://x/", { transports: ["sse", "sse"] }), TypeError);
  });

  it("a server down: both transports fail, an ordinary failed attempt, nothing remembered", async () => {
    const dead = new BlockingProxy("strip");
    await dead.listen("http://127.0.0.1:1");
    const url = `${dead.origin.replace("http", "ws")}/down`;
    const { c, opens } = client(url);
    const reconnecting: number[] = [];
    c.on("reconnecting", (e) => reconnecting.push(e.attempt));
    await until(() => reconnecting.length >= 2, "two failed attempts");
    assert.equal(opens.length, 0);
    assert.ok(dead.upgrades >= 2, "each attempt tried the WebSocket first");
    c.close();
    await dead.close();
  });
});
