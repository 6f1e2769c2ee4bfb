// examples/large-file: a 5 MiB file arrives intact (size and SHA-256) as one message sent in
// fragments: the raw frames on the wire are a binary frame without FIN, continuations, and a
// final continuation with FIN (RFC 6455 5.4).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect as tcpConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, it } from "node:test";
import { receive } from "../../examples/large-file/client.js";
import { start } from "../../examples/large-file/server.js";
import type { WebSocketServer } from "../../src/node/index.js";

let dir: string;
let wss: WebSocketServer;
const SIZE = 5 * 1024 * 1024 + 123;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "wirecable-large-"));
  writeFileSync(join(dir, "big.bin"), randomBytes(SIZE));
  wss = await start(join(dir, "big.bin"), 0);
});
after(async () => {
  await wss.close();
  rmSync(dir, { recursive: true, force: true });
});

it("delivers the file intact", async () => {
  const result = await receive(wss.url!);
  assert.equal(result.name, "big.bin");
  assert.equal(result.bytes.length, SIZE);
  assert.ok(result.ok, "checksum matches");
});

it("sends it in fragments", async () => {
  const { port } = wss.address() as { port: number };
  const frames: Array<{ fin: boolean; opcode: number; length: number }> = [];
  await new Promise<void>((resolve, reject) => {
    const socket = tcpConnect(port, "127.0.0.1");
    let buffer = Buffer.alloc(0);
    let upgraded = false;
    socket.on("error", reject);
    socket.on("close", () => resolve());
    socket.write(
      "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    );
    socket.on("data", (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (!upgraded) {
        const end = buffer.indexOf("\r\n\r\n");
        if (end === -1) return;
        assert.match(buffer.subarray(0, end).toString(), /^HTTP\/1\.1 101/);
        buffer = buffer.subarray(end + 4);
        upgraded = true;
      }
      // Server frames are unmasked: FIN/opcode, length (7, 16 or 64 bits), payload.
      for (;;) {
        if (buffer.length < 2) return;
        let length = buffer[1]! & 0x7f;
        let offset = 2;
        if (length === 126) {
          if (buffer.length < 4) return;
          length = buffer.readUInt16BE(2);
          offset = 4;
        } else if (length === 127) {
          if (buffer.length < 10) return;
          length = Number(buffer.readBigUInt64BE(2));
          offset = 10;
        }
        if (buffer.length < offset + length) return;
        const frame = { fin: (buffer[0]! & 0x80) !== 0, opcode: buffer[0]! & 0x0f, length };
        frames.push(frame);
        buffer = buffer.subarray(offset + length);
        if (frame.opcode === 0x8) socket.destroy(); // close frame: done
      }
    });
  });
  const data = frames.filter((f) => f.opcode !== 0x8 && f.opcode !== 0x1);
  assert.ok(data.length > 10, `${data.length} fragments`);
  assert.deepEqual(data[0], { ...data[0], fin: false, opcode: 0x2 });
  assert.ok(data.slice(1).every((f) => f.opcode === 0x0));
  assert.equal(data.at(-1)!.fin, true);
  assert.equal(
    data.reduce((sum, f) => sum + f.length, 0),
    SIZE,
  );
});
