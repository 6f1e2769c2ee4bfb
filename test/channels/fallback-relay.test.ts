/**
 * brokerRelay: a fallback POST that lands on a process not owning its session reaches the owner
 * through the broker. Two standalone servers share one in-memory broker here, then real
 * brokers (Redis, NATS: one client per server, as two machines have); test/cli/serve.test.ts
 * runs it across node:cluster (`serve --workers 2`).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { INTERNAL_STREAM_PREFIX } from "../../src/channels/brokers/broker.js";
import { MemoryBroker } from "../../src/channels/brokers/memory.js";
import { NatsBroker } from "../../src/channels/brokers/nats.js";
import { RedisBroker } from "../../src/channels/brokers/redis.js";
import { brokerRelay } from "../../src/channels/fallback-relay.js";
import type { Broker } from "../../src/channels/index.js";
import type { Connection } from "../../src/node/connection.js";
import { WebSocketServer } from "../../src/node/server.js";
import { FallbackPeer } from "../helpers/fallback-peer.js";
import { cframe, OP } from "../helpers/frames.js";
import { startNats } from "../helpers/nats.js";
import { startRedis } from "../helpers/redis.js";
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

const SERVICES: Array<[string, () => Promise<{ url: string; stop(): Promise<void> }>, (url: string) => Broker]> = [
  ["Redis", startRedis, (url) => new RedisBroker({ url, prefix: "relay" })],
  ["NATS", startNats, (url) => new NatsBroker({ url, prefix: "relay" })],
];

for (const [name, start, makeBroker] of SERVICES) {
  describe(`brokerRelay over ${name}: two servers, a broker client each`, () => {
    it("the session's POSTs land on either server, each byte delivered once, in order", async () => {
      const service = await start();
      const brokers = [makeBroker(service.url), makeBroker(service.url)];
      const [a, b] = brokers.map(
        (broker, i) =>
          new WebSocketServer({
            port: 0,
            host: "127.0.0.1",
            path: "/cable",
            fallback: { relay: brokerRelay(broker, { id: `p${i}`, timeout: 10 * UNIT }) },
          }),
      ) as [WebSocketServer, WebSocketServer];
      try {
        await Promise.all([a.ready, b.ready]);
        const got: string[] = [];
        a.on("connection", (conn: Connection) => conn.on("message", (data) => got.push(String(data))));
        const peer = await FallbackPeer.open(a.url!);
        const texts = Array.from({ length: 6 }, (_, i) => `message ${i}`);
        for (const [i, text] of texts.entries()) {
          const bytes = cframe(OP.TEXT, text);
          // Alternate: the owner, then the other server (relayed), and so on.
          const url = i % 2 === 1 ? sendUrlOn(b, peer, peer.offset) : undefined;
          const answer = await peer.sendBytes(bytes, url === undefined ? {} : { url }); // advances offset
          assert.equal(answer.status, 204, `POST ${i}`);
        }
        // A retried POST (the last one's offset again) through the relay changes nothing.
        const last = cframe(OP.TEXT, texts[5]!);
        const again = await peer.sendBytes(last, { url: sendUrlOn(b, peer, peer.offset - last.length) });
        assert.equal(again.status, 204);
        await until(() => got.length >= texts.length, "every message");
        assert.deepEqual(got, texts);
      } finally {
        await Promise.all([a.close({ timeout: 5 * UNIT }), b.close({ timeout: 5 * UNIT })]);
        for (const broker of brokers) await broker.close();
        await service.stop();
      }
    });
  });
}
