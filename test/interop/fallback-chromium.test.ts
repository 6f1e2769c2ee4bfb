// The demo chat in Chromium with WebSockets blocked (issue 23's "done when"): the pages are
// served through a reverse proxy that strips the Upgrade header from every request, as some
// corporate middleboxes do, so Chromium's WebSocket fails before it opens; the demo's consumer
// falls back to the HTTP transport by itself. Two tabs of one browser chat both ways, see each
// other's presence and typing; the proxy then cuts both event streams (a response time limit)
// and the chat goes on without a reconnection; a page of another origin cannot open a session.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { type DemoServer, startDemoServer } from "../../src/cli/demo/server.js";
import { FallbackTransport } from "../../src/node/fallback/transport.js";
import { BlockingProxy } from "../helpers/blocking-proxy.js";
import { launchChromium } from "../helpers/chromium.js";
import { PAGE_TIMEOUT, say, waitMessage, waitText } from "./chat-page.js";

const root = join(import.meta.dirname, "..", "..");

let browser: Browser;
let context: BrowserContext;
let server: DemoServer;
const proxy = new BlockingProxy("strip");
const rejected: number[] = [];

before(async () => {
  execFileSync(process.execPath, [join(root, "scripts", "build-demo.mjs")], { stdio: "pipe" });
  await proxy.listen();
  // The public origin is the proxy's, as behind any reverse proxy.
  server = await startDemoServer({ port: 0, host: "127.0.0.1", processMetrics: false, origins: [proxy.origin] });
  server.wss.on("rejected", (_req, error: { status: number }) => rejected.push(error.status));
  proxy.target = `http://127.0.0.1:${server.port}`;
  browser = await launchChromium();
  context = await browser.newContext();
});

after(async () => {
  await browser?.close();
  await server?.close();
  await proxy.close();
});

async function joinAs(name: string, room: string): Promise<Page> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("pageerror", (err) => errors.push(err.message));
  (page as Page & { errors?: string[] }).errors = errors;
  await page.goto(`${proxy.origin}/`);
  await page.fill("#name", name);
  await page.fill("#room", room);
  await page.click("#join button[type=submit]");
  await page.waitForSelector('#status[data-state="connected"]', { timeout: PAGE_TIMEOUT });
  return page;
}

describe("the demo chat in Chromium with WebSockets blocked", { timeout: 120_000 }, () => {
  it("two tabs chat over the HTTP fallback; cut streams resume; presence and typing work", async () => {
    const alice = await joinAs("alice", "blocked");
    const bob = await joinAs("bob", "blocked");
    assert.ok(proxy.upgrades >= 1, "Chromium tried the WebSocket first");
    for (const page of [alice, bob]) {
      assert.equal(await page.getAttribute("#status", "data-transport"), "sse");
      assert.equal(await page.textContent("#status"), "connected (HTTP fallback)");
    }
    const sessions = [...server.wss.clients].filter((c) => c.socket instanceof FallbackTransport);
    assert.equal(sessions.length, 2, "both tabs run over fallback sessions");

    await waitText(alice, "#count", "2");
    await waitText(alice, "#messages", "bob joined");
    await say(alice, "hello through the proxy");
    assert.equal(await waitMessage(bob, "hello through the proxy"), 1);
    await say(bob, "hi alice");
    assert.equal(await waitMessage(alice, "hi alice"), 1);
    await bob.type("#text", "typ");
    await waitText(alice, "#typing", "bob is typing");
    await say(bob, "done");
    await waitMessage(alice, "done");

    // The proxy cuts both event streams: each page resumes its session where it was.
    proxy.cutStreams();
    await say(alice, "after the cut");
    assert.equal(await waitMessage(bob, "after the cut"), 1);
    assert.equal(await waitMessage(alice, "after the cut"), 1);
    await say(bob, "and back");
    assert.equal(await waitMessage(alice, "and back"), 1);
    assert.equal(
      await alice.locator('#messages li.system[data-kind="disconnected"]').count(),
      0,
      "no reconnection shown",
    );
    assert.equal([...server.wss.clients].length, 2, "the same two sessions");

    for (const page of [alice, bob]) {
      assert.deepEqual((page as Page & { errors?: string[] }).errors, []);
      await page.close();
    }
  });

  it("a page of another origin cannot open a session (origin allow-list)", async () => {
    // http://localhost:PORT is another origin than the demo's public http://127.0.0.1:PORT.
    const evil = await context.newPage();
    await evil.goto(`${proxy.origin.replace("127.0.0.1", "localhost")}/healthz`);
    const before = rejected.length;
    const outcome = await evil.evaluate(async (url) => {
      try {
        const res = await fetch(url, { method: "POST", credentials: "include", mode: "no-cors" });
        return `answered ${res.type}`;
      } catch (error) {
        return `failed ${error}`;
      }
    }, `${proxy.origin}/cable?wirecable=open`);
    assert.equal(outcome, "answered opaque", "an opaque answer: nothing of it is readable");
    assert.equal(rejected.length, before + 1);
    assert.equal(rejected.at(-1), 403);
    await evil.close();
  });
});
