// ws-echo.mjs with one line changed: the import. Everything else is the ws application as it was.
// (wirecable/ws: ws 8 API on wirecable.)
import { WebSocketServer } from "wirecable/ws";

const wss = new WebSocketServer({ port: Number(process.env.PORT ?? 0), host: "127.0.0.1" });

wss.on("connection", (ws) => {
  ws.isAlive = true;
  ws.on("pong", () => {
    ws.isAlive = true;
  });
  ws.on("error", console.error);
  ws.on("message", (data, isBinary) => {
    ws.send(data, { binary: isBinary });
  });
});

const interval = setInterval(() => {
  for (const ws of wss.clients) {
    if (ws.isAlive === false) {
      ws.terminate();
      continue;
    }
    ws.isAlive = false;
    ws.ping();
  }
}, 30_000);

wss.on("listening", () => console.log(`listening ${wss.address().port}`));
wss.on("close", () => clearInterval(interval));
process.on("SIGTERM", () => wss.close(() => process.exit(0)));
