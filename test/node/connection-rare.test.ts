/**
 * A connection's rarely used state (connection-rare.ts) is made only when needed: a plain idle
 * server connection holds none, and its clock's timestamps are small integers (the process-wide
 * wheel counts from its creation). The server's request and the client's url share one slot, a
 * usual request's object is made when first read, and an accepted socket carries one property of
 * ours.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import type { IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { after, describe, it } from "node:test";
import { queryObjects } from "node:v8";
import { RareState } from "../../src/node/connection-rare.js";
import type { ConnectionInit } from "../../src/node/connection-types.js";
import { Connection, WebSocket, WebSocketServer } from "../../src/node/index.js";
import { kSocketOwner } from "../../src/node/read-path.js";
import { wheel } from "../../src/node/timer-wheel.js";
import { destroyDuplexes, duplexConnection } from "../helpers/duplex-connection.js";
import { collectGarbage } from "../helpers/gc.js";

after(destroyDuplexes);

/** Live RareState objects (after a full GC: the ones collected do not count). */
function rareCount(): number {
  collectGarbage();
  return queryObjects(RareState, { format: "count" }) as number;
}

function connection(extra: Partial<ConnectionInit> = {}, options: Record<string, unknown> = {}) {
  return duplexConnection(extra, options).conn;
}

interface Clock {
  lastReceived: number;
  lastMessage: number;
  deadline: number;
}
const smi = (n: number) => Number.isInteger(n) && n >= -1 && n < 2 ** 31;

describe("connection rare state", () => {
  it("is not made for plain idle server connections, with or without a heartbeat", () => {
    const before = rareCount();
    const idle = [connection(), connection(), connection({}, { pingInterval: 30_000, idleTimeout: 60_000 })];
    assert.equal(rareCount(), before);
    for (const conn of idle) {
      assert.equal(conn.readyState, Connection.OPEN);
      const clock = conn as unknown as Clock;
      assert.ok(smi(clock.lastReceived) && smi(clock.lastMessage) && smi(clock.deadline), JSON.stringify(clock));
    }
    assert.ok((idle[2] as unknown as Clock).deadline > 0, "the heartbeat connection is on the wheel");
    assert.ok(Math.abs(wheel.clock() + wheel.epoch - Date.now()) <= 1, "the wheel's clock counts from its epoch");
    assert.equal(rareCount(), before, "reading state made nothing");
  });

  it("is made when one of its parts is needed, once per connection", async () => {
    const before = rareCount();
    const address = connection();
    assert.equal(address.remoteAddress, undefined);
    assert.equal(rareCount(), before + 1, "the address, read once, is kept");
    const awaited = connection();
    const closed = awaited.closed;
    assert.equal(rareCount(), before + 2, "the closed promise");
    const abort = connection({ abortTransport: (t) => t.destroy() });
    const limited = connection({}, { rateLimit: { messages: 10, interval: 1000 } });
    const given = connection({ remoteAddress: "192.0.2.1" });
    assert.equal(given.remoteAddress, "192.0.2.1");
    assert.equal(rareCount(), before + 5, "abort hook, rate limit, given address: one each");
    awaited.close(1000, "bye");
    abort.terminate();
    limited.close();
    assert.equal(rareCount(), before + 5, "closing uses the same object");
    awaited.socket.destroy(); // the peer never answered the close frame
    assert.deepEqual(await closed, { code: 1006, reason: "", wasClean: false });
  });

  it("keeps request for servers and url for clients in one slot; role from the flags", () => {
    const server = connection({
      request: { method: "GET", url: "/chat", httpVersion: "1.1", headers: { host: "h" } } as never,
    });
    assert.equal(server.role, "server");
    assert.deepEqual(server.request, { method: "GET", url: "/chat", httpVersion: "1.1", headers: { host: "h" } });
    assert.equal(server.url, undefined);
    const client = connection({ role: "client", url: "ws://h/chat" });
    assert.equal(client.role, "client");
    assert.equal(client.url, "ws://h/chat");
    assert.equal(client.request, undefined);
    client.terminate();
  });

  it("makes a GET HTTP/1.1 request's object when first read: the same values, key order and object after", () => {
    const headers = { host: "h", "sec-websocket-key": "k" };
    const usual = connection({ request: { method: "GET", url: "/chat?a=1", httpVersion: "1.1", headers } as never });
    const request = usual.request;
    assert.deepEqual(request, { method: "GET", url: "/chat?a=1", httpVersion: "1.1", headers });
    assert.deepEqual(Object.keys(request ?? {}), ["method", "url", "httpVersion", "headers"]);
    assert.equal(request?.headers, headers, "the request's own headers object");
    assert.equal(usual.request, request, "made once");
    // Others are kept as they come: method and version as the request says (an HTTP/2 CONNECT).
    const other = { method: "CONNECT", url: "/chat", httpVersion: "2.0", headers: { ":protocol": "websocket" } };
    const connect = connection({ request: other as never });
    assert.deepEqual(connect.request, other);
    assert.equal(connect.request, connect.request);
    const old = connection({ request: { url: "/x", httpVersion: "1.0", headers: {} } as never });
    assert.deepEqual(old.request, { method: "GET", url: "/x", httpVersion: "1.0", headers: {} });
    const bare = connection({ request: { method: "GET", httpVersion: "1.1", headers: {} } as never });
    assert.deepEqual(bare.request, { method: "GET", url: "/", httpVersion: "1.1", headers: {} });
    assert.equal(connection().request, undefined);
  });

  it("keeps one property of its own on an accepted socket (the owner), from accept to close", async () => {
    const server = new WebSocketServer({ port: 0, host: "127.0.0.1", pingInterval: 0 });
    await server.ready;
    const ours = (s: object) => Object.getOwnPropertySymbols(s).filter((k) => k.description?.startsWith("wirecable"));
    const accepted = once(server, "connection") as Promise<[Connection, IncomingMessage]>;
    const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/one?x=1`);
    const [conn, req] = await accepted;
    const socket = req.socket as unknown as Record<symbol, unknown>;
    assert.deepEqual(ours(socket), [kSocketOwner]);
    assert.equal(socket[kSocketOwner], conn);
    assert.equal(conn.request?.headers, req.headers, "node:http's headers object, kept");
    assert.equal(conn.request?.url, "/one?x=1");
    client.close();
    await once(conn, "close");
    await server.close();
  });
});
