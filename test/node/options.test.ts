/**
 * Server option validation (src/node/options.ts): reserved response headers are refused at
 * construction with an OptionError naming `headers`, before anything listens.
 */
import assert from "node:assert/strict";
import { get as httpGet } from "node:http";
import { after, describe, it } from "node:test";
import WebSocketClient from "ws";
import { OptionError, WebSocketServer } from "../../src/node/index.js";
import { isReservedResponseHeader, resolveConnectionOptions, validateServerOptions } from "../../src/node/options.js";
import { event, UNIT, within } from "../helpers/time.js";

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

  // What the upgrade listener does with a value the handshake refuses that got past construction:
  // before acceptSafely, acceptHandshake's TypeError escaped it as an uncaught exception.
  async function upgradeStatus(wss: WebSocketServer): Promise<number> {
    const { port } = wss.address() as { port: number };
    return within(
      new Promise<number>((resolve, reject) => {
        const req = httpGet({
          host: "127.0.0.1",
          port,
          headers: {
            Connection: "Upgrade",
            Upgrade: "websocket",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Protocol": "chat",
          },
        });
        req.on("response", (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on("upgrade", () => resolve(101));
        req.on("error", reject);
      }),
      50 * UNIT,
    );
  }

  for (const [what, options, mutate] of [
    ["headers mutated after construction", { headers: {} as Record<string, string> }, true],
    ["a protocols function answering CR/LF", { protocols: () => "chat\r\nX-Injected: 1" }, false],
  ] as const) {
    it(`${what}: the handshake is answered 500 and "rejected" is emitted; the process does not crash`, async () => {
      const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", ...options });
      cleanups.push(() => wss.close({ timeout: 5 * UNIT }));
      await wss.ready;
      if (mutate) (options as { headers: Record<string, string> }).headers.Upgrade = "x";
      const rejected = event<[unknown, { status: number }]>(wss, "rejected");
      assert.equal(await upgradeStatus(wss), 500);
      assert.equal((await rejected)[1].status, 500);
    });
  }
});

describe("option validation", () => {
  const bad: Array<[string, object]> = [
    ["port", {}],
    ["port", { port: 1, noServer: true }],
    ["port", { port: -1 }],
    ["port", { port: 70000 }],
    ["path", { noServer: true, path: "chat" }],
    ["maxPayload", { noServer: true, maxPayload: -5 }],
    ["pingInterval", { noServer: true, pingInterval: 1.5 }],
    ["backpressure", { noServer: true, backpressure: "block" }],
    ["rateLimit.messages", { noServer: true, rateLimit: { messages: 0, interval: 10 } }],
    ["authenticate", { noServer: true, authenticate: "yes" }],
    ["origins", { noServer: true, origins: [42] }],
    ["protocols", { noServer: true, protocols: [""] }],
    ["perMessageDeflate", { noServer: true, perMessageDeflate: "on" }],
    ["headers", { noServer: true, headers: { "X-A": "a\r\nb" } }],
    ["maxConnections", { noServer: true, maxConnections: "10" }],
  ];
  for (const [option, options] of bad) {
    it(`rejects a bad ${option} with an OptionError naming it`, () => {
      assert.throws(
        () => validateServerOptions(options),
        (error: unknown) => error instanceof OptionError && error.option === option,
      );
    });
  }
  it("resolves defaults", () => {
    const r = resolveConnectionOptions({});
    assert.equal(r.pingInterval, 30_000);
    assert.equal(r.closeTimeout, 10_000);
    assert.equal(r.backpressure, "close");
    assert.equal(r.rateLimit, undefined);
  });
});
