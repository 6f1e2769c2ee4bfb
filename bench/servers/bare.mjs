// Baseline for idle memory: a bare node:net server that answers the opening handshake
// (RFC 6455 4.2.2) and then holds the socket and nothing else. Not a WebSocket implementation:
// it never parses frames. Its per-connection RSS is the floor a Node server cannot go below.
import { createHash } from "node:crypto";
import net from "node:net";
import { serve } from "./common.mjs";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"; // RFC 6455 1.3
const noop = () => {};

serve(
  ({ host }) =>
    new Promise((resolve) => {
      const server = net.createServer((socket) => {
        let head = "";
        socket.on("error", noop);
        // Buffers, decoded here: `setEncoding` would leave a StringDecoder (~230 B) on every socket.
        const onHead = (chunk) => {
          head += chunk.toString("latin1");
          if (!head.includes("\r\n\r\n")) return;
          const key = /sec-websocket-key:\s*(\S+)/i.exec(head)?.[1] ?? "";
          const accept = createHash("sha1")
            .update(key + GUID)
            .digest("base64");
          socket.write(
            `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
          );
          head = "";
          socket.off("data", onHead);
          socket.on("data", noop);
        };
        socket.on("data", onHead);
      });
      server.listen({ port: 0, host, backlog: 4096 }, () => resolve(server.address().port));
    }),
);
