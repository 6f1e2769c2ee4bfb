/**
 * The fallback's checks and limits: the same admission as an upgrade (origin 403 with CORS for
 * allowed origins, authenticate, capacity 503), the Connection's limits over HTTP (maxPayload
 * 1009, rateLimit 1008, pong timeout), the endpoint's own (413, 408, one POST at a time, POST
 * only), session takeover attempts refused, and a slow event-stream reader bounded by the
 * backpressure policy like a slow WebSocket reader.
 */
import assert from "node:assert/strict";
import { request } from "node:http";
import { after, describe, it } from "node:test";
import type { AnyConnection } from "../../../src/node/connection.js";
import type { FallbackTransport } from "../../../src/node/fallback/transport.js";
import { type BackpressurePolicy, Rejection, type ServerOptions } from "../../../src/node/options.js";
import { WebSocketServer } from "../../../src/node/server.js";
import { FallbackPeer, post } from "../../helpers/fallback-peer.js";
import { cframe, OP } from "../../helpers/frames.js";
import { UNIT, until } from "../../helpers/time.js";

const servers: WebSocketServer<BackpressurePolicy>[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close({ timeout: 5 * UNIT })));
});

async function start(options: Partial<ServerOptions> = {}) {
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", path: "/cable", fallback: true, ...options });
  servers.push(wss);
  await wss.ready;
  const connections: AnyConnection[] = [];
  const rejected: number[] = [];
  wss.on("connection", (conn) => connections.push(conn));
  wss.on("rejected", (_req, error: { status: number }) => rejected.push(error.status));
  return { wss, url: wss.url!, connections, rejected };
}

async function refusal(url: string, options: Parameters<typeof FallbackPeer.open>[1] = {}) {
  try {
    await FallbackPeer.open(url, options);
  } catch (error) {
    return (error as { answer: { status: number; headers: Record<string, unknown>; body: string } }).answer;
  }
  throw new Error("the open was accepted");
}

describe("fallback: the upgrade's admission checks", () => {
  it("origins: 403 for others; CORS headers and preflights for allowed ones", async () => {
    const { url, rejected } = await start({ origins: ["http://good.example"] });
    const evil = await refusal(url, { headers: { origin: "http://evil.example" } });
    assert.equal(evil.status, 403);
    assert.equal(evil.headers["access-control-allow-origin"], undefined);
    assert.equal((await refusal(url)).status, 403, "no Origin: refused unless the list has *");
    assert.deepEqual(rejected, [403, 403]);
    const good = await FallbackPeer.open(url, { headers: { origin: "http://good.example" } });
    assert.equal(good.stream.res.headers["access-control-allow-origin"], "http://good.example");
    assert.equal(good.stream.res.headers["access-control-allow-credentials"], "true");
    const preflight = await new Promise<{ status: number; headers: Record<string, unknown> }>((resolve, reject) => {
      const req = request(good.opUrl("send"), {
        method: "OPTIONS",
        headers: { origin: "http://good.example", "access-control-request-headers": "wirecable-token" },
      });
      req.on("response", (res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0, headers: res.headers });
      });
      req.on("error", reject);
      req.end();
    });
    assert.equal(preflight.status, 204);
    assert.match(String(preflight.headers["access-control-allow-headers"]), /wirecable-token/);
    good.cut();
  });

  it("authenticate: its refusal answered as for an upgrade, its data on the connection", async () => {
    const { url, connections } = await start({
      authenticate: (req) => {
        if (!req.url?.includes("key=ok")) throw new Rejection(401, { body: "who are you?" });
        return { user: "ann" };
      },
    });
    const refused = await refusal(`${url}?key=bad`);
    assert.equal(refused.status, 401);
    assert.equal(refused.body, "who are you?");
    const peer = await FallbackPeer.open(`${url}?key=ok`);
    await until(() => connections.length === 1, "the connection");
    assert.deepEqual(connections[0]!.data, { user: "ann" });
    peer.cut();
  });

  it("maxConnections counts fallback sessions: 503 with Retry-After", async () => {
    const { url } = await start({ maxConnections: 1 });
    const first = await FallbackPeer.open(url);
    const full = await refusal(url);
    assert.equal(full.status, 503);
    assert.equal(full.headers["retry-after"], "5");
    first.cut();
  });

  it("only POST (405), and a bad subprotocol list is a 400", async () => {
    const { url } = await start();
    const get = await new Promise<number>((resolve, reject) => {
      request(`${url.replace("ws", "http")}?wirecable=open`, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
        .on("error", reject)
        .end();
    });
    assert.equal(get, 405);
    assert.equal((await refusal(url, { protocols: ["bad protocol"] })).status, 400);
  });
});

describe("fallback: the Connection's limits, over HTTP", () => {
  it("a message over maxPayload closes with 1009; past the rate limit with 1008", async () => {
    const { url, connections } = await start({ maxPayload: 100, rateLimit: { messages: 3, interval: 60_000 } });
    const big = await FallbackPeer.open(url);
    await big.sendText("x".repeat(200));
    const close = await big.stream.find((e) => e.type === "close");
    assert.equal(JSON.parse(close.data).code, 1009);
    assert.equal((await connections[0]!.closed).code, 1009);

    const chatty = await FallbackPeer.open(url);
    for (let i = 0; i < 4; i++) await chatty.sendText(`m${i}`);
    const limited = await chatty.stream.find((e) => e.type === "close");
    assert.equal(JSON.parse(limited.data).code, 1008);
  });

  it("a client that never answers pings is cut after pongTimeout (1006)", async () => {
    const { url, connections } = await start({ pingInterval: 2 * UNIT, pongTimeout: 2 * UNIT });
    const peer = await FallbackPeer.open(url);
    await until(() => connections.length === 1, "the connection");
    await peer.stream.find((e) => e.type === "ping");
    assert.equal((await connections[0]!.closed).code, 1006);
    await peer.stream.waitEnd();
  });
});

describe("fallback: the endpoint's own limits", () => {
  it("a body over maxRequestBytes: 413 and the HTTP connection closed", async () => {
    const { url } = await start({ fallback: { maxRequestBytes: 1000 } });
    const peer = await FallbackPeer.open(url);
    const answer = await peer.sendBytes(cframe(OP.TEXT, "x".repeat(2000)));
    assert.equal(answer.status, 413);
    assert.equal(answer.headers.connection, "close");
    assert.equal((await peer.sendText("still usable")).status, 204);
  });

  it("a body that does not arrive in time: 408; another POST meanwhile: 409", async () => {
    const { url, connections } = await start({ fallback: { requestTimeout: 3 * UNIT } });
    const peer = await FallbackPeer.open(url);
    await until(() => connections.length === 1, "the connection");
    const transport = connections[0]!.socket as FallbackTransport;
    const slow = new Promise<number>((resolve, reject) => {
      const req = request(peer.opUrl("send", { "wirecable-offset": 0 }), {
        method: "POST",
        headers: { "wirecable-token": peer.info.token, "content-length": "10" },
      });
      req.on("response", (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      req.write("12345");
    });
    await until(() => transport.posting, "the slow POST is being read");
    assert.equal((await peer.sendText("meanwhile")).status, 409);
    assert.equal(await slow, 408);
  });
});

describe("fallback: session takeover attempts", () => {
  it("the session id without the token opens nothing: 404s like an unknown session", async () => {
    const { url, connections } = await start();
    const peer = await FallbackPeer.open(url);
    await until(() => connections.length === 1, "the connection");
    const got: string[] = [];
    connections[0]!.on("message", (d) => got.push(String(d)));
    const wrongToken = await peer.sendBytes(cframe(OP.TEXT, "injected"), { token: "B".repeat(22) });
    const noSuch = await post(
      peer
        .opUrl("send", { "wirecable-offset": 0 })
        .replace(peer.info.session, `${peer.info.session.split(".")[0]}.${"C".repeat(22)}`),
      {
        headers: { "wirecable-token": peer.info.token },
        body: cframe(OP.TEXT, "x"),
      },
    );
    assert.deepEqual([wrongToken.status, wrongToken.body], [404, "no such session"]);
    assert.deepEqual([noSuch.status, noSuch.body], [404, "no such session"]);
    const noToken = await post(peer.opUrl("send", { "wirecable-offset": 0 }), { body: cframe(OP.TEXT, "x") });
    assert.equal(noToken.status, 404);

    // A second event stream without the token: refused, the client's stream goes on.
    const stolen = await peer.resume(0, "D".repeat(22));
    assert.equal(stolen.statusCode, 404);
    stolen.resume();
    connections[0]!.send("still mine");
    assert.equal((await peer.stream.nth(1)).data, "still mine");
    await peer.sendText("real");
    await until(() => got.length === 1, "the client's own message");
    assert.deepEqual(got, ["real"]);
  });

  it("a second stream with the token replaces the first (the legitimate reconnect)", async () => {
    const { url, connections } = await start();
    const peer = await FallbackPeer.open(url);
    await until(() => connections.length === 1, "the connection");
    const old = peer.stream;
    const res = await peer.resume(0);
    assert.equal(res.statusCode, 200);
    await old.waitEnd();
    const { EventStream } = await import("../../helpers/fallback-peer.js");
    const fresh = new EventStream(res);
    connections[0]!.send("to the new stream");
    assert.equal((await fresh.nth(1)).data, "to the new stream");
  });

  it("ids and tokens are 128-bit random: no two alike over 64 sessions", async () => {
    const { url } = await start();
    const ids = new Set<string>();
    const tokens = new Set<string>();
    for (let i = 0; i < 64; i++) {
      const peer = await FallbackPeer.open(url);
      ids.add(peer.info.session.split(".")[1]!);
      tokens.add(peer.info.token);
      assert.equal(Buffer.from(peer.info.token, "base64url").length, 16);
      peer.cut();
    }
    assert.equal(ids.size, 64);
    assert.equal(tokens.size, 64);
  });
});

describe("fallback: a slow event-stream reader is a slow consumer", () => {
  for (const policy of ["close", "drop"] as const) {
    it(`maxBufferedAmount bounds what waits for it (backpressure "${policy}")`, async () => {
      const max = 64 * 1024;
      const { url, connections } = await start({ maxBufferedAmount: max, backpressure: policy });
      const peer = await FallbackPeer.open(url);
      await until(() => connections.length === 1, "the connection");
      const conn = connections[0]!;
      peer.stream.res.pause(); // the reader stops reading: TCP and then the server back up
      const chunk = "y".repeat(1024);
      let highest = 0;
      let dropped = 0;
      conn.on("dropped", () => dropped++);
      for (let i = 0; i < 4096 && conn.readyState === 1; i++) {
        conn.send(chunk);
        highest = Math.max(highest, conn.bufferedAmount);
        if (i % 64 === 63) await new Promise((resolve) => setImmediate(resolve));
      }
      assert.ok(highest <= max + 2 * chunk.length + 64, `bufferedAmount peaked at ${highest}`);
      if (policy === "close") {
        assert.deepEqual(await conn.closed, { code: 1008, reason: "send buffer full", wasClean: false });
        assert.equal(conn.readyState, 3);
      } else {
        assert.ok(dropped > 0, "messages were dropped");
        assert.equal(conn.readyState, 1);
        conn.terminate();
      }
      peer.cut();
    });
  }
});
