/**
 * websocket-driver's spec (spec/websocket/driver/hybi_spec.js and client_spec.js), ported to
 * TypeScript and node:test. Scenarios and assertions follow the spec of websocket-driver (MIT
 * License, Copyright (c) 2010-2020 James Coglan). Each scenario runs twice: against the
 * websocket-driver package itself (the reference: it shows the expectation is the library's
 * real behaviour) and against `wirecable/driver`. The spec builds drivers from private modules
 * (`lib/websocket/driver/hybi`); here they come from the public `Driver.http` / `Driver.client`.
 */
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { describe, it } from "node:test";
import Ours, { Client as OurClient } from "../../src/driver/index.js";

const require = createRequire(import.meta.url);
const Reference = require("websocket-driver") as typeof Ours;
const ReferenceClient = require("websocket-driver/lib/websocket/driver/client") as { generateKey(): string };

type AnyDriver = ReturnType<typeof Ours.http> & Record<string, unknown>;

const HANDSHAKE =
  "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
  "Sec-WebSocket-Accept: JdiiuafpBKRqD7eol0y4vJDTsTs=\r\n\r\n";

function request(extra: Record<string, string> = {}) {
  return {
    method: "GET",
    headers: {
      connection: "Upgrade",
      upgrade: "websocket",
      origin: "http://www.example.com",
      "sec-websocket-key": "JFBCWHksyIpXV+6Wlq/9pw==",
      "sec-websocket-version": "13",
      ...extra,
    } as Record<string, string>,
  };
}

/** A driver with the spec's listeners and a collector of everything written to io. */
function harness(lib: typeof Ours, driver: AnyDriver) {
  const state = { open: false, message: "", error: null as Error | null, close: null as [number, string] | null };
  const chunks: Buffer[] = [];
  driver.on("open", () => (state.open = true));
  driver.on("message", (e: { data: string }) => (state.message += e.data));
  driver.on("error", (e: Error) => (state.error = e));
  driver.on("close", (e: { code: number; reason: string }) => (state.close = [e.code, e.reason]));
  driver.io.on("data", (d: Buffer) => chunks.push(Buffer.from(d)));
  return {
    driver,
    state,
    chunks,
    bytes: () => [...Buffer.concat(chunks)],
    lib,
  };
}

for (const [name, lib] of [
  ["websocket-driver (reference)", Reference],
  ["wirecable/driver", Ours],
] as const) {
  const server = (extra?: Record<string, string>, options: Record<string, unknown> = {}) =>
    harness(lib, lib.http(request(extra), { requireMasking: false, ...options }) as AnyDriver);

  describe(`Hybi server driver, websocket-driver's spec: ${name}`, () => {
    describe("in the connecting state", () => {
      it("starts in the connecting state", () => {
        assert.equal(server().driver.getState(), "connecting");
      });
      it("start writes the handshake response to the socket and returns true", () => {
        const h = server();
        assert.equal(h.driver.start(), true);
        assert.equal(Buffer.concat(h.chunks).toString(), HANDSHAKE);
      });
      it("with subprotocols: writes Sec-WebSocket-Protocol and sets the subprotocol", () => {
        const h = server({ "sec-websocket-protocol": "foo, bar, xmpp" }, { protocols: ["xmpp"] });
        h.driver.start();
        assert.equal(
          Buffer.concat(h.chunks).toString(),
          `${HANDSHAKE.slice(0, -2)}Sec-WebSocket-Protocol: xmpp\r\n\r\n`,
        );
        assert.equal(h.driver.protocol, "xmpp");
      });
      it("with invalid extensions: refuses with 400, error, close 1002, closed", () => {
        const h = server({ "sec-websocket-extensions": "x-webkit- -frame" });
        assert.equal(h.driver.start(), false);
        assert.match(Buffer.concat(h.chunks).toString(), /^HTTP\/1.1 400 Bad Request\r\n/);
        assert.equal(h.state.open, false);
        assert.equal(h.state.error?.message, "Invalid Sec-WebSocket-Extensions header: x-webkit- -frame");
        assert.deepEqual(h.state.close, [1002, "Invalid Sec-WebSocket-Extensions header: x-webkit- -frame"]);
        assert.equal(h.driver.getState(), "closed");
      });
      it("with custom headers: writes them in the handshake", () => {
        const h = server();
        h.driver.setHeader("Authorization", "Bearer WAT");
        h.driver.start();
        assert.match(Buffer.concat(h.chunks).toString(), /\r\nAuthorization: Bearer WAT\r\n/);
      });
      it("start triggers open, sets the state and the version", () => {
        const h = server();
        h.driver.start();
        assert.equal(h.state.open, true);
        assert.equal(h.driver.getState(), "open");
        assert.equal(h.driver.version, "hybi-13");
      });
      it("frame, ping and pong are queued until the handshake has been sent", () => {
        const h = server();
        assert.equal(h.driver.frame("Hi"), true);
        assert.equal(h.driver.ping(), true);
        assert.equal(h.driver.pong(), true);
        assert.equal(h.chunks.length, 0);
        h.driver.start();
        assert.deepEqual(Buffer.concat(h.chunks.slice(1)), Buffer.from([0x81, 0x02, 72, 105, 0x89, 0, 0x8a, 0]));
      });
      it("close does not write, returns true, closes with 1000", () => {
        const h = server();
        assert.equal(h.driver.close(), true);
        assert.equal(h.chunks.length, 0);
        assert.deepEqual(h.state.close, [1000, ""]);
        assert.equal(h.driver.getState(), "closed");
      });
    });

    describe("in the open state", () => {
      const open = () => {
        const h = server();
        h.driver.start();
        h.chunks.length = 0;
        return h;
      };
      const mask = [1, 2, 3, 4];
      const masked = (bytes: number[]) => bytes.map((b, i) => b ^ mask[i % 4]!);

      for (const [title, frames, expected] of [
        ["parses unmasked text frames", [[0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]], "Hello"],
        [
          "parses multiple frames from the same packet",
          [[0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]],
          "HelloHello",
        ],
        ["parses empty text frames", [[0x81, 0x00]], ""],
        [
          "parses fragmented text frames",
          [
            [0x01, 0x03, 0x48, 0x65, 0x6c],
            [0x80, 0x02, 0x6c, 0x6f],
          ],
          "Hello",
        ],
        ["parses masked text frames", [[0x81, 0x85], mask, masked([0x48, 0x65, 0x6c, 0x6c, 0x6f])], "Hello"],
        ["parses masked empty text frames", [[0x81, 0x80], mask, masked([])], ""],
        [
          "parses masked fragmented text frames",
          [[0x01, 0x81], mask, masked([0x48]), [0x80, 0x84], mask, masked([0x65, 0x6c, 0x6c, 0x6f])],
          "Hello",
        ],
        [
          "parses unmasked multibyte text frames",
          [[0x81, 0x0b, 0x41, 0x70, 0x70, 0x6c, 0x65, 0x20, 0x3d, 0x20, 0xef, 0xa3, 0xbf]],
          "Apple = \uf8ff",
        ],
        [
          "parses frames received in several packets",
          [
            [0x81, 0x0b, 0x41, 0x70, 0x70, 0x6c],
            [0x65, 0x20, 0x3d, 0x20, 0xef, 0xa3, 0xbf],
          ],
          "Apple = \uf8ff",
        ],
        [
          "parses fragmented multibyte text frames",
          [
            [0x01, 0x0a, 0x41, 0x70, 0x70, 0x6c, 0x65, 0x20, 0x3d, 0x20, 0xef, 0xa3],
            [0x80, 0x01, 0xbf],
          ],
          "Apple = \uf8ff",
        ],
      ] as Array<[string, number[][], string]>) {
        it(title, () => {
          const h = open();
          for (const frame of frames) h.driver.parse(Buffer.from(frame));
          assert.equal(h.state.message, expected);
        });
      }

      it("parses unmasked medium-length text frames", () => {
        const h = open();
        h.driver.parse(Buffer.from([0x81, 0x7e, 0x00, 0xc8]));
        for (let i = 0; i < 40; i++) h.driver.parse(Buffer.from("Hello"));
        assert.equal(h.state.message, "Hello".repeat(40));
      });

      it("closes the socket if the frame has an unrecognized opcode", () => {
        const h = open();
        h.driver.parse(Buffer.from([0x83, 0x00]));
        assert.deepEqual(h.bytes().slice(0, 4), [0x88, 0x1e, 0x03, 0xea]);
        assert.equal(h.state.error?.message, "Unrecognized frame opcode: 3");
        assert.deepEqual(h.state.close, [1002, "Unrecognized frame opcode: 3"]);
        assert.equal(h.driver.getState(), "closed");
      });

      it("closes the socket if a close frame is received", () => {
        const h = open();
        h.driver.parse(Buffer.from([0x88, 0x07, 0x03, 0xe8, 0x48, 0x65, 0x6c, 0x6c, 0x6f]));
        assert.deepEqual(h.bytes(), [0x88, 0x07, 0x03, 0xe8, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
        assert.deepEqual(h.state.close, [1000, "Hello"]);
        assert.equal(h.driver.getState(), "closed");
      });

      it("returns an error for too-large frames", () => {
        const h = open();
        h.driver.parse(Buffer.from([0x81, 0x7f, 0x00, 0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0x00]));
        assert.equal(h.state.error?.message, "WebSocket frame length too large");
        assert.deepEqual(h.state.close, [1009, "WebSocket frame length too large"]);
        assert.equal(h.driver.getState(), "closed");
      });

      it("replies to pings with a pong and triggers onping", () => {
        const h = open();
        let ping: { data: string } | undefined;
        let pong: unknown;
        h.driver.on("ping", (e: { data: string }) => (ping = e));
        h.driver.on("pong", (e: unknown) => (pong = e));
        h.driver.parse(Buffer.from([0x89, 0x04, 0x4f, 0x48, 0x41, 0x49]));
        assert.deepEqual(h.bytes(), [0x8a, 0x04, 0x4f, 0x48, 0x41, 0x49]);
        assert.equal(ping?.data, "OHAI");
        assert.equal(pong, undefined);
      });

      it("a throwing message listener is not trapped by the parser and no input is dropped", () => {
        const h = open();
        const messages: string[] = [];
        h.driver.on("message", (msg: { data: string }) => {
          messages.push(msg.data);
          throw new Error("an error");
        });
        assert.throws(() => h.driver.parse(Buffer.from([0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x81, 0x05])));
        try {
          h.driver.parse(Buffer.from([0x57, 0x6f, 0x72, 0x6c, 0x64]));
        } catch {}
        assert.deepEqual(messages, ["Hello", "World"]);
      });

      for (const [title, args, expected] of [
        ["formats the given string as a WebSocket frame", ["Hello"], [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]],
        ["formats a byte array as a binary WebSocket frame", [[0x48, 0x65, 0x6c]], [0x82, 0x03, 0x48, 0x65, 0x6c]],
        ["converts numbers to strings", [50], [0x81, 0x02, 0x35, 0x30]],
        [
          "encodes multibyte characters correctly",
          ["Apple = \uf8ff"],
          [0x81, 0x0b, 0x41, 0x70, 0x70, 0x6c, 0x65, 0x20, 0x3d, 0x20, 0xef, 0xa3, 0xbf],
        ],
        [
          "encodes close frames with an error code",
          ["Hello", "close", 1002],
          [0x88, 0x07, 0x03, 0xea, 0x48, 0x65, 0x6c, 0x6c, 0x6f],
        ],
        ["encodes pong frames", ["", "pong"], [0x8a, 0x00]],
      ] as Array<[string, unknown[], number[]]>) {
        it(`frame ${title}`, () => {
          const h = open();
          (h.driver.frame as (...a: unknown[]) => boolean)(...args);
          assert.deepEqual(h.bytes(), expected);
        });
      }

      it("frame encodes medium-length strings using extra length bytes", () => {
        const h = open();
        h.driver.frame("Hello".repeat(40));
        assert.deepEqual(h.bytes(), [0x81, 0x7e, 0x00, 0xc8, ...Buffer.from("Hello".repeat(40))]);
      });

      it("ping writes a ping frame, converts numbers, returns true", () => {
        const h = open();
        assert.equal(h.driver.ping("mic check"), true);
        h.driver.ping(50 as unknown as string);
        assert.deepEqual(h.bytes(), [0x89, 0x09, ...Buffer.from("mic check"), 0x89, 0x02, 0x35, 0x30]);
      });

      it("runs the ping callback on a matching pong only, and triggers onpong", () => {
        const h = open();
        let reply = false;
        let pong: { data: string } | undefined;
        h.driver.on("pong", (e: { data: string }) => (pong = e));
        h.driver.ping("Hi", () => (reply = true));
        h.driver.parse(Buffer.from([0x8a, 0x03, 119, 97, 116]));
        assert.equal(reply, false);
        h.driver.parse(Buffer.from([0x8a, 0x02, 72, 105]));
        assert.equal(reply, true);
        assert.equal(pong?.data, "Hi");
      });

      it("pong writes a pong frame and returns true", () => {
        const h = open();
        assert.equal(h.driver.pong("mic check"), true);
        assert.deepEqual(h.bytes(), [0x8a, 0x09, ...Buffer.from("mic check")]);
      });

      it("close writes a close frame, returns true, moves to closing without events", () => {
        const h = open();
        assert.equal(h.driver.close("<%= reasons %>", 1003), true);
        assert.deepEqual(h.bytes(), [0x88, 0x10, 0x03, 0xeb, ...Buffer.from("<%= reasons %>")]);
        assert.equal(h.state.close, null);
        assert.equal(h.state.error, null);
        assert.equal(h.driver.getState(), "closing");
      });
    });

    it("when masking is required: no message, error and close 1003", () => {
      const h = server({}, { requireMasking: true });
      h.driver.start();
      h.driver.parse(Buffer.from([0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]));
      assert.equal(h.state.message, "");
      assert.equal(h.state.error?.message, "Received unmasked frame but masking is required");
      assert.deepEqual(h.state.close, [1003, "Received unmasked frame but masking is required"]);
    });

    describe("in the closing state", () => {
      const closing = () => {
        const h = server();
        h.driver.start();
        h.driver.close();
        h.chunks.length = 0;
        return h;
      };
      it("frame writes nothing and returns true; ping, pong and close write nothing and return false", () => {
        const h = closing();
        assert.equal(h.driver.frame("dropped"), true);
        assert.equal(h.driver.ping(), false);
        assert.equal(h.driver.pong(), false);
        assert.equal(h.driver.close(), false);
        assert.equal(h.chunks.length, 0);
      });
      it("a close frame triggers close, state closed, and no other close frame", () => {
        const h = closing();
        h.driver.parse(Buffer.from([0x88, 0x04, 0x03, 0xe9, 0x4f, 0x4b]));
        assert.deepEqual(h.state.close, [1001, "OK"]);
        assert.equal(h.driver.getState(), "closed");
        h.driver.parse(Buffer.from([0x88, 0x04, 0x03, 0xe9, 0x4f, 0x4b]));
        assert.equal(h.chunks.length, 0);
      });
      it("a close frame with a too-short payload closes with 1002", () => {
        const h = closing();
        h.driver.parse(Buffer.from([0x88, 0x01, 0x03]));
        assert.deepEqual(h.state.close, [1002, ""]);
        assert.equal(h.driver.getState(), "closed");
      });
      it("a close frame with no code closes with 1000", () => {
        const h = closing();
        h.driver.parse(Buffer.from([0x88, 0x00]));
        assert.deepEqual(h.state.close, [1000, ""]);
        assert.equal(h.driver.getState(), "closed");
      });
    });

    it("in the closed state: frame, ping, pong, close write nothing and return false", () => {
      const h = server();
      h.driver.start();
      h.driver.close();
      h.driver.parse(Buffer.from([0x88, 0x02, 0x03, 0xea]));
      h.chunks.length = 0;
      assert.equal(h.driver.frame("dropped"), false);
      assert.equal(h.driver.ping(), false);
      assert.equal(h.driver.pong(), false);
      assert.equal(h.driver.close(), false);
      assert.equal(h.driver.getState(), "closed");
      assert.equal(h.chunks.length, 0);
    });

    it("messages stream: written messages are framed, received ones come out as data", () => {
      const h = server();
      h.driver.start();
      h.chunks.length = 0;
      const received: unknown[] = [];
      h.driver.messages.on("data", (m: unknown) => received.push(m));
      h.driver.messages.write("Hi");
      h.driver.io.write(Buffer.from([0x81, 0x02, 0x48, 0x6f]));
      assert.deepEqual(h.bytes(), [0x81, 0x02, 72, 105]);
      assert.deepEqual(received, ["Ho"]);
    });

    it("Driver.isWebSocket and Driver.validateOptions", () => {
      assert.equal(lib.isWebSocket(request()), true);
      assert.equal(lib.isWebSocket({ method: "POST", headers: request().headers }), false);
      assert.throws(() => lib.validateOptions({ foo: 1 }, ["bar"]), /Unrecognized option: foo/);
    });
  });

  describe(`Client driver, websocket-driver's spec: ${name}`, () => {
    const KEY = "2vBVWg4Qyk3ZoM/5d3QD9Q==";
    const RESPONSE =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      "Sec-WebSocket-Accept: QV3I5XUXU2CdhtjixE7QCkCcMZM=\r\n\r\n";
    const client = (url = "ws://www.example.com/socket", protocols?: string[]) => {
      const Cls = (lib === Ours ? OurClient : ReferenceClient) as unknown as { generateKey(): string };
      const original = Cls.generateKey;
      Cls.generateKey = () => KEY;
      try {
        return harness(lib, lib.client(url, protocols ? { protocols } : {}) as unknown as AnyDriver);
      } finally {
        Cls.generateKey = original;
      }
    };
    const REQUEST =
      "GET /socket HTTP/1.1\r\nHost: www.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      `Sec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n`;

    it("starts in no state; close changes the state to closed with 1000", () => {
      const h = client();
      assert.equal(h.driver.getState(), null);
      h.driver.close();
      assert.equal(h.driver.getState(), "closed");
      assert.deepEqual(h.state.close, [1000, ""]);
    });
    it("start writes the handshake request and moves to connecting", () => {
      const h = client();
      assert.equal(h.driver.start(), true);
      assert.equal(Buffer.concat(h.chunks).toString().startsWith(REQUEST), true);
      assert.equal(h.driver.getState(), "connecting");
    });
    it("with subprotocols and basic auth", () => {
      const h = client("ws://user:pass@www.example.com/socket", ["foo", "bar", "xmpp"]);
      h.driver.start();
      const text = Buffer.concat(h.chunks).toString();
      assert.match(text, /\r\nSec-WebSocket-Protocol: foo, bar, xmpp\r\n/);
      assert.match(text, /\r\nAuthorization: Basic dXNlcjpwYXNz\r\n/);
    });
    it("with an invalid URL throws", () => {
      assert.throws(() => client("stream.wikimedia.org/rc"), /stream.wikimedia.org\/rc is not a valid WebSocket URL/);
    });
    it("with custom headers", () => {
      const h = client();
      h.driver.setHeader("User-Agent", "Chrome");
      h.driver.start();
      assert.match(Buffer.concat(h.chunks).toString(), /\r\nUser-Agent: Chrome\r\n/);
    });
    it("a valid response opens, exposes status and headers; a frame after it is parsed", () => {
      const h = client();
      h.driver.start();
      h.driver.parse(Buffer.concat([Buffer.from(RESPONSE), Buffer.from([0x81, 0x02, 72, 105])]));
      assert.equal(h.state.open, true);
      assert.equal(h.state.close, null);
      assert.equal(h.driver.getState(), "open");
      assert.equal((h.driver as unknown as { statusCode: number }).statusCode, 101);
      assert.equal((h.driver as unknown as { headers: Record<string, string> }).headers.upgrade, "websocket");
      assert.equal(h.state.message, "Hi");
    });
    for (const [title, edit, message] of [
      [
        "a bad Upgrade header",
        (r: string) => r.replace(/websocket/g, "wrong"),
        "'Upgrade' header value is not 'WebSocket'",
      ],
      ["a bad Accept header", (r: string) => r.replace(/QV3/g, "wrong"), "Sec-WebSocket-Accept mismatch"],
    ] as const) {
      it(`${title} closes with 1002`, () => {
        const h = client();
        h.driver.start();
        h.driver.parse(Buffer.from(edit(RESPONSE)));
        assert.equal(h.state.open, false);
        assert.equal(h.state.error?.message, `Error during WebSocket handshake: ${message}`);
        assert.deepEqual(h.state.close, [1002, `Error during WebSocket handshake: ${message}`]);
        assert.equal(h.driver.getState(), "closed");
      });
    }
    it("valid and invalid subprotocols", () => {
      const good = client(undefined, ["foo", "xmpp"]);
      good.driver.start();
      good.driver.parse(Buffer.from(RESPONSE.replace(/\r\n\r\n/, "\r\nSec-WebSocket-Protocol: xmpp\r\n\r\n")));
      assert.equal(good.driver.getState(), "open");
      assert.equal(good.driver.protocol, "xmpp");
      const bad = client(undefined, ["foo", "xmpp"]);
      bad.driver.start();
      bad.driver.parse(Buffer.from(RESPONSE.replace(/\r\n\r\n/, "\r\nSec-WebSocket-Protocol: irc\r\n\r\n")));
      assert.equal(bad.state.error?.message, "Error during WebSocket handshake: Sec-WebSocket-Protocol mismatch");
      assert.equal(bad.driver.getState(), "closed");
    });
    it("a proxy sends a CONNECT request, then reports connect or error", () => {
      const h = client();
      const proxy = (
        h.driver as unknown as {
          proxy(url: string): NodeJS.EventEmitter & Record<string, (...a: unknown[]) => unknown>;
        }
      ).proxy("http://user:pass@proxy.example.com");
      const out: Buffer[] = [];
      proxy.on("data", (d: Buffer) => out.push(d));
      proxy.setHeader("User-Agent", "Chrome");
      proxy.start();
      assert.equal(
        Buffer.concat(out).toString(),
        "CONNECT www.example.com:80 HTTP/1.1\r\nHost: www.example.com\r\nConnection: keep-alive\r\n" +
          "Proxy-Connection: keep-alive\r\nProxy-Authorization: Basic dXNlcjpwYXNz\r\nUser-Agent: Chrome\r\n\r\n",
      );
      const events: string[] = [];
      proxy.on("connect", () => events.push("connect"));
      proxy.on("close", () => events.push("close"));
      proxy.on("end", () => events.push("end"));
      assert.equal(proxy.write(Buffer.from("HTTP/1.1 200 OK\r\n\r\n")), true);
      assert.deepEqual(events, ["connect", "close", "end"]);
      const refused = (
        client().driver as unknown as {
          proxy(url: string): NodeJS.EventEmitter & Record<string, (...a: unknown[]) => unknown>;
        }
      ).proxy("http://proxy.example.com");
      let error: Error | undefined;
      refused.on("error", (e: Error) => (error = e));
      refused.write(Buffer.from("HTTP/1.1 403 Forbidden\r\n\r\n"));
      assert.equal(error?.message, "Can't establish a connection to the server at ws://www.example.com/socket");
    });
  });

  describe(`Server driver and drafts: ${name}`, () => {
    it("Driver.server parses the request from io, emits connect, then works as Driver.http", () => {
      const driver = lib.server() as unknown as AnyDriver;
      const out: Buffer[] = [];
      driver.io.on("data", (d: Buffer) => out.push(d));
      let connected = false;
      driver.on("connect", () => {
        connected = true;
        driver.start();
      });
      const messages: string[] = [];
      driver.on("message", (e: { data: string }) => messages.push(e.data));
      driver.io.write(
        Buffer.from(
          "GET /chat HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
            "Sec-WebSocket-Key: JFBCWHksyIpXV+6Wlq/9pw==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        ),
      );
      assert.equal(connected, true);
      assert.match(Buffer.concat(out).toString(), /^HTTP\/1.1 101 Switching Protocols\r\n/);
      driver.io.write(Buffer.from([0x81, 0x82, 1, 2, 3, 4, 0x48 ^ 1, 0x69 ^ 2]));
      assert.deepEqual(messages, ["Hi"]);
    });

    it("draft-75 with allowDrafts: handshake, text frames both ways, no binary", () => {
      const driver = lib.http(
        {
          method: "GET",
          url: "/demo",
          headers: { connection: "Upgrade", upgrade: "WebSocket", host: "example.com", origin: "http://example.com" },
        },
        { allowDrafts: true },
      ) as unknown as AnyDriver;
      const out: Buffer[] = [];
      driver.io.on("data", (d: Buffer) => out.push(d));
      const messages: string[] = [];
      driver.on("message", (e: { data: string }) => messages.push(e.data));
      driver.start();
      assert.equal(driver.version, "hixie-75");
      assert.match(Buffer.concat(out).toString(), /^HTTP\/1.1 101 Web Socket Protocol Handshake\r\n/);
      driver.parse(Buffer.from([0x00, 0x48, 0x69, 0xff]));
      assert.deepEqual(messages, ["Hi"]);
      out.length = 0;
      driver.text("Ho");
      assert.deepEqual([...Buffer.concat(out)], [0x00, 0x48, 0x6f, 0xff]);
      assert.equal(driver.binary(Buffer.from([1])), false);
    });

    it("draft-76 with allowDrafts: handshake with the challenge answer, then frames", () => {
      const driver = lib.http(
        {
          method: "GET",
          url: "/demo",
          headers: {
            connection: "Upgrade",
            upgrade: "WebSocket",
            host: "example.com",
            origin: "http://example.com",
            "sec-websocket-key1": "4 @1  46546xW%0l 1 5",
            "sec-websocket-key2": "12998 5 Y3 1  .P00",
          },
        },
        { allowDrafts: true },
      ) as unknown as AnyDriver;
      const out: Buffer[] = [];
      driver.io.on("data", (d: Buffer) => out.push(d));
      driver.parse(Buffer.from("^n:ds[4U"));
      driver.start();
      assert.equal(driver.version, "hixie-76");
      const all = Buffer.concat(out);
      assert.match(all.toString("latin1"), /^HTTP\/1.1 101 WebSocket Protocol Handshake\r\n/);
      assert.equal(all.subarray(-16).toString("latin1"), "8jKS'y:G*Co,Wxa-");
      assert.equal(driver.getState(), "open");
    });
  });
}
