// A websocket-driver consumer in the style of sockjs-node and faye-websocket: an http.Server
// whose 'upgrade' handler hands the socket to a driver through its io stream and echoes
// messages through the messages stream. Its twin driver-echo.wirecable.cjs differs only in
// the require line.
const http = require("http");
const Driver = require("websocket-driver");

const server = http.createServer((req, res) => {
  res.writeHead(200, { "Content-Type": "text/plain" });
  res.end("not a websocket\n");
});

server.on("upgrade", (request, socket, body) => {
  if (!Driver.isWebSocket(request)) return socket.destroy();
  const driver = Driver.http(request, { protocols: ["echo"] });
  driver.io.write(body);
  socket.pipe(driver.io).pipe(socket);
  driver.messages.on("data", (message) => driver.messages.write(message));
  driver.on("close", () => socket.end());
  socket.on("error", () => driver.close());
  driver.start();
});

server.listen(Number(process.env.PORT || 0), "127.0.0.1", () => {
  console.log(`listening ${server.address().port}`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
