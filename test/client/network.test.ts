// The client over real TCP on loopback: a `ws` server killed and restarted on the same port,
// connections cut mid-stream by a proxy, a silent (frozen) peer caught by the heartbeat,
// queued messages delivered exactly once and in order, no reconnect after close().
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import WS from "ws";
import {
  type ClientOptions,
  ReconnectingWebSocket,
  type SendResult,
  type WebSocketConstructorLike,
} from "../../src/client/index.js";
import { WebSocket as WirecableWebSocket } from "../../src/node/index.js";
import { sleep, TIME_SCALE, UNIT, until } from "../helpers/time.js";
import { nextEvent, RecordingServer, TcpProxy } from "./helpers/servers.js";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
after(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function server(): Promise<RecordingServer> {
  const s = new RecordingServer();
  await s.start(0);
  cleanups.push(() => s.kill());
  return s;
}

// Every scenario runs over both WebSocket implementations the client is used with in Node.
const IMPLEMENTATIONS: Array<[string, WebSocketConstructorLike]> = [
  ["ws", WS],
  ["wirecable", WirecableWebSocket],
];
let impl: WebSocketConstructorLike = WS;

function client(port: number, options: ClientOptions = {}): ReconnectingWebSocket {
  const c = new ReconnectingWebSocket(`ws://127.0.0.1:${port}/`, {
    WebSocket: impl,
    environment: null,
    initialDelay: 20,
    maxDelay: 100,
    minUptime: 0,
    ...options,
  });
  cleanups.push(() => c.close());
  return c;
}

for (const [name, ctor] of IMPLEMENTATIONS) {
  describe(`over ${name}'s WebSocket`, () => {
    before(() => {
      impl = ctor;
    });

    describe("server killed and restarted on the same port", () => {
      it("reconnects and delivers the messages queued meanwhile, exactly once, in order", async () => {
        const srv = await server();
        const c = client(srv.port);
        await nextEvent(c, "open");
        assert.equal(c.send("before-1"), "sent");
        assert.equal(c.send("before-2"), "sent");
        await until(() => srv.received.length === 2, "the first messages");

        const reconnecting = nextEvent(c, "reconnecting");
        await srv.kill();
        const ev = await reconnecting;
        assert.equal(ev.close.code, 1006);
        const results: SendResult[] = [];
        for (let i = 0; i < 20; i++) results.push(c.send(`queued-${i}`));
        assert.deepEqual(new Set(results), new Set(["queued"]));
        await sleep(1.5 * UNIT); // a few failed attempts against the closed port
        assert.ok(c.failures >= 1, `failures ${c.failures}`);

        const opened = nextEvent(c, "open", 5000);
        await srv.start(); // same port
        await opened;
        assert.equal(c.send("after"), "sent");
        await until(() => srv.received.length === 23, "all messages");
        assert.deepEqual(srv.received, [
          "before-1",
          "before-2",
          ...Array.from({ length: 20 }, (_, i) => `queued-${i}`),
          "after",
        ]);
        await sleep(0.5 * UNIT);
        assert.equal(srv.received.length, 23, "nothing delivered twice");
      });
    });

    describe("connections cut mid-stream (TCP proxy)", () => {
      it("survives repeated cuts; what arrives is in order and without duplicates; every queued message arrives", async () => {
        const srv = await server();
        // The server streams to each client, too: the cut happens with data in flight both ways.
        let streamed = 0;
        srv.onConnection = (ws) => {
          const timer = setInterval(() => ws.readyState === ws.OPEN && ws.send(`tick ${streamed++}`), 2);
          ws.on("close", () => clearInterval(timer));
        };
        const proxy = new TcpProxy(srv.port);
        await proxy.listen();
        cleanups.push(() => proxy.close());
        const c = client(proxy.port);
        let ticks = 0;
        c.on("message", () => ticks++);
        await nextEvent(c, "open");

        const results = new Map<number, SendResult>();
        let n = 0;
        for (let cut = 0; cut < 5; cut++) {
          // Send for a while, cut every connection, keep sending while it reconnects.
          for (let i = 0; i < 20; i++) {
            results.set(n, c.send(String(n)));
            n++;
            await sleep(1);
          }
          const down = nextEvent(c, "reconnecting");
          const killed = proxy.killConnections();
          assert.ok(killed >= 1);
          await down;
          const up = nextEvent(c, "open");
          for (let i = 0; i < 10; i++) {
            results.set(n, c.send(String(n)));
            n++;
          }
          await up;
        }
        for (let i = 0; i < 10; i++) {
          results.set(n, c.send(String(n)));
          n++;
        }
        const queued = [...results].filter(([, r]) => r === "queued").map(([i]) => String(i));
        assert.equal(queued.length, 50, `queued ${queued.length}`);
        const last = String(n - 1);
        await until(() => srv.received.includes(last), "the last message");
        const got = srv.received.map(Number);
        for (let i = 1; i < got.length; i++)
          assert.ok(got[i]! > got[i - 1]!, `order/duplicate at ${i}: ${got[i - 1]}, ${got[i]}`);
        for (const q of queued) assert.ok(srv.received.includes(q), `queued message ${q} lost`);
        assert.ok(ticks > 0, "messages streamed from the server were received");
      });
    });

    describe("no reconnect after close()", () => {
      it("stays down: one connection in total, even with the server up", async () => {
        const srv = await server();
        const c = client(srv.port);
        await nextEvent(c, "open");
        c.close(1000, "done");
        assert.equal(c.state, "closed");
        assert.equal(c.send("x"), "closed");
        await sleep(3 * UNIT);
        assert.equal(srv.connections, 1);
        assert.equal(srv.received.length, 0);
      });

      it("a server closing with 4001 (policy) is not reconnected to", async () => {
        const srv = await server();
        // At once: the close frame usually arrives in the same TCP read as the 101 response.
        srv.onConnection = (ws) => ws.close(4001, "unauthorized");
        const c = client(srv.port);
        const closed = await nextEvent(c, "closed");
        assert.equal(closed.code, 4001);
        assert.equal(closed.cause, "should-not-reconnect");
        await sleep(2 * UNIT);
        assert.equal(srv.connections, 1);
      });
    });

    describe("heartbeat against a real peer", () => {
      it("a silent (frozen) connection is detected as stale and replaced", async () => {
        const srv = await server();
        srv.onMessage = (ws, text) => {
          if (text === "ping") ws.send("pong");
        };
        const proxy = new TcpProxy(srv.port);
        await proxy.listen();
        cleanups.push(() => proxy.close());
        const c = client(proxy.port, {
          heartbeat: { interval: 50, timeout: 300 * TIME_SCALE, message: "ping", reply: "pong" },
        });
        const messages: unknown[] = [];
        c.on("message", (e) => messages.push(e.data));
        await nextEvent(c, "open");
        await sleep(3 * UNIT);
        assert.equal(c.state, "open", "answered heartbeats keep it open");
        assert.ok(srv.received.filter((m) => m === "ping").length >= 3);
        assert.deepEqual(messages, [], "pongs are consumed");

        const stale = nextEvent(c, "error");
        proxy.freeze();
        const err = await stale;
        assert.equal(err.kind, "stale");
        proxy.freeze(false);
        await nextEvent(c, "open");
        assert.equal(srv.connections, 2);
      });
    });

    describe("connection timeout against a real peer", () => {
      it("a server that accepts TCP but never answers the handshake is abandoned", async () => {
        const srv = await server();
        const proxy = new TcpProxy(srv.port);
        await proxy.listen();
        cleanups.push(() => proxy.close());
        proxy.freeze();
        const c = client(proxy.port, { connectionTimeout: 100 });
        const err = await nextEvent(c, "error");
        assert.equal(err.kind, "timeout");
        proxy.freeze(false);
        await nextEvent(c, "open");
      });
    });
  });
}
