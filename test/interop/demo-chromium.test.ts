// The demo chat in Chromium (playwright-core, /usr/bin/chromium): two pages chat through the
// demo server; typing indicators and presence; user text is never HTML; one page reloads and
// rejoins with the room's history; the server restarts on the same port and both pages
// reconnect; a message typed while the server is down is delivered after the reconnection,
// exactly once; a tab that goes offline (Chromium's network emulation: its socket goes silent)
// gets every message it missed, once and in order, when it is back. These are the promises of
// docs/demo.md ("What the demo promises").
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { type DemoServer, startDemoServer } from "../../src/cli/demo/server.js";
import { ensureBuilt, startCli, stopAll } from "../cli/helpers.js";
import { launchChromium } from "../helpers/chromium.js";
import { PAGE_TIMEOUT, say, waitMessage, waitText } from "./chat-page.js";

const root = join(import.meta.dirname, "..", "..");

let browser: Browser;
let server: DemoServer | undefined;
let port = 0;

function start(p: number): Promise<DemoServer> {
  return startDemoServer({ port: p, host: "127.0.0.1", processMetrics: false });
}

before(async () => {
  execFileSync(process.execPath, [join(root, "scripts", "build-demo.mjs")], { stdio: "pipe" });
  server = await start(0);
  port = server.port;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await server?.close();
  stopAll();
});

async function joinAs(
  name: string,
  room: string,
  base = `http://127.0.0.1:${port}`,
  context?: BrowserContext,
): Promise<Page> {
  const page = await (context ?? browser).newPage();
  const errors: string[] = [];
  page.on("pageerror", (err) => errors.push(err.message));
  // Console errors too: a missing favicon, a refused resource, a CSP violation.
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(`console: ${message.text()}`);
  });
  page.on("dialog", () => errors.push("a dialog opened (script injection?)"));
  (page as Page & { errors?: string[] }).errors = errors;
  await page.goto(`${base}/`);
  await page.fill("#name", name);
  await page.fill("#room", room);
  await page.click("#join button[type=submit]");
  await waitStatus(page, "connected");
  return page;
}

/**
 * The page's errors, except the browser's own console lines for the reconnection attempts made
 * while the server is down or the tab offline ("WebSocket connection to ... failed", and the
 * HTTP fallback's "Failed to load resource: net::ERR_CONNECTION_REFUSED"), which no page can
 * silence. A resource the server answers with an error status still counts.
 */
function errorsBesidesReconnects(page: Page): string[] {
  const errors = (page as Page & { errors?: string[] }).errors ?? [];
  return errors.filter(
    (e) =>
      !/^console: WebSocket connection to '\S+' failed/.test(e) &&
      !/^console: Failed to load resource: net::ERR_(CONNECTION_REFUSED|INTERNET_DISCONNECTED)$/.test(e),
  );
}

function waitStatus(page: Page, state: string): Promise<unknown> {
  return page.waitForSelector(`#status[data-state="${state}"]`, { timeout: PAGE_TIMEOUT });
}

describe("demo chat in Chromium", { timeout: 120_000 }, () => {
  it("two pages chat; presence, typing, escaping, reload with history, server restart", async () => {
    const alice = await joinAs("alice", "test");
    const bob = await joinAs("bob", "test");

    // Presence: both see two people, alice saw bob join.
    await waitText(alice, "#count", "2");
    await waitText(bob, "#count", "2");
    await waitText(alice, "#messages", "bob joined");
    assert.match((await alice.textContent("#members")) ?? "", /alice, bob/);

    // Messages, both ways, live.
    await say(alice, "hello from alice");
    assert.equal(await waitMessage(bob, "hello from alice"), 1);
    assert.equal(await waitMessage(alice, "hello from alice"), 1);
    await say(bob, "hi alice");
    assert.equal(await waitMessage(alice, "hi alice"), 1);

    // Typing indicator.
    await bob.type("#text", "typ");
    await waitText(alice, "#typing", "bob is typing");
    await say(bob, "done typing");
    await waitMessage(alice, "done typing");
    await alice.waitForFunction(() => document.querySelector("#typing")?.textContent === "", undefined, {
      timeout: PAGE_TIMEOUT,
    });

    // User data is text, never HTML.
    const evil = `<img src=x onerror="alert(1)"><b>bold</b>`;
    await say(alice, evil);
    assert.equal(await waitMessage(bob, evil), 1);
    assert.equal(await bob.locator("#messages img, #messages b").count(), 0);

    // Reload: bob rejoins by itself (same tab, same member id: presence may show him leave and
    // come back, or nothing at all when both fall in one presence interval), sees the history.
    await bob.reload();
    await waitStatus(bob, "connected");
    assert.equal(await waitMessage(bob, "hello from alice"), 1);
    assert.equal(await waitMessage(bob, "hi alice"), 1);
    await waitText(bob, "#count", "2");

    // Server restart on the same port: both pages show the reconnection; a message typed while
    // the server is down is kept and delivered once after the reconnection.
    await server!.close();
    server = undefined;
    await waitStatus(alice, "reconnecting");
    await waitStatus(bob, "reconnecting");
    await waitText(alice, "#messages", "connection lost");
    await say(alice, "typed while the server was down");
    assert.equal(await alice.locator("#messages li.message[data-state=pending]").count(), 1);
    server = await start(port);
    await waitStatus(alice, "connected");
    await waitStatus(bob, "connected");
    await waitText(bob, "#messages", "reconnected");
    assert.equal(await waitMessage(bob, "typed while the server was down"), 1);
    assert.equal(await waitMessage(alice, "typed while the server was down"), 1);
    await waitText(alice, "#count", "2");

    // And the chat goes on.
    await say(bob, "after the restart");
    assert.equal(await waitMessage(alice, "after the restart"), 1);
    assert.equal(await alice.locator("#messages li.message[data-state=pending]").count(), 0);

    for (const page of [alice, bob]) {
      assert.deepEqual(errorsBesidesReconnects(page), []);
      await page.close();
    }
  });

  it("a tab that goes offline gets every message it missed, once and in order, when it is back", async () => {
    server ??= await start(port);
    const alice = await joinAs("alice", "offline");
    const bobContext = await browser.newContext();
    const bob = await joinAs("bob", "offline", undefined, bobContext);
    await waitText(alice, "#count", "2");
    await say(alice, "before");
    assert.equal(await waitMessage(bob, "before"), 1);

    // Bob's network goes: his socket stays open but nothing gets through (the server keeps
    // sending to it). Alice talks meanwhile; Bob types a message too.
    await bobContext.setOffline(true);
    const missed = Array.from({ length: 8 }, (_, i) => `missed ${i + 1}`);
    for (const text of missed) {
      await say(alice, text);
      await waitMessage(alice, text);
    }
    await say(bob, "typed while offline");
    // Bob's page finds its connection dead (no ping for 6 s) and tries to reconnect, in vain.
    await bob.waitForSelector('#status:not([data-state="connected"])', { timeout: PAGE_TIMEOUT });
    await bobContext.setOffline(false);
    await waitStatus(bob, "connected");

    // Every missed message, once and in order, then the chat goes on both ways.
    for (const text of missed) assert.equal(await waitMessage(bob, text), 1);
    const texts = await bob.evaluate(() =>
      [...document.querySelectorAll("#messages li.message .text")].map((e) => e.textContent),
    );
    // (Bob's own message shows where he typed it, pending, then sent)
    assert.deepEqual(
      texts.filter((t) => t !== "typed while offline"),
      ["before", ...missed],
    );
    assert.equal(await waitMessage(alice, "typed while offline"), 1);
    assert.equal(await waitMessage(bob, "typed while offline"), 1);
    await say(alice, "welcome back");
    assert.equal(await waitMessage(bob, "welcome back"), 1);
    await waitText(bob, "#count", "2");
    assert.equal(await bob.locator('#messages li[data-kind="resync"]').count(), 0, "nothing had to be resynced");
    for (const page of [alice, bob]) {
      assert.deepEqual(errorsBesidesReconnects(page), []);
      await page.close();
    }
    await bobContext.close();
  });

  it("`wirecable serve` as a process: SIGTERM, then a new process on the same port", async () => {
    ensureBuilt();
    const first = startCli(["serve", "--port", "0", "--log-level", "warn"]);
    const [, url, p] = await first.waitFor(/^(http:\/\/localhost:(\d+))$/m);
    const base = `http://localhost:${p}`;
    assert.equal(url, base);
    const carol = await joinAs("carol", "proc", base);
    const dave = await joinAs("dave", "proc", base);
    await waitText(carol, "#count", "2");
    await say(carol, "before the restart");
    await waitMessage(dave, "before the restart");

    first.child.kill("SIGTERM");
    assert.equal((await first.exited).code, 0);
    await waitStatus(carol, "reconnecting");
    await say(dave, "queued across processes");
    const second = startCli(["serve", "--port", p!, "--log-level", "warn"]);
    await second.waitFor(/^http:\/\/localhost:\d+$/m);
    await waitStatus(carol, "connected");
    assert.equal(await waitMessage(carol, "queued across processes"), 1);
    assert.equal(await waitMessage(dave, "queued across processes"), 1);
    for (const page of [carol, dave]) {
      assert.deepEqual(errorsBesidesReconnects(page), []);
      await page.close();
    }
    second.child.kill("SIGTERM");
    assert.equal((await second.exited).code, 0);
  });

  it("the join form hides after joining; joining again under a new name leaves no ghost member", async () => {
    const erin = await joinAs("erin", "rename");
    const fred = await joinAs("fred", "rename");
    await waitText(fred, "#count", "2");
    // The form is gone and the status badge stays in view.
    assert.equal(await erin.isVisible("#join"), false);
    assert.equal(await erin.isVisible("#chat"), true);
    assert.ok(await erin.locator("#status").isVisible());
    assert.deepEqual(
      await erin.evaluate(() => {
        const r = document.querySelector("#status")!.getBoundingClientRect();
        return [r.top >= 0, r.bottom <= window.innerHeight];
      }),
      [true, true],
    );
    // Joining again while joined (the form submitted under another name): the old name leaves.
    await erin.evaluate(() => {
      (document.querySelector("#name") as HTMLInputElement).value = "erin2";
      (document.querySelector("#join") as HTMLFormElement).requestSubmit();
    });
    await waitText(fred, "#members", "erin2");
    await waitText(fred, "#messages", "erin left");
    await fred.waitForFunction(
      () => (document.querySelector("#members")?.textContent ?? "").split(", ").sort().join() === "erin2,fred",
      undefined,
      { timeout: PAGE_TIMEOUT, polling: 20 },
    );
    assert.equal(await fred.textContent("#count"), "2");
    for (const page of [erin, fred]) {
      assert.deepEqual((page as Page & { errors?: string[] }).errors, []);
      await page.close();
    }
  });

  it("a page from another origin is refused (origin allow-list)", async () => {
    // The page itself is served from 127.0.0.1:port; a page on another origin opening the
    // cable gets a 403 and never connects.
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${port}/healthz`);
    const other = await browser.newPage();
    await other.route("http://evil.test/", (route) =>
      route.fulfill({ status: 200, contentType: "text/html", body: "<!doctype html><title>evil</title>" }),
    );
    await other.goto("http://evil.test/");
    const outcome = await other.evaluate(
      (url) =>
        new Promise<string>((resolve) => {
          const ws = new WebSocket(url, ["actioncable-v1-json"]);
          ws.onopen = () => resolve("open");
          ws.onclose = (e) => resolve(`closed ${e.code}`);
        }),
      `ws://127.0.0.1:${port}/cable`,
    );
    assert.equal(outcome, "closed 1006");
    await page.close();
    await other.close();
  });
});
