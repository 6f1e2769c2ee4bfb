/**
 * permessage-deflate interop with Chromium (playwright-core, /usr/bin/chromium): the browser's
 * WebSocket (offer `permessage-deflate; client_max_window_bits`) against our server with each
 * preset, through a byte-counting proxy proving compression both ways.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Browser } from "playwright-core";
import { launchChromium } from "../helpers/chromium.js";
import { compressible, countingProxy, echoServer } from "../node/deflate/interop-helpers.js";

let browser: Browser;

before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

describe("interop: Chromium -> wirecable server", () => {
  for (const preset of ["shared", "small", "dedicated"] as const) {
    it(`preset ${preset}: negotiated, compressed both ways, echoes intact`, async () => {
      const server = await echoServer({ preset, threshold: 0 });
      const proxy = await countingProxy(server.port);
      const page = await browser.newPage();
      try {
        const messages = Array.from({ length: 8 }, (_, i) => compressible(i));
        const raw = messages.reduce((n, m) => n + m.length, 0);
        const result = await page.evaluate(
          async ({ url, messages }) => {
            const ws = new WebSocket(url);
            await new Promise((resolve, reject) => {
              ws.onopen = resolve;
              ws.onerror = () => reject(new Error("error before open"));
            });
            const echoes: string[] = [];
            for (const m of messages) {
              ws.send(m);
              echoes.push(
                await new Promise<string>((resolve, reject) => {
                  ws.onmessage = (e) => resolve(String(e.data));
                  ws.onclose = (e) => reject(new Error(`closed ${e.code}`));
                }),
              );
            }
            const extensions = ws.extensions;
            ws.close();
            return { extensions, same: echoes.every((e, i) => e === messages[i]) };
          },
          { url: `ws://127.0.0.1:${proxy.port}/`, messages },
        );
        assert.equal(result.same, true);
        assert.equal(server.offers[0], "permessage-deflate; client_max_window_bits");
        assert.match(result.extensions, /^permessage-deflate/);
        assert.equal(server.extensions[0], result.extensions);
        if (preset === "shared") {
          assert.equal(result.extensions, "permessage-deflate; server_no_context_takeover; client_no_context_takeover");
        }
        if (preset === "small") {
          assert.equal(result.extensions, "permessage-deflate; server_max_window_bits=11; client_max_window_bits=11");
        }
        assert.ok(proxy.up < raw / 3, `browser->server ${proxy.up} for ${raw}`);
        assert.ok(proxy.down < raw / 3, `server->browser ${proxy.down} for ${raw}`);
      } finally {
        await page.close();
        await proxy.close();
        await server.close();
      }
    });
  }
});
