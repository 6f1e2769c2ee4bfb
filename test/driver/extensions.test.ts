/**
 * `addExtension` with websocket-extensions' protocol (what the `permessage-deflate` package and
 * faye-websocket's users plug in), run against the websocket-driver package (the reference) and
 * `wirecable/driver`: a toy "x-reverse" extension that claims RSV1 and reverses payloads.
 */
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { describe, it } from "node:test";
import Ours, { type WebSocketExtension } from "../../src/driver/index.js";

const require = createRequire(import.meta.url);
const Reference = require("websocket-driver") as typeof Ours;

type Message = { rsv1: boolean; rsv2: boolean; rsv3: boolean; opcode: number; data: Buffer };

function reverseExtension(log: string[]): WebSocketExtension {
  const session = {
    generateOffer: () => ({ level: 1 }),
    activate: (params: Record<string, unknown>) => params.level === 1,
    generateResponse: () => ({ level: 1 }),
    processIncomingMessage(message: Message, callback: (error: Error | null, message: Message) => void) {
      if (!message.rsv1) return callback(null, message);
      callback(null, { ...message, rsv1: false, data: Buffer.from(message.data).reverse() });
    },
    processOutgoingMessage(message: Message, callback: (error: Error | null, message: Message) => void) {
      callback(null, { ...message, rsv1: true, data: Buffer.from(message.data).reverse() });
    },
    close() {
      log.push("close");
    },
  };
  return {
    name: "x-reverse",
    type: "permessage",
    rsv1: true,
    rsv2: false,
    rsv3: false,
    createServerSession: (offers) => {
      log.push(`offers ${JSON.stringify(offers)}`);
      return session;
    },
    createClientSession: () => session,
  };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const MASK = [1, 2, 3, 4];

for (const [name, lib] of [
  ["websocket-driver (reference)", Reference],
  ["wirecable/driver", Ours],
] as const) {
  describe(`addExtension (websocket-extensions protocol): ${name}`, () => {
    it("server: negotiates the offer, answers it, transforms both ways", async () => {
      const log: string[] = [];
      const driver = lib.http({
        method: "GET",
        headers: {
          connection: "Upgrade",
          upgrade: "websocket",
          "sec-websocket-key": "JFBCWHksyIpXV+6Wlq/9pw==",
          "sec-websocket-version": "13",
          "sec-websocket-extensions": "x-reverse; level=1, x-other",
        },
      });
      driver.addExtension(reverseExtension(log));
      const out: Buffer[] = [];
      const messages: string[] = [];
      driver.io.on("data", (d: Buffer) => out.push(Buffer.from(d)));
      driver.on("message", (e: { data: string }) => messages.push(e.data));
      driver.start();
      assert.match(Buffer.concat(out).toString(), /\r\nSec-WebSocket-Extensions: x-reverse; level=1\r\n/);
      assert.deepEqual(log, ['offers [{"level":1}]']);
      out.length = 0;
      const payload = Buffer.from("olleH").map((b, i) => b ^ MASK[i % 4]!);
      driver.parse(Buffer.from([0xc1, 0x85, ...MASK, ...payload]));
      driver.text("abc");
      await tick();
      assert.deepEqual(messages, ["Hello"]);
      assert.deepEqual([...Buffer.concat(out)], [0xc1, 0x03, 0x63, 0x62, 0x61]);
    });

    it("client: offers the extension and activates the server's answer", async () => {
      const log: string[] = [];
      const driver = lib.client("ws://www.example.com/socket");
      driver.addExtension(reverseExtension(log));
      const out: Buffer[] = [];
      driver.io.on("data", (d: Buffer) => out.push(Buffer.from(d)));
      const messages: string[] = [];
      driver.on("message", (e: { data: string }) => messages.push(e.data));
      driver.start();
      const request = Buffer.concat(out).toString();
      assert.match(request, /\r\nSec-WebSocket-Extensions: x-reverse; level=1\r\n/);
      const key = /Sec-WebSocket-Key: (.+)\r\n/.exec(request)![1]!;
      const { createHash } = await import("node:crypto");
      const accept = createHash("sha1").update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64");
      driver.parse(
        Buffer.from(
          "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
            `Sec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Extensions: x-reverse; level=1\r\n\r\n`,
        ),
      );
      assert.equal(driver.getState(), "open");
      driver.parse(Buffer.from([0xc1, 0x02, 0x69, 0x48]));
      await tick();
      assert.deepEqual(messages, ["Hi"]);
    });

    it("client: an answer for an extension never offered fails the handshake", () => {
      const driver = lib.client("ws://www.example.com/socket");
      let error: Error | undefined;
      driver.on("error", (e: Error) => (error = e));
      const out: Buffer[] = [];
      driver.io.on("data", (d: Buffer) => out.push(Buffer.from(d)));
      driver.start();
      const key = /Sec-WebSocket-Key: (.+)\r\n/.exec(Buffer.concat(out).toString())![1]!;
      const { createHash } = require("node:crypto") as typeof import("node:crypto");
      const accept = createHash("sha1").update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64");
      driver.parse(
        Buffer.from(
          "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
            `Sec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Extensions: x-reverse\r\n\r\n`,
        ),
      );
      assert.equal(driver.getState(), "closed");
      assert.match(error?.message ?? "", /^Error during WebSocket handshake: /);
    });
  });
}
