// Peer server: websocket-driver over plain node:http (the seed's design). Same app logic as the
// other peers: /pub broadcasts to every client, anything else echoes.
import http from "node:http";
import websocket from "websocket-driver";
import { MAX_PAYLOAD, serve } from "./common.mjs";

serve(
  ({ host }) =>
    new Promise((resolve) => {
      const clients = new Set();
      const server = http.createServer((_req, res) => res.writeHead(426).end());
      server.on("upgrade", (req, socket, body) => {
        if (!websocket.isWebSocket(req)) return socket.destroy();
        const driver = websocket.http(req, { maxLength: MAX_PAYLOAD });
        const pub = req.url === "/pub";
        socket.on("error", () => {});
        driver.on("error", () => {});
        driver.io.write(body);
        socket.pipe(driver.io).pipe(socket);
        driver.on("open", () => clients.add(driver));
        driver.on("close", () => clients.delete(driver));
        socket.on("close", () => clients.delete(driver));
        driver.messages.on("data", (msg) => {
          const text = typeof msg === "string";
          if (pub) for (const c of clients) text ? c.text(msg) : c.binary(msg);
          else if (text) driver.text(msg);
          else driver.binary(msg);
        });
        driver.start();
      });
      server.listen(0, host, () => resolve(server.address().port));
    }),
);
