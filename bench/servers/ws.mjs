// Peer server: `ws` (with bufferutil installed, which ws loads by itself). App logic shared by all
// peers: path /pub broadcasts each message to every client (publisher included, as its ack);
// any other path echoes each message with its type.
import { WebSocketServer } from "ws";
import { MAX_PAYLOAD, serve } from "./common.mjs";

serve(
  ({ host, deflate }) =>
    new Promise((resolve) => {
      const wss = new WebSocketServer({
        host,
        port: 0,
        maxPayload: MAX_PAYLOAD,
        perMessageDeflate: deflate ? { threshold: 0 } : false,
      });
      wss.on("connection", (ws, req) => {
        ws.on("error", () => {});
        if (req.url === "/pub") {
          ws.on("message", (data, isBinary) => {
            for (const c of wss.clients) c.send(data, { binary: isBinary });
          });
        } else {
          ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
        }
      });
      wss.on("listening", () => resolve(wss.address().port));
    }),
);
