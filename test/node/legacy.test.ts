/**
 * `legacyDrafts`: hixie-75/76 requests are routed to the drafts' driver (same Connection API);
 * without the option they are refused with 426 like any non-13 version.
 */
import assert from "node:assert/strict";
import { connect as netConnect } from "node:net";
import { after, describe, it } from "node:test";
import { type Connection, WebSocketServer } from "../../src/node/index.js";
import { portOf } from "../helpers/raw-client.js";
import { event, UNIT, until } from "../helpers/time.js";

const cleanups: Array<() => unknown> = [];
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

async function server(legacyDrafts: boolean): Promise<{ wss: WebSocketServer; port: number }> {
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", legacyDrafts });
  cleanups.push(() => wss.close({ timeout: 2 * UNIT }));
  wss.on("connection", (conn: Connection) => conn.on("message", (d) => conn.send(`echo: ${String(d)}`)));
  await wss.ready;
  return { wss, port: portOf(wss.address()) };
}

async function raw(port: number, bytes: Buffer): Promise<{ received: () => Buffer; destroy: () => void }> {
  const socket = netConnect({ host: "127.0.0.1", port });
  socket.on("error", () => {});
  cleanups.push(() => socket.destroy());
  await event(socket, "connect");
  let received = Buffer.alloc(0);
  socket.on("data", (d: Buffer) => (received = Buffer.concat([received, d])));
  socket.write(bytes);
  return { received: () => received, destroy: () => socket.destroy() };
}

const HIXIE75 =
  "GET /demo HTTP/1.1\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\nHost: 127.0.0.1\r\nOrigin: http://example.com\r\n\r\n";
const frame = (text: string) => Buffer.concat([Buffer.from([0x00]), Buffer.from(text), Buffer.from([0xff])]);

describe("legacyDrafts", () => {
  it("routes a hixie-75 request to the draft driver", async () => {
    const { wss, port } = await server(true);
    const connected = event<[Connection]>(wss, "connection");
    const peer = await raw(port, Buffer.concat([Buffer.from(HIXIE75), frame("hi")]));
    const [conn] = await connected;
    assert.equal(conn.version, "hixie-75");
    await until(() => peer.received().includes(frame("echo: hi")));
    assert.match(peer.received().toString("latin1"), /^HTTP\/1\.1 101 Web Socket Protocol Handshake\r\n/);
  });

  it("routes a hixie-76 request (8-byte key after the head) to the draft driver", async () => {
    const { wss, port } = await server(true);
    const connected = event<[Connection]>(wss, "connection");
    // draft-76's own example handshake.
    const request =
      "GET /demo HTTP/1.1\r\nHost: example.com\r\nConnection: Upgrade\r\nSec-WebSocket-Key2: 12998 5 Y3 1  .P00\r\n" +
      "Sec-WebSocket-Protocol: sample\r\nUpgrade: WebSocket\r\nSec-WebSocket-Key1: 4 @1  46546xW%0l 1 5\r\nOrigin: http://example.com\r\n\r\n";
    const peer = await raw(port, Buffer.concat([Buffer.from(request), Buffer.from("^n:ds[4U", "latin1"), frame("yo")]));
    const [conn] = await connected;
    assert.equal(conn.version, "hixie-76");
    // The draft's example answer: "8jKS'y:G*Co,Wxa-".
    await until(() => peer.received().includes(Buffer.from("8jKS'y:G*Co,Wxa-", "latin1")));
    await until(() => peer.received().includes(frame("echo: yo")));
  });

  it("refuses hixie requests with 426 when the option is off", async () => {
    const { port } = await server(false);
    const peer = await raw(port, Buffer.from(HIXIE75));
    await until(() => peer.received().length > 0);
    assert.match(peer.received().toString("latin1"), /^HTTP\/1\.1 426 /);
  });
});
