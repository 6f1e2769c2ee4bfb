/**
 * The RFC 8441 client: `connect(url, { http2: true })` against our HTTP/2 server opens several
 * WebSockets on ONE session (the server sees one session, no upgrade), with the same Connection
 * API; it falls back to HTTP/1.1 when the server picks http/1.1 by ALPN or does not advertise
 * SETTINGS_ENABLE_CONNECT_PROTOCOL; refusals come back as HandshakeErrors with their status.
 */
import assert from "node:assert/strict";
import { createServer as createH2cServer, createSecureServer, type Http2SecureServer } from "node:http2";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { after, describe, it } from "node:test";
import type { Server as TlsServer } from "node:tls";
import {
  type Connection,
  connect,
  HandshakeError,
  OptionError,
  Rejection,
  WebSocketServer,
} from "../../src/node/index.js";
import { event, UNIT, within } from "../helpers/time.js";
import { testCertificate } from "../helpers/tls.js";

const cleanups: Array<() => unknown> = [];
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

async function listen(server: TlsServer | Http2SecureServer | ReturnType<typeof createH2cServer>): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(() => {
    (server as { closeAllConnections?: () => void }).closeAllConnections?.();
    return new Promise((resolve) => server.close(() => resolve(undefined)));
  });
  return (server.address() as AddressInfo).port;
}

function echo(conn: Connection): void {
  conn.on("message", (data: string | Buffer, isBinary: boolean) => conn.send(data, { binary: isBinary }));
}

async function roundTrip(conn: Connection, text: string): Promise<string> {
  const reply = event<[string]>(conn, "message");
  conn.send(text);
  return (await reply)[0];
}

const { cert, key } = testCertificate();
const ca = cert;

describe("RFC 8441 client: connect(url, { http2: true })", () => {
  it("opens several WebSockets over one HTTP/2 session, the server sees streams, not upgrades", async () => {
    const server = createSecureServer({ cert, key, allowHTTP1: true });
    const wss = new WebSocketServer({ server, protocols: ["chat"] });
    cleanups.push(() => wss.close({ timeout: 5 * UNIT }));
    let upgrades = 0;
    server.on("upgrade", () => upgrades++);
    const sessions = new Set<unknown>();
    wss.on("connection", (conn: Connection, req) => {
      assert.equal(req.httpVersion, "2.0");
      sessions.add((conn.socket as unknown as { session: unknown }).session);
      echo(conn);
    });
    const port = await listen(server);
    const url = `wss://localhost:${port}/chat`;
    const conns = await Promise.all(
      Array.from({ length: 5 }, () => connect(url, { http2: true, ca, protocols: ["chat"] })),
    );
    for (const [i, conn] of conns.entries()) {
      assert.equal(conn.protocol, "chat");
      assert.equal(conn.url, url);
      assert.equal(conn.remoteAddress, "127.0.0.1");
      assert.equal(await roundTrip(conn, `hello ${i}`), `hello ${i}`);
    }
    assert.equal(sessions.size, 1, "one HTTP/2 session for five WebSockets");
    assert.equal(upgrades, 0, "no HTTP/1.1 upgrade");
    const clientSessions = new Set(conns.map((c) => (c.socket as unknown as { session: unknown }).session));
    assert.equal(clientSessions.size, 1);
    // A later connect to the same origin joins the session while it is open.
    const late = await connect(url, { http2: true, ca });
    assert.equal((late.socket as unknown as { session: unknown }).session, [...clientSessions][0]);
    // Closing handshakes per stream: each closes cleanly, the session stays for the others.
    conns[0]!.close(1000, "one");
    const first = await within(conns[0]!.closed);
    assert.equal(first.code, 1000);
    assert.equal(first.wasClean, true);
    assert.equal(await roundTrip(conns[1]!, "still here"), "still here");
    for (const conn of [...conns.slice(1), late]) conn.close();
    await within(Promise.all([...conns, late].map((c) => c.closed)));
    const session = [...clientSessions][0] as { closed: boolean };
    await within(
      new Promise<void>((resolve) => {
        const check = (): void => (session.closed ? resolve() : void setTimeout(check, 5));
        check();
      }),
      50 * UNIT,
      "the session closes with its last WebSocket",
    );
  });

  it("messages both ways, binary and large, with permessage-deflate over the stream", async () => {
    const server = createSecureServer({ cert, key });
    const wss = new WebSocketServer({ server, perMessageDeflate: true });
    cleanups.push(() => wss.close({ timeout: 5 * UNIT }));
    wss.on("connection", echo);
    const port = await listen(server);
    const conn = await connect(`wss://127.0.0.1:${port}/`, { http2: true, ca, perMessageDeflate: true });
    assert.match(conn.extensions, /^permessage-deflate/);
    const big = Buffer.alloc(1024 * 1024, "abc");
    const reply = event<[Buffer, boolean]>(conn, "message");
    conn.send(big);
    const [data, isBinary] = await reply;
    assert.equal(isBinary, true);
    assert.ok(data.equals(big));
    conn.close();
    await within(conn.closed);
  });

  it("falls back to HTTP/1.1 on the same TLS socket when the server picks http/1.1 by ALPN", async () => {
    const server = createHttpsServer({ cert, key });
    const wss = new WebSocketServer({ server });
    cleanups.push(() => wss.close({ timeout: 5 * UNIT }));
    let connections = 0;
    server.on("secureConnection", () => connections++);
    wss.on("connection", (conn: Connection, req) => {
      assert.equal(req.httpVersion, "1.1");
      echo(conn);
    });
    const port = await listen(server);
    const conn = await connect(`wss://localhost:${port}/`, { http2: true, ca });
    assert.equal(await roundTrip(conn, "h1"), "h1");
    assert.equal(connections, 1, "one TLS connection: the ALPN probe's socket carried the upgrade");
    conn.close();
    await within(conn.closed);
  });

  it("falls back to HTTP/1.1 when the HTTP/2 server does not advertise extended CONNECT", async () => {
    const server = createSecureServer({ cert, key, allowHTTP1: true, settings: { enableConnectProtocol: false } });
    // A WebSocketServer in noServer mode: HTTP/1.1 upgrades only, the setting stays off.
    const wss = new WebSocketServer({ noServer: true });
    cleanups.push(() => wss.close({ timeout: 5 * UNIT }));
    server.on("upgrade", (req, socket, head) => wss.handleUpgrade(req, socket, head));
    wss.on("connection", (conn: Connection, req) => {
      assert.equal(req.httpVersion, "1.1");
      echo(conn);
    });
    const port = await listen(server);
    const conn = await connect(`wss://localhost:${port}/`, { http2: true, ca });
    assert.equal(await roundTrip(conn, "fallback"), "fallback");
    conn.close();
    await within(conn.closed);
  });

  it("h2c with prior knowledge for ws: URLs, and HTTP/1.1 when the server is not HTTP/2", async () => {
    const h2c = createH2cServer();
    const wss = new WebSocketServer({ server: h2c });
    cleanups.push(() => wss.close({ timeout: 5 * UNIT }));
    wss.on("connection", (conn: Connection, req) => {
      assert.equal(req.httpVersion, "2.0");
      echo(conn);
    });
    const port = await listen(h2c);
    const conn = await connect(`ws://127.0.0.1:${port}/`, { http2: true });
    assert.equal(await roundTrip(conn, "h2c"), "h2c");
    conn.close();
    await within(conn.closed);

    const plain = new WebSocketServer({ port: 0, host: "127.0.0.1" });
    cleanups.push(() => plain.close({ timeout: 5 * UNIT }));
    await plain.ready;
    plain.on("connection", echo);
    const h1 = await connect(plain.url!, { http2: true });
    assert.equal(await roundTrip(h1, "h1"), "h1");
    h1.close();
    await within(h1.closed);
  });

  it("refusals reject with the status, headers and body; bad options are OptionErrors", async () => {
    const server = createSecureServer({ cert, key });
    const wss = new WebSocketServer({
      server,
      authenticate: () => new Rejection(401, { headers: { "WWW-Authenticate": "Bearer" }, body: "who are you?" }),
    });
    cleanups.push(() => wss.close({ timeout: 5 * UNIT }));
    const port = await listen(server);
    const error = await connect(`wss://localhost:${port}/`, { http2: true, ca }).then(
      () => assert.fail("opened"),
      (e: unknown) => e,
    );
    assert.ok(error instanceof HandshakeError);
    assert.equal(error.status, 401);
    assert.ok(error.response?.headers.some(([n, v]) => n === "www-authenticate" && v === "Bearer"));
    assert.equal(Buffer.from(error.response!.body).toString(), "who are you?");
    await assert.rejects(connect("wss://localhost:1/", { http2: true, proxy: "http://127.0.0.1:1" }), OptionError);
    await assert.rejects(connect("wss://localhost:1/", { http2: "yes" as unknown as boolean }), OptionError);
  });
});
