// examples/heartbeats: a peer that never answers pings is cut (1006), an idle peer is closed
// with 1001 "idle timeout", and a live, chatty one stays.
import assert from "node:assert/strict";
import { once } from "node:events";
import { connect as tcpConnect } from "node:net";
import { after, before, it } from "node:test";
import { start } from "../../examples/heartbeats/server.js";
import { connect, type WebSocketServer } from "../../src/node/index.js";

let wss: WebSocketServer;
const log: string[] = [];
before(async () => {
  wss = await start({ port: 0, pingInterval: 100, pongTimeout: 150, idleTimeout: 600, log: (l) => log.push(l) });
});
after(() => wss.close());

it("terminates a peer that stops answering pings", async () => {
  const { port } = wss.address() as { port: number };
  // A raw socket: completes the handshake, then reads (and ignores) everything, answering nothing.
  const socket = tcpConnect(port, "127.0.0.1");
  socket.resume();
  socket.write(
    "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
  );
  const started = Date.now();
  await once(socket, "close");
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= 200, `cut after ${elapsed} ms, not before ping + pong timeout`);
  assert.ok(
    log.some((l) => / closed 1006/.test(l)),
    log.join("\n"),
  );
});

it("closes an idle connection with 1001, keeps a chatty one", async () => {
  const idle = await connect(wss.url!);
  const chatty = await connect(wss.url!);
  const timer = setInterval(() => chatty.send("still here"), 100);
  const [code, reason] = await once(idle, "close");
  assert.equal(code, 1001);
  assert.equal(String(reason), "idle timeout");
  assert.equal(chatty.readyState, 1, "the chatty client is still open");
  clearInterval(timer);
  chatty.close();
  assert.ok(
    log.some((l) => / pong$/.test(l)),
    "live clients answer the pings",
  );
});
