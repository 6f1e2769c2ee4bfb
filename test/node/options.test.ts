/**
 * Server option validation (src/node/options.ts): reserved response headers are refused at
 * construction with an OptionError naming `headers`, before anything listens.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import WebSocketClient from "ws";
import { OptionError, WebSocketServer } from "../../src/node/index.js";
import { isReservedResponseHeader } from "../../src/node/options.js";
import { event, UNIT, within } from "./helpers.js";

const cleanups: Array<() => unknown> = [];
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

describe("server option headers", () => {
  for (const name of [
    "Upgrade",
    "upgrade",
    "Connection",
    "CONNECTION",
    "Sec-WebSocket-Accept",
    "Sec-WebSocket-Protocol",
    "Sec-WebSocket-Extensions",
    "sec-websocket-version",
    "Content-Length",
    "Transfer-Encoding",
  ]) {
    it(`refuses ${name} at construction with an OptionError naming headers`, () => {
      assert.throws(
        () => new WebSocketServer({ noServer: true, headers: { [name]: "x" } }),
        (err: unknown) => {
          assert.ok(err instanceof OptionError, `expected an OptionError, got ${String(err)}`);
          assert.equal(err.option, "headers");
          assert.match(err.message, new RegExp(name));
          return true;
        },
      );
    });
  }

  it("does not listen when refused (the constructor throws before binding)", () => {
    assert.throws(() => new WebSocketServer({ port: 0, host: "127.0.0.1", headers: { Upgrade: "x" } }), OptionError);
  });

  it("isReservedResponseHeader is exact about names", () => {
    assert.equal(isReservedResponseHeader("X-Upgrade"), false);
    assert.equal(isReservedResponseHeader("Sec-WebSocket"), false);
    assert.equal(isReservedResponseHeader("Connection-Id"), false);
    assert.equal(isReservedResponseHeader(" Upgrade "), true);
  });

  it("other headers are accepted and sent in the 101", async () => {
    const wss = new WebSocketServer({
      port: 0,
      host: "127.0.0.1",
      headers: { "X-Served-By": "wirecable", "Set-Cookie": "a=1" },
    });
    cleanups.push(() => wss.close({ timeout: 5 * UNIT }));
    await wss.ready;
    const ws = new WebSocketClient(wss.url!);
    cleanups.push(() => ws.terminate());
    const upgrade = event<[{ headers: Record<string, string | string[]> }]>(ws, "upgrade");
    const open = event(ws, "open");
    const [response] = await within(upgrade, 50 * UNIT);
    assert.equal(response.headers["x-served-by"], "wirecable");
    assert.deepEqual(response.headers["set-cookie"], ["a=1"]);
    await open;
  });
});
