/**
 * Requests of drafts hybi-07 and hybi-08 (Sec-WebSocket-Version 7 / 8, the origin sent as
 * Sec-WebSocket-Origin) over real TCP: accepted like 13 (websocket-driver accepts 7, 8 and 13,
 * ws 8 and 13), the origin allow-list reads Sec-WebSocket-Origin for them, frames are RFC 6455's;
 * any other version gets 426 naming the three.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, describe, it } from "node:test";
import { WebSocketServer } from "../../src/node/index.js";
import { cframe } from "../helpers/frames.js";
import { portOf, RawClient } from "../helpers/raw-client.js";
import { UNIT, within } from "../helpers/time.js";

const cleanups: Array<() => unknown> = [];
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

function draftRequest(port: number, version: string, origin: string): string {
  const key = randomBytes(16).toString("base64");
  return (
    `GET /chat HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Origin: ${origin}\r\nSec-WebSocket-Version: ${version}\r\n\r\n`
  );
}

async function echoServer(origins?: string[]): Promise<number> {
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", ...(origins ? { origins } : {}) });
  cleanups.push(() => wss.close({ timeout: 3 * UNIT }));
  wss.on("connection", (conn) => {
    conn.on("message", (data: string | Buffer, isBinary: boolean) => conn.send(data, { binary: isBinary }));
  });
  await wss.ready;
  return portOf(wss.address());
}

describe("drafts hybi-07 and hybi-08", () => {
  for (const version of ["7", "8"]) {
    it(`version ${version}: 101, an echo, a clean close; the origin checked from Sec-WebSocket-Origin`, async () => {
      const port = await echoServer(["http://good.example"]);
      const client = await RawClient.open(port, { request: draftRequest(port, version, "http://good.example") });
      cleanups.push(() => client.destroy());
      assert.equal(client.status, 101, client.response);
      assert.match(client.response, /\r\nSec-WebSocket-Accept: /i);
      await client.send(cframe(0x1, "hello hybi"));
      await client.until(() => client.frames.some((f) => f.opcode === 0x1));
      assert.equal(client.frames.find((f) => f.opcode === 0x1)!.payload.toString(), "hello hybi");
      await client.send(cframe(0x8, Buffer.from([0x03, 0xe8])));
      await client.until(() => client.ended);
      assert.deepEqual(client.closeFrame, [1000, ""]);

      const refused = await RawClient.open(port, { request: draftRequest(port, version, "http://evil.example") });
      cleanups.push(() => refused.destroy());
      assert.equal(refused.status, 403, refused.response);
    });
  }

  it("other versions: 426 with Sec-WebSocket-Version: 13, 8, 7", async () => {
    const port = await echoServer();
    for (const version of ["6", "9", "12"]) {
      const client = await RawClient.open(port, { request: draftRequest(port, version, "http://good.example") });
      cleanups.push(() => client.destroy());
      assert.equal(client.status, 426);
      assert.match(client.response, /\r\nSec-WebSocket-Version: 13, 8, 7\r\n/i);
      await within(client.until(() => client.ended, "the TCP close"));
    }
  });
});
