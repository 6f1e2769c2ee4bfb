/** The optional native hooks injected into the engine and the handshake. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { computeAccept, decodeAscii, decodeUtf8, isUtf8, masker, renderSwitching } from "../../src/node/native.js";
import { acceptHandshake, computeAccept as jsAccept } from "../../src/protocol/handshake/server-handshake.js";

describe("native hooks", () => {
  it("bufferutil (a devDependency here) is loaded and masks like the RFC says", () => {
    assert.ok(masker !== undefined);
    const key = new Uint8Array([0x37, 0xfa, 0x21, 0x3d]);
    const out = new Uint8Array(7);
    masker.mask(new TextEncoder().encode("Hello"), key, out, 2, 5);
    // RFC 6455 5.7: masked "Hello" is 7f 9f 4d 51 58.
    assert.deepEqual([...out], [0, 0, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
    const back = out.subarray(2);
    masker.unmask(back, key);
    assert.equal(new TextDecoder().decode(back), "Hello");
  });

  it("decodeUtf8 decodes a range of any Uint8Array; isUtf8 is strict", () => {
    const bytes = new Uint8Array(Buffer.from("xhé✓!"));
    assert.equal(decodeUtf8(bytes, 1, bytes.length - 1), "hé✓");
    assert.equal(isUtf8(bytes), true);
    assert.equal(isUtf8(new Uint8Array([0xed, 0xa0, 0x80])), false); // a surrogate
  });

  it("decodeAscii decodes a range of ASCII bytes of any Uint8Array, as decodeUtf8 does", () => {
    const backing = new Uint8Array(Buffer.from("__hello, world~\x7f__"));
    const bytes = backing.subarray(1);
    assert.equal(decodeAscii(bytes, 1, bytes.length - 2), "hello, world~\x7f");
    assert.equal(decodeAscii(bytes, 1, bytes.length - 2), decodeUtf8(bytes, 1, bytes.length - 2));
    assert.equal(decodeAscii(bytes, 3, 3), "");
  });

  it("renderSwitching writes the 101 the string path renders, key after key", () => {
    const keys = ["dGhlIHNhbXBsZSBub25jZQ==", "AQIDBAUGBwgJCgsMDQ4PEA==", "+/+/+/+/+/+/+/+/+/+/+w=="];
    for (const tail of ["", "Sec-WebSocket-Protocol: chat\r\n", "Sec-WebSocket-Extensions: permessage-deflate\r\n"]) {
      for (const key of keys) {
        const out = renderSwitching(key, tail);
        const expected =
          "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
          `Sec-WebSocket-Accept: ${jsAccept(key)}\r\n${tail}\r\n`;
        assert.equal(Buffer.from(out).toString("latin1"), expected);
        assert.equal(out.length, expected.length);
      }
    }
    // Another length (not a validated key) takes the string path, with the same result.
    assert.equal(
      Buffer.from(renderSwitching("short", "")).toString("latin1"),
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${jsAccept("short")}\r\n\r\n`,
    );
    // As the handshake's option: the same bytes as without it.
    const request = {
      method: "GET",
      target: "/",
      httpVersion: "1.1",
      headers: {
        host: "h",
        upgrade: "websocket",
        connection: "Upgrade",
        "sec-websocket-key": keys[0],
        "sec-websocket-version": "13",
      },
    };
    const plain = acceptHandshake(request);
    const native = acceptHandshake(request, { renderSwitching });
    assert.ok(plain.ok && native.ok);
    assert.deepEqual([...native.response], [...plain.response]);
  });

  it("computeAccept matches the pure-JS one", () => {
    for (const key of ["dGhlIHNhbXBsZSBub25jZQ==", "AQIDBAUGBwgJCgsMDQ4PEA=="]) {
      assert.equal(computeAccept(key), jsAccept(key));
    }
  });
});
