/**
 * Chromium speaks RFC 8441 to our HTTP/2 server over TLS: the page is loaded over HTTP/2 (the
 * session Chromium then reuses), its WebSockets open as extended CONNECT streams on that session
 * (the server sees `:protocol` websocket streams with httpVersion 2.0 and no HTTP/1.1 upgrade),
 * exchange text and binary, and close cleanly both ways. Chromium's own WebSocketStream talks to
 * our server-side WebSocketStream over the same session. The demo chat served over TLS (what
 * `serve --http2` runs) gets its cable over an HTTP/2 stream from the page.
 */
import assert from "node:assert/strict";
import { createSecureServer } from "node:http2";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import type { Browser } from "playwright-core";
import { startDemoServer } from "../../src/cli/demo/server.js";
import { type Connection, WebSocketServer, WebSocketStream } from "../../src/node/index.js";
import { ensureBuilt } from "../cli/helpers.js";
import { launchChromium } from "../helpers/chromium.js";
import { UNIT, until, within } from "../helpers/time.js";
import { testCertificate } from "../helpers/tls.js";

/** Runs in the page (plain JavaScript). */
const PAGE_SCRIPT = `async (base) => {
  const out = {};
  const ws = new WebSocket(base + "/echo", ["chat"]);
  ws.binaryType = "arraybuffer";
  const next = () => new Promise((resolve) => ws.addEventListener("message", resolve, { once: true }));
  await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject; });
  out.protocol = ws.protocol;
  out.extensions = ws.extensions;
  ws.send("hello over h2");
  out.text = (await next()).data;
  ws.send(new Uint8Array([0, 1, 2, 255]));
  out.binary = Array.from(new Uint8Array((await next()).data));
  const big = "x".repeat(300000);
  ws.send(big);
  out.big = (await next()).data === big;
  const closed = new Promise((resolve) => { ws.onclose = resolve; });
  ws.close(4001, "bye from chromium");
  const event = await closed;
  out.close = [event.code, event.reason, event.wasClean];

  const stream = new WebSocketStream(base + "/stream");
  const { readable, writable } = await stream.opened;
  const writer = writable.getWriter();
  const reader = readable.getReader();
  await writer.write("streamed");
  out.streamed = (await reader.read()).value;
  await writer.write(new Uint8Array([7, 8, 9]));
  const bytes = (await reader.read()).value;
  out.streamedBinary = Array.from(new Uint8Array(bytes instanceof ArrayBuffer ? bytes : bytes.buffer));
  stream.close({ closeCode: 1000, reason: "done" });
  const info = await stream.closed;
  out.streamClosed = [info.closeCode, info.reason];
  return out;
}`;

let browser: Browser | undefined;
const { cert, key } = testCertificate();
const server = createSecureServer({ cert, key, allowHTTP1: true });
const wss = new WebSocketServer({ server, path: "/echo", protocols: ["chat"], perMessageDeflate: true });
const streams = new WebSocketServer({ server, path: "/stream" });
let base = "";
let upgrades = 0;
const connections: Array<{ httpVersion: string; method: string; protocol: unknown; session: unknown }> = [];
const closes: Array<[number, string, boolean]> = [];
const pageSessions = new Set<unknown>();

function record(
  conn: Connection,
  req: { httpVersion: string; method?: string; headers: Record<string, unknown> },
): void {
  connections.push({
    httpVersion: req.httpVersion,
    method: req.method ?? "",
    protocol: req.headers[":protocol"],
    session: (conn.socket as unknown as { session?: unknown }).session,
  });
}

before(async () => {
  server.on("upgrade", () => upgrades++);
  server.on("stream", (stream, headers) => {
    if (headers[":method"] !== "GET") return;
    pageSessions.add(stream.session);
    stream.respond({ ":status": 200, "content-type": "text/html" });
    stream.end("<!doctype html><title>wirecable over HTTP/2</title>");
  });
  wss.on("connection", (conn: Connection, req) => {
    record(conn, req);
    conn.on("message", (data: string | Buffer, isBinary: boolean) => conn.send(data, { binary: isBinary }));
    conn.on("close", (code: number, reason: string, wasClean: boolean) => closes.push([code, reason, wasClean]));
  });
  streams.on("connection", (conn: Connection, req) => {
    record(conn, req);
    void WebSocketStream.from(conn)
      .opened.then(({ readable, writable }) => readable.pipeTo(writable))
      .catch(() => {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `wss://localhost:${(server.address() as AddressInfo).port}`;
  browser = await launchChromium(["--ignore-certificate-errors"]);
});

after(async () => {
  await browser?.close();
  await Promise.all([wss.close({ timeout: 5 * UNIT }), streams.close({ timeout: 5 * UNIT })]);
  await new Promise((resolve) => server.close(resolve));
});

describe("Chromium over HTTP/2 (RFC 8441)", { timeout: 120_000 }, () => {
  it("opens its WebSockets as extended CONNECT streams on the page's HTTP/2 session", async () => {
    const page = await browser!.newPage({ ignoreHTTPSErrors: true });
    await page.goto(`${base.replace("wss:", "https:")}/`);
    const out = (await within(
      page.evaluate(`(${PAGE_SCRIPT})(${JSON.stringify(base)})`),
      300 * UNIT,
      "the page script",
    )) as Record<string, unknown>;
    await page.close();
    assert.equal(out.protocol, "chat");
    assert.match(String(out.extensions), /^permessage-deflate/);
    assert.equal(out.text, "hello over h2");
    assert.deepEqual(out.binary, [0, 1, 2, 255]);
    assert.equal(out.big, true);
    assert.deepEqual(out.close, [4001, "", true], "our close echo carries the code (RFC 6455 5.5.1)");
    assert.equal(out.streamed, "streamed");
    assert.deepEqual(out.streamedBinary, [7, 8, 9]);
    assert.deepEqual(out.streamClosed, [1000, ""]);

    assert.equal(upgrades, 0, "no HTTP/1.1 upgrade");
    assert.equal(connections.length, 2);
    for (const c of connections) {
      assert.equal(c.httpVersion, "2.0");
      assert.equal(c.method, "CONNECT");
      assert.equal(c.protocol, "websocket");
      assert.ok(pageSessions.has(c.session), "the WebSocket stream is on the session that served the page");
    }
    await until(() => closes.length === 1, "the server's close");
    assert.deepEqual(closes, [[4001, "bye from chromium", true]]);
  });

  it("the demo chat over TLS (serve --http2): the page joins a room over an HTTP/2 WebSocket stream", async () => {
    ensureBuilt(); // the page's bundle
    const demo = await startDemoServer({ port: 0, host: "127.0.0.1", processMetrics: false, tls: { cert, key } });
    const seen: string[] = [];
    demo.wss.on("connection", (_conn: Connection, req: { httpVersion: string; method?: string }) =>
      seen.push(`${req.method} HTTP/${req.httpVersion}`),
    );
    try {
      const page = await browser!.newPage({ ignoreHTTPSErrors: true });
      await page.goto(`${demo.url}/`);
      await page.fill("#name", "ann");
      await page.fill("#room", "over-h2");
      await page.click("#join button[type=submit]");
      await page.waitForSelector('#status[data-state="connected"]', { timeout: 300 * UNIT });
      await page.close();
      assert.deepEqual(seen, ["CONNECT HTTP/2.0"], "one WebSocket, an extended CONNECT stream");
    } finally {
      await demo.close();
    }
  });
});
