/**
 * permessage-deflate negotiation end to end through the Node layer's handshakes (RFC 7692
 * section 5): our server declines invalid offers and takes the first valid one; our client fails
 * the connection on an invalid answer.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, connect as tcpConnect } from "node:net";
import { describe, it } from "node:test";
import { connect } from "../../../src/node/index.js";
import { HandshakeError } from "../../../src/protocol/errors.js";
import { computeAccept } from "../../../src/protocol/handshake/server-handshake.js";
import { echoServer } from "./interop-helpers.js";

/** Send a raw upgrade request with this Sec-WebSocket-Extensions; return the response head. */
async function upgradeWith(port: number, extensions: string): Promise<string> {
  const socket = tcpConnect(port, "127.0.0.1");
  await once(socket, "connect");
  socket.write(
    "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
      `Sec-WebSocket-Extensions: ${extensions}\r\n\r\n`,
  );
  let head = "";
  for await (const chunk of socket) {
    head += String(chunk);
    if (head.includes("\r\n\r\n")) break;
  }
  socket.destroy();
  return head;
}

const extensionsOf = (head: string) => /^sec-websocket-extensions: (.*)$/im.exec(head)?.[1]?.trim() ?? null;

describe("permessage-deflate through the Node handshakes", () => {
  it("server: declines invalid offers, accepts the first valid one, answers without the extension when none is", async () => {
    const server = await echoServer({ preset: "dedicated" });
    try {
      const cases: Array<[string, string | null]> = [
        ["permessage-deflate; client_max_window_bits", "permessage-deflate"],
        ["permessage-deflate; server_max_window_bits=16", null],
        ["permessage-deflate; server_no_context_takeover; server_no_context_takeover", null],
        [
          "permessage-deflate; foo=1, permessage-deflate; server_max_window_bits=10",
          "permessage-deflate; server_max_window_bits=10",
        ],
        [
          "x-webkit-deflate-frame, permessage-deflate; client_no_context_takeover",
          "permessage-deflate; client_no_context_takeover",
        ],
      ];
      for (const [offer, expected] of cases) {
        const head = await upgradeWith(server.port, offer);
        assert.match(head, /^HTTP\/1\.1 101/, offer);
        assert.equal(extensionsOf(head), expected, offer);
      }
    } finally {
      await server.close();
    }
  });

  it("server: off by default (no extension answered)", async () => {
    const server = await echoServer(false);
    try {
      const head = await upgradeWith(server.port, "permessage-deflate; client_max_window_bits");
      assert.match(head, /^HTTP\/1\.1 101/);
      assert.equal(extensionsOf(head), null);
    } finally {
      await server.close();
    }
  });

  for (const answer of [
    "permessage-deflate; server_max_window_bits=16",
    "permessage-deflate; client_max_window_bits",
    "permessage-deflate; unknown_param",
    "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
  ]) {
    it(`client: fails the connection on the answer "${answer}"`, async () => {
      // A fake server answering 101 with the given (invalid) extension parameters.
      const fake = createServer((socket) => {
        let head = "";
        socket.on("data", (d) => {
          head += String(d);
          if (!head.includes("\r\n\r\n")) return;
          const key = /^sec-websocket-key: (.*)$/im.exec(head)?.[1]?.trim() ?? "";
          socket.write(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
              `Sec-WebSocket-Accept: ${computeAccept(key)}\r\nSec-WebSocket-Extensions: ${answer}\r\n\r\n`,
          );
        });
        socket.on("error", () => {});
      });
      fake.listen(0, "127.0.0.1");
      await once(fake, "listening");
      try {
        const port = (fake.address() as { port: number }).port;
        await assert.rejects(
          connect(`ws://127.0.0.1:${port}/`, { perMessageDeflate: { preset: "dedicated" }, handshakeTimeout: 5000 }),
          (e: unknown) => e instanceof HandshakeError && /permessage-deflate/.test(e.message),
        );
      } finally {
        fake.close();
      }
    });
  }
});
