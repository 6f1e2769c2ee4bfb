/**
 * websocket-driver's spec for the hixie drafts (spec/websocket/driver/draft75_spec.js and
 * draft76_spec.js), ported to TypeScript and node:test (MIT License, Copyright (c) 2010-2020
 * James Coglan). Each scenario runs against the websocket-driver package itself (the
 * reference) and against `wirecable/driver`. The drivers come from the public `Driver.http` with
 * `allowDrafts` instead of the spec's private `lib/websocket/driver/draft7x` modules. The shared
 * "draft-75 protocol" examples (a separate file of the spec) were not available to port; the
 * frame tests below cover text frames both ways.
 */
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { describe, it } from "node:test";
import Ours from "../../src/driver/index.js";

const require = createRequire(import.meta.url);
const Reference = require("websocket-driver") as typeof Ours;

const BODY = Buffer.from([0x91, 0x25, 0x3e, 0xd3, 0xa9, 0xe7, 0x6a, 0x88]);
const RESPONSE = Buffer.from([
  0xb4, 0x9c, 0x6e, 0x40, 0x53, 0x04, 0x04, 0x26, 0xe5, 0x1b, 0xbf, 0x6c, 0xb7, 0x9f, 0x1d, 0xf9,
]);
const HEAD_76 =
  "HTTP/1.1 101 WebSocket Protocol Handshake\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\n" +
  "Sec-WebSocket-Origin: http://www.example.com\r\nSec-WebSocket-Location: ws://www.example.com/socket\r\n\r\n";
const HEAD_75 =
  "HTTP/1.1 101 Web Socket Protocol Handshake\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\n" +
  "WebSocket-Origin: http://www.example.com\r\nWebSocket-Location: ws://www.example.com/socket\r\n\r\n";

type AnyDriver = ReturnType<typeof Ours.http>;

function drive(lib: typeof Ours, headers: Record<string, string>, body?: Buffer) {
  const driver = lib.http(
    {
      method: "GET",
      url: "/socket",
      headers: {
        connection: "Upgrade",
        upgrade: "WebSocket",
        origin: "http://www.example.com",
        host: "www.example.com",
        ...headers,
      },
    },
    { allowDrafts: true },
  ) as AnyDriver;
  const state = { open: false, close: false, message: "", error: null as Error | null };
  const chunks: Buffer[] = [];
  driver.on("open", () => (state.open = true));
  driver.on("message", (e: { data: string }) => (state.message += e.data));
  driver.on("error", (e: Error) => (state.error = e));
  driver.on("close", () => (state.close = true));
  driver.io.on("data", (d: Buffer) => chunks.push(Buffer.from(d)));
  if (body !== undefined) driver.io.write(body);
  return { driver, state, chunks };
}

const KEYS = { "sec-websocket-key1": "1   38 wZ3f9 23O0 3l 0r", "sec-websocket-key2": "27   0E 6 2  1665:< ;U 1H" };

for (const [name, lib] of [
  ["websocket-driver (reference)", Reference],
  ["wirecable/driver", Ours],
] as const) {
  describe(`Draft76, websocket-driver's spec: ${name}`, () => {
    it("starts in the connecting state", () => {
      assert.equal(drive(lib, KEYS, BODY).driver.getState(), "connecting");
    });

    it("start writes the handshake response and the challenge answer, opens, sets the version", () => {
      const h = drive(lib, KEYS, BODY);
      assert.equal(h.driver.start(), true);
      assert.deepEqual(Buffer.concat(h.chunks), Buffer.concat([Buffer.from(HEAD_76), RESPONSE]));
      assert.equal(h.state.open, true);
      assert.equal(h.driver.getState(), "open");
      assert.equal(h.driver.version, "hixie-76");
    });

    it("with an invalid key header: 400 response, no open, error, close, closed", () => {
      const h = drive(lib, { ...KEYS, "sec-websocket-key1": "2 L785 8o% s9Sy9@V. 4<1P5" }, BODY);
      h.driver.start();
      assert.match(Buffer.concat(h.chunks).toString("latin1"), /^HTTP\/1.1 400 Bad Request\r\n/);
      assert.equal(h.state.open, false);
      assert.ok(h.state.error instanceof Error);
      assert.equal(h.state.close, true);
      assert.equal(h.driver.getState(), "closed");
    });

    it("frames are not written before start, return true, and are queued until the handshake", () => {
      const h = drive(lib, KEYS, BODY);
      assert.equal(h.driver.frame("Hi"), true);
      assert.equal(h.chunks.length, 0);
      h.driver.start();
      assert.deepEqual(
        Buffer.concat(h.chunks),
        Buffer.concat([Buffer.from(HEAD_76), RESPONSE, Buffer.from([0x00, 72, 105, 0xff])]),
      );
    });

    it("with no request body: the head only, still connecting; the body then answers and opens", () => {
      const h = drive(lib, KEYS, Buffer.alloc(0));
      h.driver.start();
      assert.equal(Buffer.concat(h.chunks).toString("latin1"), HEAD_76);
      assert.equal(h.state.open, false);
      assert.equal(h.driver.getState(), "connecting");
      h.driver.frame("hello");
      h.driver.parse(BODY);
      assert.deepEqual(
        Buffer.concat(h.chunks),
        Buffer.concat([Buffer.from(HEAD_76), RESPONSE, Buffer.from([0x00, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0xff])]),
      );
      assert.equal(h.state.open, true);
      assert.equal(h.driver.getState(), "open");
    });

    it("in the open state: text frames are parsed, a close frame closes, close() writes 0xff 0x00", () => {
      const h = drive(lib, KEYS, BODY);
      h.driver.start();
      h.driver.parse(Buffer.from([0x00, 0x48, 0x69, 0xff]));
      assert.equal(h.state.message, "Hi");
      h.chunks.length = 0;
      h.driver.close();
      assert.deepEqual([...Buffer.concat(h.chunks)], [0xff, 0x00]);
      const other = drive(lib, KEYS, BODY);
      other.driver.start();
      other.driver.parse(Buffer.from([0xff, 0x00]));
      assert.equal(other.state.close, true);
      assert.equal(other.driver.getState(), "closed");
    });
  });

  describe(`Draft75, websocket-driver's spec: ${name}`, () => {
    it("starts in the connecting state", () => {
      assert.equal(drive(lib, {}).driver.getState(), "connecting");
    });

    it("start writes the handshake response, returns true, opens, sets the version", () => {
      const h = drive(lib, {});
      assert.equal(h.driver.start(), true);
      assert.equal(Buffer.concat(h.chunks).toString("latin1"), HEAD_75);
      assert.equal(h.state.open, true);
      assert.equal(h.driver.getState(), "open");
      assert.equal(h.driver.version, "hixie-75");
    });

    it("frames are not written before start, return true, and are queued until the handshake", () => {
      const h = drive(lib, {});
      assert.equal(h.driver.frame("Hi"), true);
      assert.equal(h.chunks.length, 0);
      h.driver.start();
      assert.deepEqual(
        Buffer.concat(h.chunks),
        Buffer.concat([Buffer.from(HEAD_75), Buffer.from([0x00, 0x48, 0x69, 0xff])]),
      );
    });

    it("in the open state: text frames both ways, split across packets", () => {
      const h = drive(lib, {});
      h.driver.start();
      h.driver.parse(Buffer.from([0x00, 0x48]));
      h.driver.parse(Buffer.from([0x65, 0x6c, 0x6c, 0x6f, 0xff, 0x00, 0x21, 0xff]));
      assert.equal(h.state.message, "Hello!");
      h.chunks.length = 0;
      h.driver.text("Hi");
      assert.deepEqual([...Buffer.concat(h.chunks)], [0x00, 0x48, 0x69, 0xff]);
    });
  });
}
