/**
 * A WebSocket session over the HTTP fallback, against a standalone WebSocketServer: the same
 * Connection API and events as an upgrade, messages both ways, pings answered from the client,
 * closing handshakes from either side, and the stream resumed after a proxy cut it.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Connection } from "../../../src/node/connection.js";
import { WebSocketServer } from "../../../src/node/server.js";
import { FallbackPeer } from "../../helpers/fallback-peer.js";
import { closeBody, OP } from "../../helpers/frames.js";
import { event, UNIT, until } from "../../helpers/time.js";

let wss: WebSocketServer;
let url: string;
const connections: Connection[] = [];

before(async () => {
  wss = new WebSocketServer({
    port: 0,
    host: "127.0.0.1",
    path: "/live",
    protocols: ["chat.v2", "chat.v1"],
    fallback: { resumeTimeout: 20 * UNIT },
  });
  await wss.ready;
  url = `${wss.url}?room=1`;
  wss.on("connection", (conn: Connection) => {
    connections.push(conn);
    conn.on("message", (data, isBinary) => {
      if (!isBinary && String(data) === "bye") conn.close(4001, "asked to");
      else conn.send(data, { binary: isBinary });
    });
  });
});

after(async () => {
  await wss.close({ timeout: 10 * UNIT });
});

async function next(): Promise<Connection> {
  const count = connections.length;
  await until(() => connections.length > count, "a connection");
  return connections[connections.length - 1]!;
}

describe("fallback session: the WebSocket's Connection over HTTP", () => {
  it("opens with the negotiated subprotocol and the request of the open", async () => {
    const arrived = next();
    const peer = await FallbackPeer.open(url, { protocols: ["chat.v1", "chat.v2"] });
    const conn = await arrived;
    assert.equal(peer.info.protocol, "chat.v2");
    assert.equal(conn.protocol, "chat.v2");
    assert.equal(conn.request?.url.startsWith("/live?room=1&wirecable=open"), true);
    assert.equal(conn.remoteAddress, "127.0.0.1");
    assert.match(peer.info.session, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/);
    assert.match(peer.info.token, /^[A-Za-z0-9_-]{22}$/);
    conn.terminate();
  });

  it("echoes text (with CR and LF), binary, and a message split over two POSTs", async () => {
    const peer = await FallbackPeer.open(url);
    assert.equal((await peer.sendText("hello")).status, 204);
    assert.equal((await peer.stream.nth(1)).data, "hello");
    await peer.sendText("two\nlines");
    assert.deepEqual(await peer.stream.nth(2), { type: "message", data: "two\nlines" });
    await peer.sendText("carriage\rreturn");
    assert.deepEqual(await peer.stream.nth(3), { type: "text", data: JSON.stringify("carriage\rreturn") });
    await peer.sendFrame(OP.BINARY, new Uint8Array([0, 1, 2, 255]));
    assert.deepEqual(await peer.stream.nth(4), { type: "binary", data: "AAEC/w==" });
    const { cframe } = await import("../../helpers/frames.js");
    const whole = cframe(OP.TEXT, "split across requests");
    assert.equal((await peer.sendBytes(whole.subarray(0, 5))).status, 204);
    assert.equal((await peer.sendBytes(whole.subarray(5))).status, 204);
    assert.equal((await peer.stream.nth(5)).data, "split across requests");
  });

  it("never delivers a retried POST twice (same offset), and refuses a gap with 409", async () => {
    const peer = await FallbackPeer.open(url);
    const { cframe } = await import("../../helpers/frames.js");
    const one = cframe(OP.TEXT, "once");
    assert.equal((await peer.sendBytes(one, { offset: 0 })).status, 204);
    assert.equal((await peer.sendBytes(one, { offset: 0 })).status, 204);
    peer.offset = one.length;
    assert.equal((await peer.sendBytes(cframe(OP.TEXT, "gap"), { offset: one.length + 3 })).status, 409);
    await peer.sendText("after");
    await peer.stream.nth(2);
    assert.deepEqual(peer.texts, ["once", "after"]);
  });

  it("carries the server's pings to the client, whose pong reaches the server", async () => {
    const arrived = next();
    const peer = await FallbackPeer.open(url);
    const conn = await arrived;
    const pong = event(conn, "pong");
    conn.ping("are you there");
    const ping = await peer.stream.find((e) => e.type === "ping");
    assert.equal(Buffer.from(ping.data, "base64").toString(), "are you there");
    await peer.sendFrame(OP.PONG, "are you there");
    assert.equal(String((await pong)[0]), "are you there");
  });

  it("closes from the client: the server sees 1000 and the stream ends with the close echo", async () => {
    const arrived = next();
    const peer = await FallbackPeer.open(url);
    const conn = await arrived;
    const closed = conn.closed;
    await peer.sendClose(1000, "done");
    assert.deepEqual(await closed, { code: 1000, reason: "done", wasClean: true });
    await peer.stream.waitEnd();
    assert.deepEqual(peer.stream.events.at(-1), { type: "close", data: JSON.stringify({ code: 1000, reason: "" }) });
  });

  it("closes from the server: the close event, the client's echo, a clean close", async () => {
    const arrived = next();
    const peer = await FallbackPeer.open(url);
    const conn = await arrived;
    await peer.sendText("bye");
    const close = await peer.stream.find((e) => e.type === "close");
    assert.deepEqual(JSON.parse(close.data), { code: 4001, reason: "asked to" });
    await peer.sendFrame(OP.CLOSE, closeBody(4001));
    // RFC 6455 7.1.5: the close code and reason are those of the peer's close frame (its echo).
    assert.deepEqual(await conn.closed, { code: 4001, reason: "", wasClean: true });
    await peer.stream.waitEnd();
  });

  it("resumes a cut stream where the client is, replaying what it missed", async () => {
    const arrived = next();
    const peer = await FallbackPeer.open(url);
    const conn = await arrived;
    await peer.sendText("one");
    await peer.stream.nth(1);
    peer.cut();
    await peer.stream.waitEnd();
    conn.send("sent while cut");
    const res = await peer.resume(1);
    assert.equal(res.statusCode, 200);
    const { EventStream } = await import("../../helpers/fallback-peer.js");
    const resumed = new EventStream(res);
    assert.equal((await resumed.nth(1)).data, "sent while cut");
    peer.stream = resumed;
    await peer.sendText("two");
    assert.equal((await resumed.nth(2)).data, "two");
    assert.equal(conn.readyState, 1);
  });

  it("ends the session with 1006 when no stream comes back within resumeTimeout", async () => {
    const arrived = next();
    const peer = await FallbackPeer.open(url);
    const conn = await arrived;
    peer.cut();
    const info = await conn.closed;
    assert.equal(info.code, 1006);
    const res = await peer.resume(0);
    assert.equal(res.statusCode, 404);
    res.resume();
  });
});
