/**
 * brokerRelay: a fallback POST that lands on a process not owning its session reaches the owner
 * through the broker. Two standalone servers share one broker here (what two workers or two
 * machines share through Redis); test/cli/fallback-workers.test.ts runs it across node:cluster.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { INTERNAL_STREAM_PREFIX } from "../../src/channels/brokers/broker.js";
import { MemoryBroker } from "../../src/channels/brokers/memory.js";
import { brokerRelay } from "../../src/channels/fallback-relay.js";
import type { Connection } from "../../src/node/connection.js";
import { WebSocketServer } from "../../src/node/server.js";
import { FallbackPeer } from "../helpers/fallback-peer.js";
import { cframe, OP } from "../helpers/frames.js";
import { UNIT, until } from "../helpers/time.js";

const broker = new MemoryBroker({ history: { limit: 10 } });
let owner: WebSocketServer;
let other: WebSocketServer;
const received: string[] = [];

function server(id: string): WebSocketServer {
  return new WebSocketServer({
    port: 0,
    host: "127.0.0.1",
    path: "/cable",
    fallback: { relay: brokerRelay(broker, { id, timeout: 10 * UNIT }) },
  });
}

before(async () => {
  owner = server("owner");
  other = server("other");
  await Promise.all([owner.ready, other.ready]);
  owner.on("connection", (conn: Connection) => conn.on("message", (data) => received.push(String(data))));
});

after(async () => {
  await Promise.all([owner.close({ timeout: 5 * UNIT }), other.close({ timeout: 5 * UNIT })]);
  await broker.close();
});

/** A send URL of `peer`'s session, on `server` instead of the owner. */
function sendUrlOn(server: WebSocketServer, peer: FallbackPeer, offset: number): string {
  const url = new URL(peer.opUrl("send", { "wirecable-offset": offset }));
  url.port = String((server.address() as { port: number }).port);
  return url.href;
}

describe("brokerRelay: POSTs reach their session in another process", () => {
  it("a POST on the other server is delivered to the owner's connection, in order", async () => {
    const peer = await FallbackPeer.open(owner.url!);
    assert.match(peer.info.session, /^owner\./);
    const first = cframe(OP.TEXT, "via the other process");
    const answer = await peer.sendBytes(first, { url: sendUrlOn(other, peer, 0) });
    assert.equal(answer.status, 204);
    peer.offset = first.length;
    await peer.sendText("then directly");
    await until(() => received.length >= 2, "both messages");
    assert.deepEqual(received.slice(-2), ["via the other process", "then directly"]);
  });

  it("a wrong token is a 404 there too, and the relay never carries the token", async () => {
    const peer = await FallbackPeer.open(owner.url!);
    const seen: string[] = [];
    const unsubscribe = await broker.subscribe(`${INTERNAL_STREAM_PREFIX}fallback/owner`, (p) => seen.push(p));
    const wrong = await peer.sendBytes(cframe(OP.TEXT, "nope"), {
      url: sendUrlOn(other, peer, 0),
      token: "A".repeat(22),
    });
    assert.equal(wrong.status, 404);
    const right = await peer.sendBytes(cframe(OP.TEXT, "yes"), { url: sendUrlOn(other, peer, 0) });
    assert.equal(right.status, 204);
    await unsubscribe();
    assert.equal(seen.length, 2);
    for (const payload of seen) assert.ok(!payload.includes(peer.info.token), "the token stays out of the broker");
  });

  it("no history is kept for the relay's streams", () => {
    assert.equal(broker.history!.keeps(`${INTERNAL_STREAM_PREFIX}fallback/owner`), false);
    assert.equal(broker.history!.keeps("chat_lobby"), true);
  });

  it("a session of a process that is gone: 504 after the relay's timeout (the client retries)", async () => {
    const relay = brokerRelay(broker, { id: "asker", timeout: 2 * UNIT });
    const status = await relay.forward("nobody", {
      session: "nobody.AAAAAAAAAAAAAAAAAAAAAA",
      tokenDigest: "x",
      offset: 0,
      ack: undefined,
      body: new Uint8Array(1),
    });
    assert.equal(status, 504);
  });
});
