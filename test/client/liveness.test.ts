// Liveness: application-level heartbeat, reply matching, stale detection.
import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import { type ClientOptions, ReconnectingWebSocket } from "../../src/client/index.js";
import { FakeClock } from "./helpers/fake-clock.js";
import { FakeWebSocket } from "./helpers/fake-websocket.js";

function make(options: ClientOptions) {
  const clock = new FakeClock();
  const client = new ReconnectingWebSocket("ws://example.test/", {
    WebSocket: FakeWebSocket,
    transports: ["websocket"],
    clock,
    environment: null,
    ...options,
  });
  const messages: unknown[] = [];
  const errors: string[] = [];
  client.on("message", (e) => messages.push(e.data));
  client.on("error", (e) => errors.push(`${e.kind}: ${e.error.message}`));
  FakeWebSocket.last.serverOpen();
  return { client, clock, ws: FakeWebSocket.last, messages, errors };
}

describe("heartbeat", () => {
  beforeEach(() => FakeWebSocket.reset());

  it("sends the message after `interval` of silence and stays open when the reply comes", () => {
    const { client, clock, ws, messages } = make({
      heartbeat: { interval: 1000, timeout: 500, message: '{"type":"ping"}', reply: '{"type":"pong"}' },
    });
    clock.advance(999);
    assert.deepEqual(ws.sent, []);
    clock.advance(1);
    assert.deepEqual(ws.sent, ['{"type":"ping"}']);
    clock.advance(400);
    ws.serverMessage('{"type":"pong"}');
    // From now on the "server" answers every heartbeat at once.
    const send = ws.send.bind(ws);
    ws.send = (data: unknown) => {
      send(data);
      ws.serverMessage('{"type":"pong"}');
    };
    clock.advance(5000);
    assert.equal(client.state, "open");
    assert.equal(ws.sent.length, 6, "one heartbeat per silent interval");
    assert.deepEqual(messages, [], "matched replies are consumed, not emitted");
    client.close();
  });

  it("declares the connection stale when the reply does not come, and reconnects", () => {
    const { client, clock, ws, errors } = make({
      heartbeat: { interval: 1000, timeout: 500, message: "ping", reply: "pong" },
    });
    const reconnecting: number[] = [];
    client.on("reconnecting", (e) => reconnecting.push(e.close.code));
    clock.advance(1000);
    ws.serverMessage("not the reply"); // other traffic does not answer the probe
    clock.advance(499);
    assert.equal(client.state, "open");
    clock.advance(1);
    assert.equal(client.state, "reconnecting");
    assert.equal(ws.closeCalls.length, 1, "the stale socket is closed");
    assert.deepEqual(reconnecting, [1006]);
    assert.match(errors[0]!, /^stale: .*no heartbeat reply within 500 ms/);
    client.close();
  });

  it('reply "any": any incoming message answers, and traffic postpones the heartbeat', () => {
    const { client, clock, ws, messages } = make({ heartbeat: { interval: 1000, timeout: 500 } });
    for (let i = 0; i < 10; i++) {
      clock.advance(900);
      ws.serverMessage(`data ${i}`);
    }
    assert.deepEqual(ws.sent, [], "a busy connection needs no heartbeat");
    clock.advance(1000);
    assert.deepEqual(ws.sent, ["ping"]);
    ws.serverMessage("anything");
    clock.advance(499);
    assert.equal(client.state, "open");
    assert.equal(messages.length, 11, 'with "any", messages are still delivered');
    client.close();
  });

  it("a predicate reply and a message factory", () => {
    let n = 0;
    const { client, clock, ws, messages } = make({
      heartbeat: {
        interval: 100,
        timeout: 50,
        message: () => JSON.stringify({ ping: ++n }),
        reply: (d) => typeof d === "string" && d.startsWith("pong"),
      },
    });
    clock.advance(100);
    ws.serverMessage("pong 1");
    clock.advance(100);
    assert.deepEqual(ws.sent, ['{"ping":1}', '{"ping":2}']);
    ws.serverMessage("pong 2");
    assert.deepEqual(messages, []);
    client.close();
  });

  it("stops with the connection: no heartbeat while reconnecting or after close", () => {
    const { client, clock, ws } = make({ heartbeat: { interval: 100, timeout: 50 } });
    ws.serverClose(1006);
    clock.advance(99);
    assert.deepEqual(ws.sent, []);
    client.close();
    assert.equal(clock.pending, 0);
  });
});

describe("staleTimeout", () => {
  beforeEach(() => FakeWebSocket.reset());

  it("reconnects when nothing is received for that long; messages keep it alive", () => {
    const { client, clock, ws, errors } = make({ staleTimeout: 6000 });
    for (let i = 0; i < 5; i++) {
      clock.advance(3000);
      ws.serverMessage('{"type":"ping"}');
    }
    assert.equal(client.state, "open");
    clock.advance(5999);
    assert.equal(client.state, "open");
    clock.advance(1);
    assert.equal(client.state, "reconnecting");
    assert.match(errors[0]!, /stale: .*nothing received for 6000 ms/);
    client.close();
  });
});
