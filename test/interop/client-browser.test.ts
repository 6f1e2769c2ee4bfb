// The browser bundle in Chromium (playwright-core, /usr/bin/chromium): loaded by a <script> tag
// from a local http server, connected to a local `ws` server that is killed and restarted on
// the same port; reconnection seen in the page, messages queued meanwhile delivered exactly
// once and in order; the `online` event retries at once; the ActionCable consumer in the page.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import { CableServer, Channel } from "../../src/channels/index.js";
import { FakeCableServer } from "../client/helpers/fake-cable-server.js";
import { RecordingServer } from "../client/helpers/servers.js";
import { launchChromium } from "../helpers/chromium.js";
import { sleep, TIME_SCALE, UNIT, until } from "../helpers/time.js";

const root = join(import.meta.dirname, "..", "..");
const bundlePath = join(root, "dist", "browser", "wirecable-client.min.js");

let browser: Browser;
let http: Server;
let pageUrl = "";

before(async () => {
  // Always test the bundle built from the current sources.
  execFileSync(process.execPath, [join(root, "scripts", "build-client-bundle.mjs")], { stdio: "pipe" });
  const bundle = readFileSync(bundlePath);
  http = createServer((req, res) => {
    if (req.url === "/wirecable-client.min.js") {
      res.writeHead(200, { "content-type": "text/javascript" }).end(bundle);
    } else {
      res
        .writeHead(200, { "content-type": "text/html" })
        .end('<!doctype html><title>client</title><script src="/wirecable-client.min.js"></script>');
    }
  });
  http.listen(0, "127.0.0.1");
  await once(http, "listening");
  pageUrl = `http://127.0.0.1:${(http.address() as { port: number }).port}/`;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  http?.closeAllConnections();
  await new Promise<void>((r) => (http ? http.close(() => r()) : r()));
});

async function openPage(): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(pageUrl);
  assert.equal(
    await page.evaluate(() => typeof (globalThis as { WirecableClient?: unknown }).WirecableClient),
    "object",
  );
  return page;
}

type PageGlobals = {
  WirecableClient: typeof import("../../src/client/index.js");
  client: import("../../src/client/index.js").ReconnectingWebSocket;
  log: string[];
  received: unknown[];
};

function pageState(page: Page): Promise<string> {
  return page.evaluate(() => (globalThis as unknown as PageGlobals).client.state);
}

async function waitInPage(page: Page, predicate: string): Promise<void> {
  await page.waitForFunction(predicate, undefined, { timeout: 10_000 * TIME_SCALE, polling: 10 });
}

describe("browser bundle in Chromium", () => {
  it("reconnects after a server restart and delivers the queued messages exactly once, in order", async () => {
    const srv = new RecordingServer();
    await srv.start(0);
    srv.onMessage = (ws, text) => ws.send(`echo:${text}`);
    const page = await openPage();
    try {
      await page.evaluate((port) => {
        const g = globalThis as unknown as PageGlobals;
        g.log = [];
        g.received = [];
        g.client = new g.WirecableClient.ReconnectingWebSocket(`ws://127.0.0.1:${port}/`, {
          initialDelay: 50,
          maxDelay: 200,
          minUptime: 0,
        });
        for (const type of ["connecting", "open", "reconnecting", "closed"] as const) {
          g.client.on(type, () => g.log.push(type));
        }
        g.client.on("message", (e) => g.received.push(e.data));
      }, srv.port);
      await waitInPage(page, "globalThis.client.state === 'open'");
      assert.equal(await page.evaluate(() => (globalThis as unknown as PageGlobals).client.send("hello")), "sent");
      await waitInPage(page, "globalThis.received.includes('echo:hello')");

      await srv.kill();
      await waitInPage(page, "globalThis.client.state !== 'open'");
      const results = await page.evaluate(() => {
        const g = globalThis as unknown as PageGlobals;
        return Array.from({ length: 10 }, (_, i) => g.client.send(`queued-${i}`));
      });
      assert.deepEqual(new Set(results), new Set(["queued"]));
      await sleep(3 * UNIT);
      await srv.start();
      await waitInPage(page, "globalThis.client.state === 'open'");
      await until(() => srv.received.length === 11, "queued messages at the server");
      assert.deepEqual(srv.received, ["hello", ...Array.from({ length: 10 }, (_, i) => `queued-${i}`)]);
      await waitInPage(page, "globalThis.received.length === 11");
      const log = await page.evaluate(() => (globalThis as unknown as PageGlobals).log);
      assert.equal(log[0], "open", "the first connecting fired inside the constructor");
      assert.ok(log.includes("reconnecting"));
      assert.equal(log.at(-1), "open");
      await sleep(UNIT);
      assert.equal(srv.received.length, 11, "nothing twice");
      await page.evaluate(() => (globalThis as unknown as PageGlobals).client.close());
      assert.equal(await pageState(page), "closed");
    } finally {
      await page.close();
      await srv.kill();
    }
  });

  it("the online event retries at once instead of waiting out the backoff", async () => {
    const srv = new RecordingServer();
    await srv.start(0);
    const port = srv.port;
    await srv.kill();
    const page = await openPage();
    try {
      await page.evaluate((p) => {
        const g = globalThis as unknown as PageGlobals;
        // A long backoff: without the online signal, the second attempt would be minutes away.
        g.client = new g.WirecableClient.ReconnectingWebSocket(`ws://127.0.0.1:${p}/`, {
          initialDelay: 600_000,
          maxDelay: 600_000,
          jitter: "none",
        });
      }, port);
      await waitInPage(page, "globalThis.client.state === 'reconnecting'");
      await srv.start(port);
      await sleep(2 * UNIT);
      assert.equal(await pageState(page), "reconnecting");
      await page.context().setOffline(true);
      await page.context().setOffline(false);
      await waitInPage(page, "globalThis.client.state === 'open'");
      assert.equal(srv.connections, 1);
    } finally {
      await page.evaluate(() => (globalThis as unknown as PageGlobals).client?.close()).catch(() => {});
      await page.close();
      await srv.kill();
    }
  });

  it("visibilitychange to visible probes an open connection; a silent server is left for a new one", async () => {
    const srv = new RecordingServer();
    await srv.start(0);
    // The server never answers "ping": only the probe sent on visibilitychange can reveal it.
    const page = await openPage();
    try {
      await page.evaluate((port) => {
        const g = globalThis as unknown as PageGlobals;
        g.log = [];
        g.client = new g.WirecableClient.ReconnectingWebSocket(`ws://127.0.0.1:${port}/`, {
          initialDelay: 50,
          maxDelay: 200,
          heartbeat: { interval: 600_000, timeout: 200, message: "ping", reply: "pong" },
        });
        g.client.on("error", (e) => g.log.push(`error ${e.kind}`));
      }, srv.port);
      await waitInPage(page, "globalThis.client.state === 'open'");
      await page.evaluate(() => {
        Object.defineProperty(document, "visibilityState", { value: "visible", configurable: true });
        document.dispatchEvent(new Event("visibilitychange"));
      });
      await until(() => srv.received.includes("ping"), "the probe");
      await waitInPage(page, "globalThis.log.includes('error stale')");
      await until(() => srv.connections === 2, "a new connection");
      await waitInPage(page, "globalThis.client.state === 'open'");
    } finally {
      await page.evaluate(() => (globalThis as unknown as PageGlobals).client?.close()).catch(() => {});
      await page.close();
      await srv.kill();
    }
  });

  it("the ActionCable consumer subscribes, performs and resubscribes after a restart", async () => {
    const srv = new FakeCableServer();
    srv.pingInterval = 100;
    await srv.start(0);
    const page = await openPage();
    try {
      await page.evaluate((port) => {
        const g = globalThis as unknown as PageGlobals & { consumer: unknown; sub: unknown };
        g.log = [];
        const consumer = g.WirecableClient.createConsumer(`ws://127.0.0.1:${port}/cable`, {
          initialDelay: 50,
          maxDelay: 200,
          minUptime: 0,
        });
        g.consumer = consumer;
        g.sub = consumer.subscriptions.create(
          { channel: "ChatChannel", room: "browser" },
          {
            connected(d) {
              g.log.push(`connected ${d.reconnected}`);
            },
            disconnected() {
              g.log.push("disconnected");
            },
            received(data) {
              g.log.push(`received ${JSON.stringify(data)}`);
            },
          },
        );
      }, srv.port);
      await waitInPage(page, "globalThis.log.includes('connected false')");
      await page.evaluate(() =>
        (globalThis as unknown as { sub: { perform(a: string, d: object): void } }).sub.perform("speak", {
          text: "hi",
        }),
      );
      await waitInPage(page, "globalThis.log.some((l) => l.startsWith('received'))");
      await srv.kill();
      await waitInPage(page, "globalThis.log.includes('disconnected')");
      await page.evaluate(() =>
        (globalThis as unknown as { sub: { perform(a: string, d: object): void } }).sub.perform("speak", {
          text: "queued",
        }),
      );
      await srv.start();
      await waitInPage(page, "globalThis.log.includes('connected true')");
      await until(() => srv.commands.some((c) => c.connection === 2 && c.command === "message"), "queued action");
      const second = srv.commands.filter((c) => c.connection === 2).map((c) => c.command);
      assert.deepEqual(second, ["subscribe", "message"]);
      const log = await page.evaluate(() => (globalThis as unknown as PageGlobals).log);
      assert.deepEqual(
        log,
        [
          "connected false",
          'received {"echo":{"text":"hi","action":"speak"}}',
          "disconnected",
          "connected true",
          'received {"echo":{"text":"queued","action":"speak"}}',
        ].slice(0, log.length),
      );
    } finally {
      await page
        .evaluate(() => (globalThis as unknown as { consumer: { disconnect(): void } }).consumer?.disconnect())
        .catch(() => {});
      await page.close();
      await srv.kill();
    }
  });

  it("the consumer against wirecable's CableServer: broadcast round trip, server_restart, resubscription", async () => {
    class ChatChannel extends Channel {
      override subscribed(): void {
        void this.streamFrom(`chat:${String(this.params.room)}`);
      }
      speak(data: Record<string, unknown>): void {
        void this.broadcast(`chat:${String(this.params.room)}`, { text: data.text });
      }
    }
    const start = async (port: number) => {
      const server = new CableServer({ port, host: "127.0.0.1", channels: { ChatChannel }, pingInterval: 200 });
      await server.ready;
      return server;
    };
    let server = await start(0);
    const port = (server.address() as { port: number }).port;
    const page = await openPage();
    type Sub = { perform(a: string, d: Record<string, unknown>): string };
    try {
      await page.evaluate((p) => {
        const g = globalThis as unknown as PageGlobals & { consumer: unknown; sub: Sub };
        g.log = [];
        const consumer = g.WirecableClient.createConsumer(`ws://127.0.0.1:${p}/cable`, {
          initialDelay: 50,
          maxDelay: 200,
          minUptime: 0,
        });
        g.consumer = consumer;
        const sub = consumer.subscriptions.create(
          { channel: "ChatChannel", room: "b" },
          {
            connected(d) {
              g.log.push(`connected ${d.reconnected}`);
            },
            disconnected(d) {
              g.log.push(`disconnected ${d.willAttemptReconnect}`);
            },
            received(data) {
              g.log.push(`received ${JSON.stringify(data)}`);
            },
          },
        );
        g.sub = sub;
      }, port);
      await waitInPage(page, "globalThis.log.includes('connected false')");
      await page.evaluate(() => (globalThis as unknown as { sub: Sub }).sub.perform("speak", { text: "one" }));
      await waitInPage(page, `globalThis.log.includes('received {"text":"one"}')`);
      await server.close(); // server_restart, reconnect: true
      await waitInPage(page, "globalThis.log.includes('disconnected true')");
      const queued = await page.evaluate(() =>
        (globalThis as unknown as { sub: Sub }).sub.perform("speak", { text: "two" }),
      );
      assert.equal(queued, "queued");
      server = await start(port);
      await waitInPage(page, "globalThis.log.includes('connected true')");
      await waitInPage(page, `globalThis.log.includes('received {"text":"two"}')`);
      const log = await page.evaluate(() => (globalThis as unknown as PageGlobals).log);
      assert.deepEqual(log, [
        "connected false",
        'received {"text":"one"}',
        "disconnected true",
        "connected true",
        'received {"text":"two"}',
      ]);
    } finally {
      await page
        .evaluate(() => (globalThis as unknown as { consumer: { disconnect(): void } }).consumer?.disconnect())
        .catch(() => {});
      await page.close();
      await server.close();
    }
  });
});
