/** The injected accept computation (Node passes native SHA-1) and the fixed-prefix 101 rendering. */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import { acceptHandshake, computeAccept, WEBSOCKET_GUID } from "../../../src/protocol/handshake/server-handshake.js";

const KEY = "dGhlIHNhbXBsZSBub25jZQ==";
const request = (extra: Record<string, string> = {}) => ({
  method: "GET",
  target: "/chat",
  httpVersion: "1.1",
  headers: {
    host: "server.example.com",
    upgrade: "websocket",
    connection: "Upgrade",
    "sec-websocket-key": KEY,
    "sec-websocket-version": "13",
    ...extra,
  },
});
const text = (b: Uint8Array) => Buffer.from(b).toString("latin1");

describe("server handshake: accept hook and 101 rendering", () => {
  it("uses the injected computeAccept with the trimmed key (RFC 6455 4.2.2 example)", () => {
    const seen: string[] = [];
    const native = (key: string) => {
      seen.push(key);
      return createHash("sha1")
        .update(key + WEBSOCKET_GUID, "latin1")
        .digest("base64");
    };
    const r = acceptHandshake(request({ "sec-websocket-key": ` ${KEY} ` }), { computeAccept: native });
    assert.equal(r.ok, true);
    assert.deepEqual(seen, [KEY]);
    assert.equal(
      text(r.response),
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
    );
    assert.equal(computeAccept(KEY), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  });

  it("renders protocol, then extra headers in the same order with and without the fast path", () => {
    const plain = acceptHandshake(request({ "sec-websocket-protocol": "chat, superchat" }), { protocols: ["chat"] });
    assert.equal(
      text(plain.response),
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n\r\n",
    );
    const extra = acceptHandshake(request({ "sec-websocket-protocol": "chat" }), {
      protocols: ["chat"],
      headers: { "X-Id": "7" },
    });
    assert.equal(
      text(extra.response),
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\nX-Id: 7\r\n\r\n",
    );
  });
});
