/**
 * The drivers behind a real node:http server on loopback, wired the way the Node layer should:
 * IncomingMessage + socket + head from the `upgrade` event. Raw TCP clients play the browsers.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { connect, type Socket } from "node:net";
import { after, before, test } from "node:test";
import { createHixieDriver, type HixieDriver } from "../../../src/protocol/legacy/index.js";
import type { EngineHost } from "../../../src/protocol/types.js";
import { sleep } from "../../helpers/time.js";
import { DRAFT76_ANSWER, DRAFT76_REQUEST, DRAFT76_RESPONSE_HEAD, latin1 } from "./helpers.js";

let server: Server;
let port = 0;
const sockets = new Set<Socket>();

function attach(req: IncomingMessage, socket: Socket, head: Buffer): HixieDriver | null {
  let driver: HixieDriver | null = null;
  // The driver's host, as the Node layer's Connection is: bytes out, events, decisions pushed.
  const host: EngineHost = {
    output: (chunk) => socket.write(chunk),
    outputRange: (bytes, start, end) => socket.write(bytes.slice(start, end)),
    dispatch: (event) => {
      if (event.type === "text") driver?.sendText(event.data.toUpperCase());
    },
    awaitClose: () => {},
    closeTransport: () => socket.end(),
  };
  driver = createHixieDriver(
    { method: req.method ?? "GET", target: req.url ?? "/", httpVersion: req.httpVersion, headers: req.headers },
    host,
    { head, secure: false, protocols: ["sample"], alloc: (n) => Buffer.allocUnsafe(n) },
  );
  if (driver === null) return null;
  const engine = driver;
  socket.on("data", (data: Buffer) => engine.receiveData(data));
  socket.on("end", () => engine.receiveEof());
  socket.on("error", () => engine.receiveEof());
  return driver;
}

before(async () => {
  server = createServer((_req, res) => res.writeHead(426).end());
  server.on("upgrade", (req: IncomingMessage, socket: Socket, head: Buffer) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    if (attach(req, socket, head) === null) socket.destroy();
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  port = (server.address() as { port: number }).port;
});

after(async () => {
  for (const s of sockets) s.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** A raw client collecting everything it receives until the server closes. */
async function client(
  script: (socket: Socket, received: () => string, waitFor: (s: string) => Promise<void>) => Promise<void>,
) {
  const socket = connect(port, "127.0.0.1");
  sockets.add(socket);
  let buffer = "";
  const waiters: Array<() => void> = [];
  socket.on("data", (d: Buffer) => {
    buffer += d.toString("latin1");
    for (const w of waiters.splice(0)) w();
  });
  const closed = once(socket, "close");
  await once(socket, "connect");
  const waitFor = async (s: string) => {
    const deadline = setTimeout(() => socket.destroy(), 5000);
    try {
      while (!buffer.includes(s)) {
        if (socket.destroyed) throw new Error(`closed before ${JSON.stringify(s)}; got ${JSON.stringify(buffer)}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          socket.once("close", resolve);
        });
      }
    } finally {
      clearTimeout(deadline);
    }
  };
  try {
    await script(socket, () => buffer, waitFor);
    await closed;
  } finally {
    socket.destroy();
  }
  return buffer;
}

test("loopback draft-76: handshake with the body, echo, client-initiated closing handshake", async () => {
  const received = await client(async (socket, _received, waitFor) => {
    socket.write(latin1(DRAFT76_REQUEST + "\x00hello\xff"));
    await waitFor("\x00HELLO\xff");
    socket.write(latin1("\xff\x00"));
  });
  assert.equal(received, DRAFT76_RESPONSE_HEAD + DRAFT76_ANSWER + "\x00HELLO\xff\xff\x00");
});

test("loopback draft-76: body deferred until the response head arrives (proxy behaviour)", async () => {
  const [headers, body] = DRAFT76_REQUEST.split("\r\n\r\n");
  const received = await client(async (socket, receivedSoFar, waitFor) => {
    socket.write(latin1(`${headers}\r\n\r\n`));
    await waitFor("\r\n\r\n");
    assert.equal(receivedSoFar(), DRAFT76_RESPONSE_HEAD);
    socket.write(latin1(body.slice(0, 3)));
    await sleep(20);
    socket.write(latin1(body.slice(3)));
    await waitFor(DRAFT76_ANSWER);
    socket.write(latin1("\x00x\xff"));
    await waitFor("\x00X\xff");
    socket.write(latin1("\xff\x00"));
  });
  assert.equal(received, DRAFT76_RESPONSE_HEAD + DRAFT76_ANSWER + "\x00X\xff\xff\x00");
});

test("loopback draft-75: handshake, echo, EOF ends it", async () => {
  const request =
    "GET /demo HTTP/1.1\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\nHost: example.com\r\nOrigin: http://example.com\r\n\r\n";
  const received = await client(async (socket, _r, waitFor) => {
    socket.write(latin1(`${request}\x00abc\xff`));
    await waitFor("\x00ABC\xff");
    socket.end();
  });
  assert.match(received, /^HTTP\/1\.1 101 Web Socket Protocol Handshake\r\n/);
  assert.ok(received.endsWith("\x00ABC\xff"));
});

test("loopback: the over-long length attack is cut off promptly", async () => {
  const received = await client(async (socket) => {
    socket.write(latin1(DRAFT76_REQUEST));
    socket.write(Buffer.concat([Buffer.of(0x80), Buffer.alloc(100, 0xff)]));
  });
  assert.ok(received.endsWith(DRAFT76_ANSWER + "\xff\x00"));
});
