/**
 * The default export of `wirecable/ws` is, as ws's, the WebSocket class with ws's statics and
 * type aliases on it: code typed against ws (`WebSocket.Server`, `WebSocket.RawData`,
 * `WebSocket.ClientOptions`...) compiles unchanged (this file is type-checked with the suite),
 * and the statics are there at run time, for `import` and for `require`.
 */
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { describe, it } from "node:test";
import WebSocket, { createWebSocketStream, WebSocketServer } from "../../src/ws/index.js";

describe("wirecable/ws default export (ws's shape)", () => {
  it("is the class, with ws's statics; ws's type names compile", () => {
    const server: WebSocket.Server = new WebSocket.Server({ noServer: true });
    const same: WebSocketServer = server;
    const options: WebSocket.ClientOptions = { lookup() {} };
    const client: WebSocket = new WebSocket("ws://localhost", options);
    const alsoClient: WebSocket.WebSocket = client;
    const data: WebSocket.RawData = Buffer.from("x");
    const sendable: WebSocket.Data = data as Buffer;
    const serverOptions: WebSocket.ServerOptions = { noServer: true };
    client.on("error", () => {});
    client.terminate();
    assert.equal(WebSocket.Server, WebSocketServer);
    assert.equal(WebSocket.WebSocketServer, WebSocketServer);
    assert.equal(WebSocket.WebSocket, WebSocket);
    assert.equal(WebSocket.createWebSocketStream, createWebSocketStream);
    assert.ok(alsoClient instanceof WebSocket && same === server && Buffer.isBuffer(sendable));
    assert.equal(serverOptions.noServer, true);
  });

  it("require() of the module gives the class itself (the 'module.exports' export)", async () => {
    const require = createRequire(import.meta.url);
    const module = await import("../../src/ws/index.js");
    assert.equal(module["module.exports" as keyof typeof module], WebSocket);
    assert.equal(typeof require, "function");
  });
});
