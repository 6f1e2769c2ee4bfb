/**
 * The official @rails/actioncable client in Chromium (playwright-core, /usr/bin/chromium), its
 * ESM build served to the page, against CableServer mounted on the same HTTP server: connect,
 * subscribe/confirm, perform, broadcasts, rejection, unauthorized, reconnect after a restart.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import { UnauthorizedError } from "../../src/cable/errors.js";
import { CableServer } from "../../src/channels/cable-server.js";
import { Channel } from "../../src/channels/channel.js";
import { launchChromium } from "../helpers/chromium.js";

// biome-ignore lint/suspicious/noExplicitAny: globals the test page defines
type PageWindow = any;

const require = createRequire(import.meta.url);
const acPath = require.resolve("@rails/actioncable/app/assets/javascripts/actioncable.esm.js");
const acSource = readFileSync(acPath, "utf8");

const PAGE = `<!doctype html><meta charset="utf-8"><title>cable</title>
<script type="module">
import * as AC from "/actioncable.js";
window.AC = AC;
window.events = [];
window.subscribe = (consumer, params) => consumer.subscriptions.create(params, {
  connected(d) { window.events.push({ id: JSON.stringify(params), event: "connected", data: d }); },
  disconnected(d) { window.events.push({ id: JSON.stringify(params), event: "disconnected", data: d }); },
  rejected() { window.events.push({ id: JSON.stringify(params), event: "rejected" }); },
  received(d) { window.events.push({ id: JSON.stringify(params), event: "received", data: d }); },
});
window.ready = true;
</script>`;

class ChatChannel extends Channel<{ user: string }> {
  override subscribed(): void {
    if (this.params.room === "locked") {
      this.reject();
      return;
    }
    this.streamFrom(`chat:${this.params.room}`);
  }
  speak(data: { text: string }): void {
    void this.broadcast(`chat:${this.params.room}`, { text: data.text, from: this.identity.user });
  }
}

function authenticate(req: { url?: string }) {
  const user = new URL(req.url ?? "/", "http://x").searchParams.get("user");
  if (!user) throw new UnauthorizedError();
  return { user };
}

describe("@rails/actioncable client in Chromium against CableServer", () => {
  let http: Server;
  let cable: CableServer;
  let browser: Browser;
  let page: Page;
  let base: string;

  const mount = async () => {
    cable = new CableServer({ server: http, channels: { ChatChannel }, authenticate, pingInterval: 100 });
    await cable.ready;
  };

  before(async () => {
    http = createServer((req, res) => {
      if (req.url === "/actioncable.js") {
        res.writeHead(200, { "content-type": "text/javascript" }).end(acSource);
      } else {
        res.writeHead(200, { "content-type": "text/html" }).end(PAGE);
      }
    });
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    base = `127.0.0.1:${(http.address() as AddressInfo).port}`;
    await mount();
    browser = await launchChromium();
    page = await browser.newPage();
    await page.goto(`http://${base}/`);
    await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true);
  });

  after(async () => {
    await browser?.close();
    await cable?.close();
    http?.closeAllConnections();
    await new Promise((r) => http?.close(r));
  });

  async function waitEvent(id: string, event: string, extra = "true", timeout = 5000): Promise<unknown> {
    const handle = await page.waitForFunction(
      ([id, event, extra]) => {
        const w = window as unknown as { events: Array<{ id: string; event: string; data?: unknown }> };
        const test = new Function("e", `return ${extra}`) as (e: unknown) => boolean;
        const match = w.events.find((e) => e.id === id && e.event === event && test(e));
        return match ?? false;
      },
      [id, event, extra] as const,
      { timeout },
    );
    return handle.jsonValue();
  }

  it("connects, subscribes, performs and receives broadcasts", async () => {
    const id = JSON.stringify({ channel: "ChatChannel", room: "1" });
    await page.evaluate((url) => {
      const w = window as unknown as Record<string, (...a: unknown[]) => unknown> & {
        AC: { createConsumer(u: string): unknown };
      };
      // The server pings every 100 ms here, so a 0.5 s stale threshold (default 6 s) keeps the
      // restart test short; it must be set before the consumer's monitor starts polling.
      (w.AC as PageWindow).ConnectionMonitor.staleThreshold = 0.5;
      const consumer = w.AC.createConsumer(url);
      (window as unknown as { consumer: unknown }).consumer = consumer;
      (window as unknown as { sub: unknown }).sub = w.subscribe(consumer, { channel: "ChatChannel", room: "1" });
    }, `ws://${base}/cable?user=ann`);
    assert.deepEqual(await waitEvent(id, "connected"), { id, event: "connected", data: { reconnected: false } });
    assert.equal(
      await page.evaluate(() => (window as PageWindow).consumer.connection.getProtocol()),
      "actioncable-v1-json",
    );
    await page.evaluate(() => (window as PageWindow).sub.perform("speak", { text: "hi from chromium" }));
    assert.deepEqual(((await waitEvent(id, "received")) as { data: unknown }).data, {
      text: "hi from chromium",
      from: "ann",
    });
    await cable.broadcast("chat:1", { text: "server says" });
    await waitEvent(id, "received", "e.data.text === 'server says'");
  });

  it("is rejected by a rejecting channel and by an unknown one", async () => {
    await page.evaluate(() => {
      const w = window as PageWindow;
      w.subscribe(w.consumer, { channel: "ChatChannel", room: "locked" });
      w.subscribe(w.consumer, { channel: "GhostChannel" });
    });
    await waitEvent(JSON.stringify({ channel: "ChatChannel", room: "locked" }), "rejected");
    await waitEvent(JSON.stringify({ channel: "GhostChannel" }), "rejected");
  });

  it("reconnects and resubscribes after the cable restarts", async () => {
    const id = JSON.stringify({ channel: "ChatChannel", room: "1" });
    await cable.close();
    await waitEvent(id, "disconnected", "e.data.willAttemptReconnect === true");
    await mount();
    await waitEvent(id, "connected", "e.data.reconnected === true", 10_000);
    await cable.broadcast("chat:1", { text: "after restart" });
    await waitEvent(id, "received", "e.data.text === 'after restart'");
    await page.evaluate(() => (window as PageWindow).consumer.disconnect());
  });

  it("an unauthorized connection is disconnected and does not reconnect", async () => {
    const id = JSON.stringify({ channel: "ChatChannel", room: "2" });
    await page.evaluate((url) => {
      const w = window as PageWindow;
      w.anon = w.AC.createConsumer(url);
      w.subscribe(w.anon, { channel: "ChatChannel", room: "2" });
    }, `ws://${base}/cable`);
    await waitEvent(id, "disconnected", "e.data.willAttemptReconnect === false");
    assert.equal(await page.evaluate(() => Boolean((window as PageWindow).anon.connection.monitor.isRunning())), false);
  });
});
