/**
 * The HTTP/1.1 side of WebSocketServer on its own: the shared `upgrade` router (by path, a
 * server without path taking what no other claims, unclaimed requests answered 400 only by the
 * sole listener) and the upgrade's Admission (refusals on the socket, then closed). Over real
 * sockets with WebSocketServer: server.test.ts ("server modes").
 */
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import type { Server as HttpServer, IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { describe, it } from "node:test";
import { type AcceptContext, serverProtocols } from "../../src/node/admission.js";
import { attachUpgrades, detachUpgrades, UpgradeAdmission, type UpgradeHandler } from "../../src/node/http1-server.js";
import { resolveConnectionOptions } from "../../src/node/options.js";
import { HandshakeError } from "../../src/protocol/errors.js";
import { memorySocket } from "../helpers/memory-socket.js";
import { event } from "../helpers/time.js";

function handler(path: string | undefined, seen: string[]): UpgradeHandler {
  return { path, handleUpgrade: (req) => seen.push(`${path ?? "*"} ${req.url}`) };
}

function upgrade(server: EventEmitter, url: string): { socket: Duplex; written: () => string } {
  const socket = memorySocket();
  server.emit("upgrade", { url, headers: {} } as IncomingMessage, socket.socket, Buffer.alloc(0));
  return socket;
}

describe("HTTP/1.1 upgrade router", () => {
  it("routes by path (query ignored); a server without path takes the rest", () => {
    const server = new EventEmitter();
    const seen: string[] = [];
    const a = handler("/a", seen);
    const any = handler(undefined, seen);
    attachUpgrades(server as HttpServer, any);
    attachUpgrades(server as HttpServer, a);
    upgrade(server, "/a?x=1");
    upgrade(server, "/elsewhere");
    assert.deepEqual(seen, ["/a /a?x=1", "* /elsewhere"]);
    assert.equal(server.listenerCount("upgrade"), 1, "one listener for every handler");
    detachUpgrades(server as HttpServer, a);
    detachUpgrades(server as HttpServer, any);
    assert.equal(server.listenerCount("upgrade"), 0);
  });

  it("answers an unclaimed upgrade 400 and closes it, only as the sole upgrade listener", async () => {
    const server = new EventEmitter();
    attachUpgrades(server as HttpServer, handler("/a", []));
    const refused = upgrade(server, "/b");
    await event(refused.socket, "close");
    assert.match(refused.written(), /^HTTP\/1\.1 400 /);

    server.on("upgrade", () => {});
    const left = upgrade(server, "/b");
    assert.equal(left.written(), "");
    assert.equal(left.socket.destroyed, false);
    left.socket.destroy();
  });
});

describe("upgrade admission", () => {
  const context: AcceptContext = {
    connectionOptions: resolveConnectionOptions({}),
    protocols: serverProtocols(undefined),
    extensions: [],
    headers: undefined,
    legacyDrafts: false,
    userProtocols: undefined,
    rejected: () => {},
  };

  it("refuses with the error's status, headers and body, then closes the socket", async () => {
    const { socket, written } = memorySocket();
    const admission = new UpgradeAdmission(
      { url: "/", headers: {} } as IncomingMessage,
      socket,
      Buffer.alloc(0),
      context,
    );
    assert.equal(admission.gone, false);
    admission.refuse(new HandshakeError("SERVER_UNAVAILABLE", "Server is full", { headers: { "Retry-After": "5" } }));
    await event(socket, "close");
    assert.match(written(), /^HTTP\/1\.1 503 [^\r]*\r\n/);
    assert.match(written(), /\r\nRetry-After: 5\r\n/i);
    assert.match(written(), /Server is full$/);
    assert.equal(admission.gone, true);
  });

  it("a request that is no valid handshake is refused with a rejected event, no connection", async () => {
    const { socket, written } = memorySocket();
    const rejected: HandshakeError[] = [];
    const req = { method: "GET", url: "/", httpVersion: "1.1", headers: { host: "x" } } as unknown as IncomingMessage;
    const admission = new UpgradeAdmission(req, socket, Buffer.alloc(0), {
      ...context,
      rejected: (_req, error) => rejected.push(error),
    });
    assert.equal(admission.accept(null), null);
    await event(socket, "close");
    assert.equal(rejected.length, 1);
    assert.equal(written().slice(9, 12), String(rejected[0]!.status));
  });
});
