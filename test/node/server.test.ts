import assert from "node:assert/strict";
import { createServer, get as httpGet, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { after, describe, it } from "node:test";
import WebSocketClient from "ws";
import { type Connection, Rejection, WebSocketServer } from "../../src/node/index.js";
import { cframe } from "../helpers/frames.js";
import { portOf, RawClient } from "../helpers/raw-client.js";
import { event, sleep, UNIT, until, within } from "../helpers/time.js";

const cleanups: Array<() => unknown> = [];
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

async function standalone(options: Record<string, unknown> = {}): Promise<{ wss: WebSocketServer; port: number }> {
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", ...options });
  cleanups.push(() => wss.close({ timeout: 5 * UNIT }));
  await wss.ready;
  return { wss, port: portOf(wss.address()) };
}

function wsClient(url: string, protocols?: string[], options?: WebSocketClient.ClientOptions): WebSocketClient {
  const ws = new WebSocketClient(url, protocols, options);
  ws.on("error", () => {});
  cleanups.push(() => ws.terminate());
  return ws;
}

/** Open a ws client and resolve with the status of a refused handshake. */
function refusal(
  url: string,
  options?: WebSocketClient.ClientOptions,
): Promise<{ status: number; headers: IncomingMessage["headers"]; body: string }> {
  return within(
    new Promise((resolve, reject) => {
      const ws = wsClient(url, undefined, options);
      ws.on("open", () => reject(new Error("unexpectedly opened")));
      ws.on("unexpected-response", (_req, res) => {
        let body = "";
        res.on("data", (d: Buffer) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      });
    }),
  );
}

function echo(conn: Connection): void {
  conn.on("message", (data: string | Buffer, isBinary: boolean) => conn.send(data, { binary: isBinary }));
}

async function roundTrip(url: string, message = "hello"): Promise<string> {
  const ws = wsClient(url);
  await event(ws, "open");
  ws.send(message);
  const [data] = await event<[Buffer]>(ws, "message");
  ws.close();
  return data.toString();
}

describe("server modes", () => {
  it("standalone: answers plain HTTP with 426 and upgrades WebSocket requests", async () => {
    const { wss, port } = await standalone();
    wss.on("connection", echo);
    const connected = event<[Connection, IncomingMessage]>(wss, "connection");
    const status = await new Promise<number>((resolve) =>
      httpGet(`http://127.0.0.1:${port}/`, (res) => resolve(res.statusCode!)),
    );
    assert.equal(status, 426);
    assert.equal(await roundTrip(`ws://127.0.0.1:${port}/any`), "hello");
    const [conn] = await connected;
    assert.equal(conn.data, undefined, "no authenticate: data is left to the application, undefined");
    assert.match(wss.url!, /^ws:\/\/127\.0\.0\.1:\d+\/$/);
  });

  it("several servers share one HTTP server by path; unknown paths get 400 when nobody else listens", async () => {
    const http = createServer();
    cleanups.push(() => new Promise((r) => http.close(r)));
    const a = new WebSocketServer({ server: http, path: "/a" });
    const b = new WebSocketServer({ server: http, path: "/b" });
    cleanups.push(
      () => a.close(),
      () => b.close(),
    );
    a.on("connection", (conn) => conn.send("from a"));
    b.on("connection", (conn) => conn.send("from b"));
    await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
    const port = portOf(http.address());
    for (const name of ["a", "b"]) {
      const ws = wsClient(`ws://127.0.0.1:${port}/${name}?x=1`);
      const [data] = await event<[Buffer]>(ws, "message");
      assert.equal(data.toString(), `from ${name}`);
      ws.close();
    }
    assert.equal((await refusal(`ws://127.0.0.1:${port}/c`)).status, 400);
  });

  it("leaves unclaimed upgrades alone when another upgrade listener may handle them", async () => {
    const http = createServer();
    cleanups.push(() => new Promise((r) => http.close(r)));
    const a = new WebSocketServer({ server: http, path: "/a" });
    const other = new WebSocketServer({ noServer: true });
    cleanups.push(
      () => a.close(),
      () => other.close(),
    );
    other.on("connection", (conn) => conn.send("from the app's own router"));
    http.on("upgrade", (req, socket, head) => {
      if (req.url === "/other") other.handleUpgrade(req, socket, head);
    });
    await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
    const ws = wsClient(`ws://127.0.0.1:${portOf(http.address())}/other`);
    const [data] = await event<[Buffer]>(ws, "message");
    assert.equal(data.toString(), "from the app's own router");
  });

  it("noServer: handleUpgrade with a callback", async () => {
    const http = createServer();
    cleanups.push(() => new Promise((r) => http.close(r)));
    const wss = new WebSocketServer({ noServer: true });
    cleanups.push(() => wss.close());
    let viaCallback: Connection | undefined;
    http.on("upgrade", (req, socket, head) =>
      wss.handleUpgrade(req, socket, head, (conn) => {
        viaCallback = conn;
        echo(conn);
      }),
    );
    await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
    assert.equal(await roundTrip(`ws://127.0.0.1:${portOf(http.address())}/`), "hello");
    assert.ok(viaCallback);
  });
});

describe("handshake checks", () => {
  it("rejects a disallowed Origin with 403 before authenticate runs", async () => {
    let authCalls = 0;
    const { port } = await standalone({
      origins: ["https://good.example"],
      authenticate: () => {
        authCalls++;
        return {};
      },
    });
    const r = await refusal(`ws://127.0.0.1:${port}/`, { origin: "https://evil.example" });
    assert.equal(r.status, 403);
    assert.equal(authCalls, 0);
    const ws = wsClient(`ws://127.0.0.1:${port}/`, undefined, { origin: "https://good.example" });
    await event(ws, "open");
  });

  it("authenticate sees URL, query, headers, cookies and remote address, and attaches data", async () => {
    let seen: { url?: string; cookie?: string; token?: string; address?: string } = {};
    const { wss, port } = await standalone({
      authenticate: async (req: IncomingMessage) => {
        const url = new URL(req.url!, "http://x");
        seen = {
          url: url.pathname,
          cookie: req.headers.cookie,
          token: url.searchParams.get("token") ?? undefined,
          address: req.socket.remoteAddress,
        };
        await sleep(10);
        return { user: "alice" };
      },
    });
    const connected = event<[Connection, IncomingMessage]>(wss, "connection");
    const ws = wsClient(`ws://127.0.0.1:${port}/room?token=t1`, undefined, { headers: { Cookie: "sid=42" } });
    const [conn] = await connected;
    await event(ws, "open");
    assert.deepEqual(conn.data, { user: "alice" });
    assert.deepEqual(seen, { url: "/room", cookie: "sid=42", token: "t1", address: "127.0.0.1" });
    assert.equal(conn.remoteAddress, "127.0.0.1");
    assert.equal(conn.request?.url, "/room?token=t1");
    assert.equal(conn.version, "hybi-13");
  });

  it("authenticate rejects with a custom status, headers and body (thrown or returned)", async () => {
    const { wss, port } = await standalone({
      authenticate: (req: IncomingMessage) => {
        if (req.url === "/throw")
          throw new Rejection(401, { headers: { "WWW-Authenticate": "Bearer" }, body: "who are you?" });
        if (req.url === "/crash") throw new Error("bug in authenticate");
        return Promise.resolve(new Rejection(429, { body: "slow down" }));
      },
    });
    const rejected: number[] = [];
    wss.on("rejected", (_req, error) => rejected.push(error.status));
    const a = await refusal(`ws://127.0.0.1:${port}/throw`);
    assert.equal(a.status, 401);
    assert.equal(a.headers["www-authenticate"], "Bearer");
    assert.equal(a.body, "who are you?");
    const b = await refusal(`ws://127.0.0.1:${port}/returned`);
    assert.equal(b.status, 429);
    assert.equal(b.body, "slow down");
    const c = await refusal(`ws://127.0.0.1:${port}/crash`);
    assert.equal(c.status, 500);
    assert.doesNotMatch(c.body, /bug in authenticate/); // details stay on the server
    assert.deepEqual(rejected, [401, 429, 500]);
  });

  it("selects a subprotocol (server preference, or a function)", async () => {
    const { port } = await standalone({ protocols: ["v2", "v1"] });
    const ws = wsClient(`ws://127.0.0.1:${port}/`, ["v1", "v2"]);
    await event(ws, "open");
    assert.equal(ws.protocol, "v2");
    const { port: port2 } = await standalone({ protocols: (offered: string[]) => offered.at(-1) });
    const ws2 = wsClient(`ws://127.0.0.1:${port2}/`, ["a", "b"]);
    await event(ws2, "open");
    assert.equal(ws2.protocol, "b");
  });

  it("maxConnections: 503 with Retry-After when full", async () => {
    const { wss, port } = await standalone({ maxConnections: 1, retryAfter: 7 });
    const first = wsClient(`ws://127.0.0.1:${port}/`);
    await event(first, "open");
    const r = await refusal(`ws://127.0.0.1:${port}/`);
    assert.equal(r.status, 503);
    assert.equal(r.headers["retry-after"], "7");
    first.close();
    await until(() => wss.clients.size === 0);
    const again = wsClient(`ws://127.0.0.1:${port}/`);
    await event(again, "open");
  });

  it("handshake timeout: an upgrade stuck in authenticate is answered 408 and closed", async () => {
    const { wss, port } = await standalone({ handshakeTimeout: 2 * UNIT, authenticate: () => new Promise(() => {}) });
    const rejected = event<[IncomingMessage, { status: number }]>(wss, "rejected");
    const raw = await RawClient.open(port);
    assert.equal(raw.status, 408);
    assert.equal((await rejected)[1].status, 408);
    await raw.until(() => raw.ended);
  });

  it("header caps: too many headers or too many bytes get 431", async () => {
    const { port } = await standalone({ maxHeaderCount: 20, maxHeaderBytes: 4096 });
    const headers: Record<string, string> = {};
    for (let i = 0; i < 30; i++) headers[`X-Flood-${i}`] = "1";
    const many = await RawClient.open(port, { headers });
    assert.equal(many.status, 431);
    const big = await RawClient.open(port, { headers: { "X-Big": "a".repeat(5000) } });
    assert.equal(big.status, 431);
  });

  it("rejects invalid RFC 6455 requests (426 for a wrong version)", async () => {
    const { port } = await standalone();
    const raw = await RawClient.open(port, {
      headers: {},
      request: `GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 9\r\n\r\n`,
    });
    assert.equal(raw.status, 426);
  });
});

describe("regressions", () => {
  it("frames sent together with the upgrade request reach the 'connection' handler's listeners", async () => {
    const { wss, port } = await standalone();
    const got: string[] = [];
    wss.on("connection", (conn) => conn.on("message", (d) => got.push(String(d))));
    const request = `GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`;
    const raw = await RawClient.open(port, {
      request: Buffer.concat([Buffer.from(request), cframe(1, "early"), cframe(1, "bird")]),
    });
    assert.equal(raw.status, 101);
    await until(() => got.length === 2);
    assert.deepEqual(got, ["early", "bird"]);
  });
});

describe("limits and failures on open connections", () => {
  it("maxPayload: a too-big message closes with 1009", async () => {
    const { wss, port } = await standalone({ maxPayload: 1024 });
    const closed = event<[Connection]>(wss, "connection").then(([c]) => c.closed);
    const ws = wsClient(`ws://127.0.0.1:${port}/`);
    await event(ws, "open");
    ws.send(Buffer.alloc(2048));
    const [code] = await event<[number]>(ws, "close");
    assert.equal(code, 1009);
    assert.equal((await closed).code, 1009);
  });

  it("rateLimit: excess messages close with 1008", async () => {
    const { wss, port } = await standalone({ rateLimit: { messages: 5, interval: 60_000 } });
    let received = 0;
    wss.on("connection", (conn) => conn.on("message", () => received++));
    const ws = wsClient(`ws://127.0.0.1:${port}/`);
    await event(ws, "open");
    for (let i = 0; i < 10; i++) ws.send(`m${i}`);
    const [code] = await event<[number]>(ws, "close");
    assert.equal(code, 1008);
    assert.equal(received, 5);
  });

  it("a throwing message handler closes only its connection with 1011 and reports 'error'", async () => {
    const { wss, port } = await standalone();
    const errors: unknown[] = [];
    wss.on("connection", (conn) => {
      conn.on("error", (e: unknown) => errors.push(e));
      conn.on("message", (data) => {
        if (data === "boom") throw new Error("handler bug");
        conn.send(`ok ${data}`);
      });
    });
    const bad = wsClient(`ws://127.0.0.1:${port}/`);
    const good = wsClient(`ws://127.0.0.1:${port}/`);
    await Promise.all([event(bad, "open"), event(good, "open")]);
    bad.send("boom");
    const [code] = await event<[number]>(bad, "close");
    assert.equal(code, 1011);
    assert.ok(errors.some((e) => e instanceof Error && e.message === "handler bug"));
    good.send("still here");
    const [reply] = await event<[Buffer]>(good, "message");
    assert.equal(reply.toString(), "ok still here");
  });

  it("a throwing connection listener closes that connection with 1011", async () => {
    const { wss, port } = await standalone();
    wss.on("connection", () => {
      throw new Error("listener bug");
    });
    const ws = wsClient(`ws://127.0.0.1:${port}/`);
    const [code] = await event<[number]>(ws, "close");
    assert.equal(code, 1011);
  });

  it("a raw socket sending garbage is closed with 1002; other clients keep working", async () => {
    const { wss, port } = await standalone();
    wss.on("connection", echo);
    const raw = await RawClient.open(port);
    assert.equal(raw.status, 101);
    const good = wsClient(`ws://127.0.0.1:${port}/`);
    await event(good, "open");
    raw.send(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x00, 0x01, 0x02])); // reserved opcode, RSV bits
    await raw.until(() => raw.closeFrame !== undefined || raw.ended);
    assert.equal(raw.closeFrame?.[0], 1002);
    await raw.until(() => raw.ended);
    good.send("alive");
    const [reply] = await event<[Buffer]>(good, "message");
    assert.equal(reply.toString(), "alive");
  });

  it("graceful close: 1001 to everyone, waits for the handshakes, resolves", async () => {
    const { wss, port } = await standalone();
    const a = wsClient(`ws://127.0.0.1:${port}/`);
    const b = wsClient(`ws://127.0.0.1:${port}/`);
    await Promise.all([event(a, "open"), event(b, "open")]);
    const codes = Promise.all([event<[number]>(a, "close"), event<[number]>(b, "close")]);
    const start = Date.now();
    await within(wss.close({ timeout: 20 * UNIT }));
    assert.ok(Date.now() - start < 20 * UNIT, "close waited for the timeout although clients answered");
    assert.deepEqual(
      (await codes).map(([c]) => c),
      [1001, 1001],
    );
    assert.equal(wss.clients.size, 0);
  });

  it("graceful close destroys peers that never answer after the timeout", async () => {
    const { wss, port } = await standalone();
    const raw = await RawClient.open(port);
    await until(() => wss.clients.size === 1);
    const start = Date.now();
    await within(wss.close({ timeout: 3 * UNIT }));
    assert.ok(Date.now() - start >= 3 * UNIT - 20);
    assert.equal(raw.closeFrame?.[0], 1001);
    await raw.until(() => raw.ended);
  });
});

describe("timers", () => {
  it("closeTimeout: a peer ignoring our close frame is destroyed", async () => {
    const { wss, port } = await standalone({ closeTimeout: 2 * UNIT });
    const connected = event<[Connection]>(wss, "connection");
    const raw = await RawClient.open(port);
    const [conn] = await connected;
    const start = Date.now();
    conn.close(1000, "bye");
    const info = await within(conn.closed);
    assert.equal(info.wasClean, false);
    assert.ok(Date.now() - start >= 2 * UNIT - 60, `closed after ${Date.now() - start} ms`);
    await raw.until(() => raw.ended);
    assert.equal(raw.closeFrame?.[0], 1000);
  });

  it("heartbeat: pings after pingInterval of silence and terminates without a pong", async () => {
    const { wss, port } = await standalone({ pingInterval: 2 * UNIT, pongTimeout: 2 * UNIT });
    const connected = event<[Connection]>(wss, "connection");
    const raw = await RawClient.open(port); // never answers pings
    const [conn] = await connected;
    const info = await within(conn.closed);
    assert.ok(
      raw.frames.some((f) => f.opcode === 9),
      "no ping was sent",
    );
    assert.equal(info.code, 1006);
    await raw.until(() => raw.ended);
  });

  it("heartbeat: a peer answering pings stays connected", async () => {
    const { wss, port } = await standalone({ pingInterval: 1 * UNIT, pongTimeout: 1 * UNIT });
    const connected = event<[Connection]>(wss, "connection");
    const ws = wsClient(`ws://127.0.0.1:${port}/`); // ws answers pings automatically
    const [conn] = await connected;
    let pongs = 0;
    conn.on("pong", () => pongs++);
    await sleep(6 * UNIT);
    assert.equal(conn.readyState, 1);
    assert.ok(pongs >= 2, `only ${pongs} pongs`);
    ws.close();
  });

  it("idleTimeout: closes with 1001 after a silence without messages", async () => {
    const { wss, port } = await standalone({ idleTimeout: 2 * UNIT });
    const ws = wsClient(`ws://127.0.0.1:${port}/`);
    await event(ws, "open");
    const [code, reason] = await event<[number, Buffer]>(ws, "close");
    assert.equal(code, 1001);
    assert.equal(reason.toString(), "idle timeout");
    await until(() => wss.clients.size === 0);
  });

  it("uses one wheel: timers are unref'd and do not keep the process alive", async () => {
    const { wheel } = await import("../../src/node/timer-wheel.js");
    const { port } = await standalone({ pingInterval: 50 * UNIT });
    const clients = [];
    for (let i = 0; i < 5; i++) clients.push(wsClient(`ws://127.0.0.1:${port}/`));
    await Promise.all(clients.map((c) => event(c, "open")));
    assert.ok(wheel.size >= 5);
    const handles = (process as unknown as { getActiveResourcesInfo(): string[] }).getActiveResourcesInfo();
    const timeouts = handles.filter((h) => h === "Timeout").length;
    assert.ok(timeouts < 5, `${timeouts} timers for 5 connections`);
  });
});

void (null as unknown as AddressInfo);
