import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import {
  createServer as createNetServer,
  type Server as NetServer,
  connect as netConnect,
  type Socket,
} from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  type Connection,
  connect,
  HandshakeError,
  OptionError,
  Rejection,
  WebSocketServer,
} from "../../src/node/index.js";

const cleanups: Array<() => unknown> = [];
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

function closeServer(server: Server | NetServer): Promise<void> {
  return new Promise((resolve) => {
    (server as Server).closeAllConnections?.();
    server.close(() => resolve());
  });
}

async function listen<T extends Server | NetServer>(server: T): Promise<number> {
  // Track every socket (upgraded and tunnelled ones too, which close() would wait for).
  const sockets = new Set<Socket>();
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  cleanups.push(() => {
    for (const socket of sockets) socket.destroy();
    return closeServer(server);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return portOf(server.address());
}

/** An echo server (ours); records the upgrade requests it saw. */
async function echoServer(
  options: Record<string, unknown> = {},
): Promise<{ port: number; wss: WebSocketServer; requests: IncomingMessage[] }> {
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", ...options });
  cleanups.push(() => wss.close({ timeout: 3 * UNIT }));
  const requests: IncomingMessage[] = [];
  wss.on("connection", (conn, req) => {
    requests.push(req);
    conn.on("message", (data: string | Buffer, isBinary: boolean) => conn.send(data, { binary: isBinary }));
  });
  await wss.ready;
  return { port: portOf(wss.address()), wss, requests };
}

async function expectEcho(conn: Connection, text = "ping"): Promise<void> {
  const got = event<[string | Buffer, boolean]>(conn, "message");
  conn.send(text);
  const [data, isBinary] = await got;
  assert.equal(data, text);
  assert.equal(isBinary, false);
}

function track(conn: Connection): Connection {
  cleanups.push(() => conn.terminate());
  return conn;
}

describe("connect", () => {
  it("opens, echoes text and binary, negotiates a subprotocol, closes cleanly", async () => {
    const { port } = await echoServer({ protocols: ["chat"] });
    const conn = track(await within(connect(`ws://127.0.0.1:${port}/x`, { protocols: ["chat", "other"] })));
    assert.equal(conn.readyState, 1);
    assert.equal(conn.protocol, "chat");
    assert.equal(conn.role, "client");
    await expectEcho(conn);
    const got = event<[Buffer, boolean]>(conn, "message");
    conn.send(Buffer.from([1, 2, 3]));
    const [data, isBinary] = await got;
    assert.deepEqual([...data], [1, 2, 3]);
    assert.equal(isBinary, true);
    conn.close(1000, "bye");
    // The close event reports what the server answered (its echo carries the code).
    const info = await within(conn.closed);
    assert.equal(info.code, 1000);
    assert.equal(info.wasClean, true);
  });

  it("sends custom headers and Origin", async () => {
    const { port, requests } = await echoServer();
    track(await connect(`ws://127.0.0.1:${port}/`, { headers: { "X-Token": "abc" }, origin: "https://app.example" }));
    assert.equal(requests[0]!.headers["x-token"], "abc");
    assert.equal(requests[0]!.headers.origin, "https://app.example");
  });

  it("rejects a refused handshake with a HandshakeError carrying status, headers and body", async () => {
    const { port } = await echoServer({
      authenticate: () => new Rejection(403, { headers: { "X-Why": "banned" }, body: "go away" }),
    });
    const error = await connect(`ws://127.0.0.1:${port}/`).then(
      () => assert.fail("connected"),
      (e: unknown) => e,
    );
    assert.ok(error instanceof HandshakeError);
    assert.equal(error.status, 403);
    assert.ok(error.response);
    assert.ok(error.response.headers.some(([k, v]) => k.toLowerCase() === "x-why" && v === "banned"));
    assert.equal(Buffer.from(error.response.body).toString(), "go away");
  });

  it("handshake timeout: a server that never answers", async () => {
    const silent = createNetServer((socket) => socket.on("error", () => {}));
    const sockets: Socket[] = [];
    silent.on("connection", (s) => sockets.push(s));
    cleanups.push(() => {
      for (const s of sockets) s.destroy();
    });
    const port = await listen(silent);
    const start = Date.now();
    await assert.rejects(connect(`ws://127.0.0.1:${port}/`, { handshakeTimeout: 2 * UNIT }), (e: unknown) => {
      return e instanceof HandshakeError && e.status === 408;
    });
    assert.ok(Date.now() - start < 20 * UNIT);
  });

  it("connection refused rejects with the socket error", async () => {
    const probe = createNetServer();
    const port = await listen(probe);
    await closeServer(probe);
    await assert.rejects(connect(`ws://127.0.0.1:${port}/`), (e: NodeJS.ErrnoException) => e.code === "ECONNREFUSED");
  });

  it("validates options with OptionError and URLs with SyntaxError", async () => {
    await assert.rejects(connect("ws://127.0.0.1:1/", { handshakeTimeout: -1 }), OptionError);
    await assert.rejects(connect("ws://127.0.0.1:1/", { proxy: "socks5://x" }), OptionError);
    await assert.rejects(connect("ftp://x/"), SyntaxError);
    await assert.rejects(connect("not a url"), SyntaxError);
  });

  it("connects over a Unix socket (ws+unix:)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wirecable-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, "ws.sock");
    const http = createServer();
    const wss = new WebSocketServer({ server: http });
    cleanups.push(() => wss.close());
    const paths: string[] = [];
    wss.on("connection", (conn, req) => {
      paths.push(req.url!);
      conn.on("message", (d) => conn.send(d));
    });
    await new Promise<void>((resolve) => http.listen(path, resolve));
    cleanups.push(() => closeServer(http));
    const conn = track(await within(connect(`ws+unix://${path}:/chat?room=1`)));
    await expectEcho(conn);
    assert.deepEqual(paths, ["/chat?room=1"]);
  });
});

describe("redirects", () => {
  async function redirector(location: (req: IncomingMessage) => string, status = 302): Promise<number> {
    const http = createServer();
    http.on("upgrade", (req, socket) => {
      socket.end(`HTTP/1.1 ${status} Moved\r\nLocation: ${location(req)}\r\nContent-Length: 0\r\n\r\n`);
    });
    return listen(http);
  }

  it("are refused by default (HandshakeError with the 3xx status)", async () => {
    const { port } = await echoServer();
    const from = await redirector(() => `ws://127.0.0.1:${port}/`);
    await assert.rejects(
      connect(`ws://127.0.0.1:${from}/`),
      (e: unknown) => e instanceof HandshakeError && e.status === 302,
    );
  });

  it("are followed when asked; Authorization and Cookie are stripped on a cross-origin hop", async () => {
    const { port, requests } = await echoServer();
    const from = await redirector(() => `ws://127.0.0.1:${port}/landed`, 307);
    const conn = track(
      await within(
        connect(`ws://127.0.0.1:${from}/start`, {
          followRedirects: true,
          headers: { Authorization: "Bearer secret", Cookie: "sid=1", "X-Keep": "yes" },
        }),
      ),
    );
    await expectEcho(conn);
    const req = requests.at(-1)!;
    assert.equal(req.url, "/landed");
    assert.equal(req.headers.authorization, undefined);
    assert.equal(req.headers.cookie, undefined);
    assert.equal(req.headers["x-keep"], "yes");
  });

  it("keep credentials on a same-origin hop (relative Location) and stop after the maximum", async () => {
    const http = createServer();
    const wss = new WebSocketServer({ server: http, path: "/target" });
    cleanups.push(() => wss.close());
    const seen: Array<string | undefined> = [];
    wss.on("connection", (_c, req) => seen.push(req.headers.authorization));
    http.on("upgrade", (req, socket) => {
      if (req.url === "/target") return;
      const n = Number(req.url!.slice(1));
      const next = n >= 3 ? "/target" : `/${n + 1}`;
      socket.end(`HTTP/1.1 301 Moved\r\nLocation: ${next}\r\nContent-Length: 0\r\n\r\n`);
    });
    const port = await listen(http);
    track(
      await within(connect(`ws://127.0.0.1:${port}/0`, { followRedirects: 5, headers: { Authorization: "Basic x" } })),
    );
    assert.deepEqual(seen, ["Basic x"]);
    await assert.rejects(connect(`ws://127.0.0.1:${port}/0`, { followRedirects: 2 }), /Too many redirects/);
  });
});

describe("HTTP CONNECT proxy", () => {
  /** A tiny CONNECT proxy. `auth`: required Proxy-Authorization; `refuse`: answer this status. */
  async function proxyServer(
    options: { auth?: string; refuse?: number } = {},
  ): Promise<{ port: number; seen: string[] }> {
    const seen: string[] = [];
    const server = createNetServer((client) => {
      client.on("error", () => {});
      let buffered = Buffer.alloc(0);
      const onData = (chunk: Buffer): void => {
        buffered = Buffer.concat([buffered, chunk]);
        const end = buffered.indexOf("\r\n\r\n");
        if (end === -1) return;
        client.off("data", onData);
        const head = buffered.subarray(0, end).toString("latin1");
        seen.push(head);
        const [method, authority] = head.split(" ");
        const auth = /\r\nproxy-authorization: *([^\r\n]*)/i.exec(head)?.[1];
        if (options.refuse) {
          client.end(`HTTP/1.1 ${options.refuse} Refused\r\nContent-Length: 6\r\n\r\nno way`);
          return;
        }
        if (options.auth !== undefined && auth !== options.auth) {
          client.end(
            'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test"\r\nContent-Length: 5\r\n\r\nlogin',
          );
          return;
        }
        if (method !== "CONNECT") {
          client.end("HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n");
          return;
        }
        const [host, port] = authority!.split(":");
        const upstream = netConnect({ host, port: Number(port) }, () => {
          client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
          const rest = buffered.subarray(end + 4);
          if (rest.length > 0) upstream.write(rest);
          client.pipe(upstream).pipe(client);
        });
        upstream.on("error", () => client.destroy());
        client.on("close", () => upstream.destroy());
      };
      client.on("data", onData);
    });
    const sockets = new Set<Socket>();
    server.on("connection", (s) => {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
    });
    cleanups.push(() => {
      for (const s of sockets) s.destroy();
    });
    return { port: await listen(server), seen };
  }

  it("tunnels ws:// through a proxy with credentials from the proxy URL", async () => {
    const { port } = await echoServer();
    const proxy = await proxyServer({ auth: `Basic ${Buffer.from("user:pass").toString("base64")}` });
    const conn = track(
      await within(connect(`ws://127.0.0.1:${port}/`, { proxy: `http://user:pass@127.0.0.1:${proxy.port}` })),
    );
    await expectEcho(conn);
    assert.match(proxy.seen[0]!, new RegExp(`^CONNECT 127\\.0\\.0\\.1:${port} HTTP/1\\.1`));
  });

  it("a refusing proxy (407, 403) rejects with its status, headers and body", async () => {
    const { port } = await echoServer();
    const needsAuth = await proxyServer({ auth: "Basic nope" });
    const error = await connect(`ws://127.0.0.1:${port}/`, { proxy: `http://127.0.0.1:${needsAuth.port}` }).then(
      () => assert.fail("connected"),
      (e: unknown) => e,
    );
    assert.ok(error instanceof HandshakeError);
    assert.equal(error.status, 407);
    assert.ok(error.response?.headers.some(([k]) => k.toLowerCase() === "proxy-authenticate"));
    assert.equal(Buffer.from(error.response!.body).toString(), "login");
    const forbidden = await proxyServer({ refuse: 403 });
    await assert.rejects(
      connect(`ws://127.0.0.1:${port}/`, { proxy: `http://127.0.0.1:${forbidden.port}` }),
      (e: unknown) => e instanceof HandshakeError && e.status === 403,
    );
  });

  it("proxy: true reads HTTP_PROXY and honours NO_PROXY", async () => {
    const { port } = await echoServer();
    const proxy = await proxyServer();
    const saved = {
      HTTP_PROXY: process.env.HTTP_PROXY,
      NO_PROXY: process.env.NO_PROXY,
      http_proxy: process.env.http_proxy,
      no_proxy: process.env.no_proxy,
    };
    try {
      delete process.env.http_proxy;
      delete process.env.no_proxy;
      process.env.HTTP_PROXY = `http://127.0.0.1:${proxy.port}`;
      process.env.NO_PROXY = "";
      await expectEcho(track(await within(connect(`ws://127.0.0.1:${port}/`, { proxy: true }))));
      assert.equal(proxy.seen.length, 1);
      process.env.NO_PROXY = "127.0.0.1";
      await expectEcho(track(await within(connect(`ws://127.0.0.1:${port}/`, { proxy: true }))));
      assert.equal(proxy.seen.length, 1, "NO_PROXY was ignored");
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});

describe("TLS (wss://)", () => {
  // The tests' self-signed certificate (test/helpers/tls.ts: localhost, 127.0.0.1, ::1).
  const { cert, key } = testCertificate();
  let port = 0;
  before(async () => {
    const https = createHttpsServer({ cert, key });
    const wss = new WebSocketServer({ server: https });
    cleanups.push(() => wss.close());
    wss.on("connection", (conn) => conn.on("message", (d) => conn.send(d)));
    port = await listen(https);
    assert.match(wss.url!, /^wss:/);
  });

  it("connects with the test CA", async () => {
    const conn = track(await within(connect(`wss://127.0.0.1:${port}/`, { ca: cert })));
    await expectEcho(conn);
    const viaName = track(await within(connect(`wss://localhost:${port}/`, { ca: cert, servername: "localhost" })));
    await expectEcho(viaName);
  });

  it("rejects a self-signed certificate by default", async () => {
    await assert.rejects(connect(`wss://127.0.0.1:${port}/`), (e: NodeJS.ErrnoException) =>
      /SELF_SIGNED|UNABLE_TO_VERIFY/.test(String(e.code)),
    );
  });

  it("rejectUnauthorized: false accepts it", async () => {
    await expectEcho(track(await within(connect(`wss://127.0.0.1:${port}/`, { rejectUnauthorized: false }))));
  });

  it("tunnels wss:// through a CONNECT proxy", async () => {
    const seen: string[] = [];
    const proxy = createNetServer((client) => {
      client.on("error", () => {});
      client.once("data", (chunk: Buffer) => {
        const head = chunk.toString("latin1");
        seen.push(head);
        const [host, p] = head.split(" ")[1]!.split(":");
        const upstream = netConnect({ host, port: Number(p) }, () => {
          client.write("HTTP/1.1 200 OK\r\n\r\n");
          client.pipe(upstream).pipe(client);
        });
        upstream.on("error", () => client.destroy());
        client.on("close", () => upstream.destroy());
      });
    });
    const proxyPort = await listen(proxy);
    const conn = track(
      await within(connect(`wss://127.0.0.1:${port}/`, { ca: cert, proxy: `http://127.0.0.1:${proxyPort}` })),
    );
    await expectEcho(conn);
    conn.close();
    await conn.closed;
    assert.equal(seen.length, 1);
  });
});

describe("regressions", () => {
  it("a message sent by the server right after the 101 (same packet) is not lost", async () => {
    const http = createServer();
    http.on("upgrade", (req, socket) => {
      const accept = require_accept(req.headers["sec-websocket-key"] as string);
      socket.on("error", () => {});
      socket.write(
        Buffer.concat([
          Buffer.from(
            `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
          ),
          Buffer.from([0x81, 0x05]),
          Buffer.from("first"),
        ]),
      );
      cleanups.push(() => socket.destroy());
    });
    const port = await listen(http);
    const conn = track(await within(connect(`ws://127.0.0.1:${port}/`)));
    const [data] = await event<[string]>(conn, "message");
    assert.equal(data, "first");
  });
});

describe("client timers", () => {
  it("the client closes with closeTimeout when the server ignores its close frame", async () => {
    const http = createServer();
    http.on("upgrade", (req, socket) => {
      const accept = require_accept(req.headers["sec-websocket-key"] as string);
      socket.write(
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
      );
      socket.on("data", () => {}); // reads and ignores everything
      socket.on("error", () => {});
      cleanups.push(() => socket.destroy());
    });
    const port = await listen(http);
    const conn = track(await within(connect(`ws://127.0.0.1:${port}/`, { closeTimeout: 2 * UNIT })));
    conn.close();
    const info = await within(conn.closed);
    assert.equal(info.wasClean, false);
    await until(() => conn.socket.destroyed);
  });
});

import { createHash } from "node:crypto";
import { portOf } from "../helpers/raw-client.js";
import { event, UNIT, until, within } from "../helpers/time.js";
import { testCertificate } from "../helpers/tls.js";

function require_accept(key: string): string {
  return createHash("sha1").update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64");
}
