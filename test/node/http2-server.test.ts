/**
 * WebSockets over HTTP/2 (RFC 8441) on the server, judged by node:http2's own client doing the
 * extended CONNECT by hand: the setting is advertised, `:protocol` websocket is answered 200
 * with the RFC 6455 negotiation as header fields (and none of Key/Accept/Upgrade/Connection),
 * frames (masked from the client) flow on the stream, many WebSockets share one session, the
 * checks and limits of HTTP/1.1 upgrades apply, and the same port still takes HTTP/1.1 upgrades.
 */
import assert from "node:assert/strict";
import {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  constants,
  createServer as createH2cServer,
  createSecureServer,
  type Http2SecureServer,
  type Http2Server,
  connect as h2connect,
  type IncomingHttpHeaders,
} from "node:http2";
import type { AddressInfo } from "node:net";
import { after, describe, it } from "node:test";
import WebSocketClient from "ws";
import { type Connection, Rejection, WebSocketServer } from "../../src/node/index.js";
import { cframe, closeBody, FrameReader, OP, type WireFrame } from "../helpers/frames.js";
import { event, UNIT, until, within } from "../helpers/time.js";
import { testCertificate } from "../helpers/tls.js";

const cleanups: Array<() => unknown> = [];
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

async function listen<S extends Http2SecureServer | Http2Server>(server: S): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  return (server.address() as AddressInfo).port;
}

/** A TLS HTTP/2 server (HTTP/1.1 allowed) with a WebSocketServer attached. */
async function h2Server(
  options: Record<string, unknown> = {},
): Promise<{ wss: WebSocketServer; port: number; server: Http2SecureServer }> {
  const { cert, key } = testCertificate();
  const server = createSecureServer({ cert, key, allowHTTP1: true });
  const wss = new WebSocketServer({ server, ...options });
  cleanups.push(() => wss.close({ timeout: 5 * UNIT }));
  const port = await listen(server);
  return { wss, port, server };
}

function session(port: number): ClientHttp2Session {
  const s = h2connect(`https://localhost:${port}`, { ca: testCertificate().cert });
  s.on("error", () => {});
  cleanups.push(() => s.destroy());
  return s;
}

async function remoteSettings(
  s: ClientHttp2Session,
): Promise<ReturnType<ClientHttp2Session["remoteSettings"] extends infer T ? () => T : never>> {
  if (
    s.remoteSettings !== undefined &&
    (s as { state?: unknown }).state !== undefined &&
    Object.keys(s.remoteSettings).length > 0
  ) {
    return s.remoteSettings as never;
  }
  const [settings] = await event<[never]>(s, "remoteSettings");
  return settings;
}

interface Opened {
  stream: ClientHttp2Stream;
  headers: IncomingHttpHeaders;
  frames: WireFrame[];
}

/** An extended CONNECT by hand; resolves with the response headers and a frame collector. */
async function extendedConnect(
  s: ClientHttp2Session,
  path: string,
  extra: Record<string, string> = {},
): Promise<Opened> {
  const settings = (await remoteSettings(s)) as { enableConnectProtocol?: boolean };
  assert.equal(settings.enableConnectProtocol, true, "SETTINGS_ENABLE_CONNECT_PROTOCOL advertised");
  const stream = s.request(
    {
      ":method": "CONNECT",
      ":protocol": "websocket",
      ":scheme": "https",
      ":path": path,
      ":authority": `localhost`,
      "sec-websocket-version": "13",
      ...extra,
    },
    { endStream: false },
  );
  stream.on("error", () => {});
  const frames: WireFrame[] = [];
  const reader = new FrameReader();
  stream.on("data", (chunk: Buffer) => frames.push(...reader.push(chunk)));
  const [headers] = await event<[IncomingHttpHeaders]>(stream, "response");
  return { stream, headers, frames };
}

async function body(stream: ClientHttp2Stream): Promise<string> {
  let text = "";
  stream.setEncoding("utf8");
  stream.on("data", (d: string) => (text += d));
  await within(new Promise((resolve) => stream.on("end", resolve)), 50 * UNIT, "response body");
  return text;
}

function echo(conn: Connection): void {
  conn.on("message", (data: string | Buffer, isBinary: boolean) => conn.send(data, { binary: isBinary }));
}

describe("RFC 8441 server (node:http2 client by hand)", () => {
  it("advertises the setting, answers 200 without Upgrade/Accept, echoes masked frames on the stream", async () => {
    const { wss, port } = await h2Server({ protocols: ["chat"], perMessageDeflate: true });
    const seen: Connection[] = [];
    wss.on("connection", (conn: Connection, req) => {
      seen.push(conn);
      assert.equal(req.method, "CONNECT");
      assert.equal(req.httpVersion, "2.0");
      assert.equal(req.url, "/chat?room=1");
      assert.equal(req.headers.host, "localhost");
      echo(conn);
    });
    const s = session(port);
    const { stream, headers, frames } = await extendedConnect(s, "/chat?room=1", {
      "sec-websocket-protocol": "superchat, chat",
      "sec-websocket-extensions": "permessage-deflate; client_max_window_bits",
      origin: "https://example.com",
    });
    assert.equal(headers[":status"], 200);
    assert.equal(headers["sec-websocket-protocol"], "chat");
    assert.match(String(headers["sec-websocket-extensions"]), /^permessage-deflate/);
    for (const name of ["sec-websocket-accept", "upgrade", "connection"]) assert.equal(headers[name], undefined, name);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.protocol, "chat");
    assert.equal(seen[0]!.remoteAddress, "127.0.0.1");

    stream.write(cframe(OP.TEXT, "hello over h2", { mask: "random" }));
    await until(() => frames.length >= 1, "echo");
    assert.equal(frames[0]!.opcode, OP.TEXT);
    assert.equal(frames[0]!.masked, false, "server frames are not masked (RFC 6455 5.1, unchanged by RFC 8441)");
    // Compressed (RSV1) or not, the payload inflates to the message: check with the uncompressed path below.
    const ended = new Promise((resolve) => stream.on("end", resolve));
    stream.write(cframe(OP.CLOSE, closeBody(1000, "bye"), { mask: "random" }));
    await until(() => frames.some((f) => f.opcode === OP.CLOSE), "close echo");
    // RFC 8441 6: the server's END_STREAM is the TCP close; our END_STREAM answers it.
    await within(ended, 50 * UNIT, "END_STREAM");
    stream.end();
    const closed = await within(seen[0]!.closed);
    assert.deepEqual(closed, { code: 1000, reason: "bye", wasClean: true });
    assert.equal(stream.rstCode ?? constants.NGHTTP2_NO_ERROR, constants.NGHTTP2_NO_ERROR);
  });

  it("multiplexes many WebSockets on one session, each its own Connection", async () => {
    const { wss, port } = await h2Server();
    const sessions = new Set<unknown>();
    wss.on("connection", (conn: Connection) => {
      sessions.add((conn.socket as unknown as { session: unknown }).session);
      echo(conn);
    });
    const s = session(port);
    const opened = await Promise.all(Array.from({ length: 20 }, (_, i) => extendedConnect(s, `/ws/${i}`)));
    for (const [i, o] of opened.entries()) o.stream.write(cframe(OP.TEXT, `message ${i}`, { mask: "random" }));
    await until(() => opened.every((o) => o.frames.length >= 1), "20 echoes");
    for (const [i, o] of opened.entries()) assert.equal(o.frames[0]!.payload.toString(), `message ${i}`);
    assert.equal(wss.clients.size, 20);
    assert.equal(sessions.size, 1, "one HTTP/2 session on the server");
  });

  it("applies the HTTP/1.1 checks: origin 403, authenticate's status, path 400, version 400, full 503", async () => {
    const { wss, port } = await h2Server({
      path: "/ws",
      origins: ["https://good.example"],
      authenticate: (req: { headers: Record<string, unknown> }) => {
        if (req.headers.authorization !== "Bearer ok")
          throw new Rejection(401, { headers: { "WWW-Authenticate": "Bearer" } });
        return { user: "ok" };
      },
      maxConnections: 1,
    });
    const rejected: number[] = [];
    wss.on("rejected", (_req: unknown, error: { status: number }) => rejected.push(error.status));
    const s = session(port);
    const good = { origin: "https://good.example", authorization: "Bearer ok" };
    const cases: Array<[string, Record<string, string>, number]> = [
      ["/ws", { ...good, origin: "https://evil.example" }, 403],
      ["/ws", { origin: "https://good.example" }, 401],
      ["/elsewhere", good, 400],
      ["/ws", { ...good, "sec-websocket-version": "8" }, 400],
    ];
    for (const [path, headers, status] of cases) {
      const { stream, headers: response } = await extendedConnect(s, path, headers);
      assert.equal(response[":status"], status, `${path} ${JSON.stringify(headers)}`);
      if (status === 401) assert.equal(response["www-authenticate"], "Bearer");
      if (path === "/ws" && headers["sec-websocket-version"] === "8")
        assert.equal(response["sec-websocket-version"], "13");
      await body(stream);
    }
    let data: unknown;
    wss.on("connection", (conn: Connection) => (data = conn.data));
    const first = await extendedConnect(s, "/ws", good);
    assert.equal(first.headers[":status"], 200);
    assert.deepEqual(data, { user: "ok" });
    const full = await extendedConnect(s, "/ws", good);
    assert.equal(full.headers[":status"], 503);
    assert.equal(full.headers["retry-after"], "5");
    // The unclaimed path is answered by the router (no server to emit `rejected`), as for HTTP/1.1.
    assert.deepEqual(rejected, [403, 401, 400, 503]);
  });

  it("limits, heartbeats and abnormal ends work per stream: 1009, pings, RST_STREAM(CANCEL) on terminate", async () => {
    const { wss, port } = await h2Server({ maxPayload: 1024, pingInterval: 2 * UNIT, pongTimeout: 50 * UNIT });
    const conns: Connection[] = [];
    wss.on("connection", (conn: Connection) => conns.push(conn));
    const s = session(port);
    const big = await extendedConnect(s, "/big");
    big.stream.write(cframe(OP.BINARY, Buffer.alloc(2048), { mask: "random" }));
    await until(() => big.frames.some((f) => f.opcode === OP.CLOSE), "1009");
    assert.equal(big.frames.find((f) => f.opcode === OP.CLOSE)!.payload.readUInt16BE(0), 1009);

    const beat = await extendedConnect(s, "/beat");
    await until(() => beat.frames.some((f) => f.opcode === OP.PING), "a heartbeat ping on the stream");
    beat.stream.write(cframe(OP.PONG, "", { mask: "random" }));

    const cut = await extendedConnect(s, "/cut");
    await until(() => conns.length === 3, "three connections");
    const reset = new Promise<number>((resolve) => cut.stream.on("close", () => resolve(cut.stream.rstCode!)));
    conns[2]!.terminate();
    assert.equal(await within(reset), constants.NGHTTP2_CANCEL, "RFC 8441 6: RST_STREAM with CANCEL");
    assert.equal((await within(conns[2]!.closed)).code, 1006);
    assert.equal(conns[1]!.readyState, 1, "other streams of the session are untouched");
  });

  it("backpressure: HTTP/2 flow control holds a non-reading peer's data in bufferedAmount, drain follows", async () => {
    const { wss, port } = await h2Server({ backpressure: "wait", maxBufferedAmount: 256 * 1024 });
    const s = session(port);
    const connP = event<[Connection<"wait">]>(wss, "connection");
    const { stream } = await extendedConnect(s, "/flow");
    const [conn] = await connP;
    stream.pause(); // no WINDOW_UPDATE: the stream's window (64 KiB) closes
    const chunk = Buffer.alloc(64 * 1024, 1);
    let waited = false;
    for (let i = 0; i < 64 && !waited; i++) {
      const result = conn.send(chunk);
      if (result instanceof Promise) {
        waited = true;
        assert.ok(conn.bufferedAmount > 256 * 1024 - chunk.length, `bufferedAmount ${conn.bufferedAmount}`);
        stream.resume();
        assert.equal(await within(result), "written");
      } else {
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    assert.ok(waited, "a send waited for the peer's window");
  });

  it("serves HTTP/1.1 upgrades on the same port (ALPN http/1.1) and plain requests still reach the app", async () => {
    const { wss, port, server } = await h2Server();
    server.on("request", (_req, res) => res.end("page"));
    wss.on("connection", (conn: Connection, req) => {
      assert.equal(req.httpVersion, "1.1");
      echo(conn);
    });
    const ws = new WebSocketClient(`wss://localhost:${port}/`, { ca: testCertificate().cert });
    cleanups.push(() => ws.terminate());
    await event(ws, "open");
    ws.send("h1");
    const [data] = await event<[Buffer]>(ws, "message");
    assert.equal(data.toString(), "h1");
    const s = session(port);
    const page = s.request({ ":path": "/" });
    assert.equal(await body(page), "page");
    // A CONNECT without :protocol keeps node's 405 with the compatibility API on.
    const plain = s.request({ ":method": "CONNECT", ":authority": "example.com:443" }, { endStream: false });
    const [headers] = await event<[IncomingHttpHeaders]>(plain, "response");
    assert.equal(headers[":status"], 405);
  });

  it("h2c when asked: a cleartext node:http2 server takes WebSockets too", async () => {
    const server = createH2cServer();
    const wss = new WebSocketServer({ server });
    cleanups.push(() => wss.close({ timeout: 5 * UNIT }));
    wss.on("connection", echo);
    const port = await listen(server);
    const s = h2connect(`http://127.0.0.1:${port}`);
    s.on("error", () => {});
    cleanups.push(() => s.destroy());
    const { stream, headers, frames } = await extendedConnect(s, "/", {});
    assert.equal(headers[":status"], 200);
    stream.write(cframe(OP.BINARY, Buffer.from([1, 2, 3]), { mask: "random" }));
    await until(() => frames.length >= 1, "echo");
    assert.deepEqual([...frames[0]!.payload], [1, 2, 3]);
    assert.equal(wss.url?.startsWith("ws://"), true);
  });
});
