/**
 * Interop with Chromium (/usr/bin/chromium through playwright-core): a page served by our HTTP
 * server opens a WebSocket to our server (attached on a path, with an Origin allow-list and
 * permessage-deflate, which Chromium offers), exchanges text and binary, and both sides close.
 */
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { after, before, describe, it } from "node:test";
import type { Browser } from "playwright-core";
import { WebSocketServer } from "../../src/node/index.js";
import { launchChromium } from "../helpers/chromium.js";
import { portOf } from "../helpers/raw-client.js";
import { UNIT, within } from "../helpers/time.js";

/** Runs in the page (plain JavaScript). */
const PAGE_SCRIPT = `async (url) => {
  const ws = new WebSocket(url, ["chat"]);
  ws.binaryType = "arraybuffer";
  const next = () => new Promise((resolve) => ws.addEventListener("message", resolve, { once: true }));
  await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject; });
  const out = { protocol: ws.protocol, extensions: ws.extensions };
  ws.send("hello chromium");
  out.text = (await next()).data;
  ws.send(new Uint8Array([0, 1, 2, 255]));
  out.binary = Array.from(new Uint8Array((await next()).data));
  const big = "x".repeat(200000);
  ws.send(big);
  out.big = (await next()).data === big;
  const closed = new Promise((resolve) => { ws.onclose = resolve; });
  ws.send("please close");
  const event = await closed;
  out.close = [event.code, event.reason, event.wasClean];
  const ws2 = new WebSocket(url);
  await new Promise((resolve) => { ws2.onopen = resolve; });
  const closed2 = new Promise((resolve) => { ws2.onclose = resolve; });
  ws2.close(3003, "client says bye");
  const event2 = await closed2;
  out.clientClose = [event2.code, event2.wasClean];
  return out;
}`;

let browser: Browser | undefined;
const http = createServer((_req, res) => {
  res.writeHead(200, { "Content-Type": "text/html" });
  res.end("<!doctype html><title>wirecable</title>");
});
let wss: WebSocketServer;
let origin = "";
const closes: Array<[number, string]> = [];
const rejected: number[] = [];

before(async () => {
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${portOf(http.address())}`;
  wss = new WebSocketServer({
    server: http,
    path: "/ws",
    origins: [origin],
    perMessageDeflate: true,
    protocols: ["chat"],
  });
  wss.on("rejected", (_req, error: { status: number }) => rejected.push(error.status));
  wss.on("connection", (conn) => {
    conn.on("message", (data: string | Buffer, isBinary: boolean) => {
      if (data === "please close") conn.close(4000, "server says bye");
      else conn.send(data, { binary: isBinary });
    });
    conn.on("close", (code: number, reason: string) => closes.push([code, reason]));
  });
  browser = await within(launchChromium(), 300 * UNIT, "chromium launch");
});

after(async () => {
  await browser?.close();
  await wss?.close({ timeout: 3 * UNIT });
  http.closeAllConnections();
  await new Promise((resolve) => http.close(resolve));
});

describe("Chromium", () => {
  it("talks to our server: deflate, subprotocol, text, binary, close both ways", async () => {
    const page = await browser!.newPage();
    await page.goto(`${origin}/`);
    const result = await within(
      // A string, not a function: the test's TypeScript transform injects helpers the page lacks.
      page.evaluate(`(${PAGE_SCRIPT})(${JSON.stringify(`ws://127.0.0.1:${portOf(http.address())}/ws`)})`) as Promise<
        Record<string, unknown>
      >,
      100 * UNIT,
      "page script",
    );
    assert.equal(result.protocol, "chat");
    assert.match(String(result.extensions), /permessage-deflate/);
    assert.equal(result.text, "hello chromium");
    assert.deepEqual(result.binary, [0, 1, 2, 255]);
    assert.equal(result.big, true);
    assert.deepEqual(result.close, [4000, "server says bye", true]);
    assert.deepEqual(result.clientClose, [3003, true]);
    assert.ok(closes.some(([code]) => code === 3003));
    await page.close();
  });

  it("is refused (403) from an origin not on the list", async () => {
    // Another port is another origin (RFC 6454), not on the allow-list.
    const other = createServer((_req, res) => res.end("<!doctype html><title>other</title>"));
    await new Promise<void>((resolve) => other.listen(0, "127.0.0.1", resolve));
    const page = await browser!.newPage();
    await page.goto(`http://127.0.0.1:${portOf(other.address())}/`);
    const outcome = await within(
      page.evaluate(
        `new Promise((resolve) => {
          const ws = new WebSocket(${JSON.stringify(`ws://127.0.0.1:${portOf(http.address())}/ws`)});
          ws.onopen = () => resolve("open");
          ws.onclose = (e) => resolve("closed " + e.code);
        })`,
      ) as Promise<string>,
      100 * UNIT,
    );
    assert.equal(outcome, "closed 1006");
    assert.deepEqual(rejected, [403]);
    await page.close();
    other.closeAllConnections();
    await new Promise((resolve) => other.close(resolve));
  });
});
