// Interop over loopback TCP with the `ws` package: our ClientHandshake against a ws server
// (101 with a subprotocol, 401 with a body), a ws client against HttpHeadParser +
// acceptHandshake, and a CONNECT tunnel through a tiny proxy (407 without credentials, 200 with).
// Port 0 everywhere; every server and socket is closed in `after`/`finally`.
import assert from "node:assert/strict";
import { once } from "node:events";
import { type AddressInfo, connect, createServer, type Server, type Socket } from "node:net";
import { after, describe, it } from "node:test";
import WebSocket, { WebSocketServer } from "ws";
import { HandshakeError } from "../../../src/protocol/errors.js";
import { ClientHandshake, type ClientHandshakeResult } from "../../../src/protocol/handshake/client-handshake.js";
import { HttpHeadParser } from "../../../src/protocol/handshake/http-head-parser.js";
import { connectRequest, ProxyResponse } from "../../../src/protocol/handshake/proxy.js";
import {
  acceptHandshake,
  renderRejection,
  toHandshakeRequest,
} from "../../../src/protocol/handshake/server-handshake.js";

const closers: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const close of closers.reverse()) await close();
});

function track(socket: Socket): Socket {
  closers.push(() => {
    socket.destroy();
  });
  return socket;
}

async function listen(server: Server): Promise<number> {
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as AddressInfo).port;
}

async function wsServer(): Promise<number> {
  const wss = new WebSocketServer({
    port: 0,
    host: "127.0.0.1",
    handleProtocols: (protocols) => (protocols.has("chat") ? "chat" : false),
    verifyClient: (info, cb) => {
      if (info.req.headers.authorization === "Bearer ok" || info.req.url === "/open") cb(true);
      else cb(false, 401, "Unauthorized", { "WWW-Authenticate": "Bearer" });
    },
  });
  wss.on("connection", (ws) => ws.send("hello"));
  await once(wss, "listening");
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => resolve());
      }),
  );
  return (wss.address() as AddressInfo).port;
}

/** Write the handshake on `socket` and feed the answer until a result (finish() on EOF). */
function runHandshake(
  socket: Socket,
  handshake: ClientHandshake,
  initial?: Uint8Array,
): Promise<ClientHandshakeResult> {
  return new Promise((resolve, reject) => {
    let done = false;
    const settle = (r: ClientHandshakeResult | null) => {
      if (r === null || done) return;
      done = true;
      socket.off("data", onData);
      resolve(r);
    };
    const onData = (chunk: Buffer) => settle(handshake.receive(chunk));
    socket.on("data", onData);
    socket.once("end", () => settle(handshake.finish()));
    socket.once("error", reject);
    socket.write(handshake.request());
    if (initial && initial.length > 0) onData(Buffer.from(initial));
  });
}

describe("interop with ws", () => {
  it("ClientHandshake opens a connection to a ws server and keeps the first frame", async () => {
    const port = await wsServer();
    const socket = track(connect(port, "127.0.0.1"));
    await once(socket, "connect");
    const hs = new ClientHandshake({ url: `ws://127.0.0.1:${port}/open`, protocols: ["other", "chat"] });
    const r = await runHandshake(socket, hs);
    assert.ok(r.ok, r.ok ? "" : r.error.message);
    assert.equal(r.protocol, "chat");
    // The server's first text frame "hello" follows the 101, in the remainder or the next chunk.
    let bytes = Buffer.from(r.remainder);
    while (bytes.length < 7) {
      const [chunk] = (await once(socket, "data")) as [Buffer];
      bytes = Buffer.concat([bytes, chunk]);
    }
    assert.deepEqual([...bytes.subarray(0, 2)], [0x81, 5]);
    assert.equal(bytes.subarray(2, 7).toString(), "hello");
  });

  it("ClientHandshake reports a ws server's 401 with its headers and body", async () => {
    const port = await wsServer();
    const socket = track(connect(port, "127.0.0.1"));
    await once(socket, "connect");
    const r = await runHandshake(socket, new ClientHandshake({ url: `ws://127.0.0.1:${port}/private` }));
    assert.ok(!r.ok);
    assert.equal(r.error.status, 401);
    const headers = r.error.response?.headers ?? [];
    assert.equal(headers.find(([n]) => n.toLowerCase() === "www-authenticate")?.[1], "Bearer");
    assert.equal(Buffer.from(r.error.response?.body ?? []).toString(), "Unauthorized");
  });

  it("a ws client connects to a server built on HttpHeadParser + acceptHandshake", async () => {
    const server = createServer((socket) => {
      const parser = new HttpHeadParser("request");
      socket.on("data", function onData(chunk: Buffer) {
        const head = parser.push(chunk);
        if (head === null) return;
        socket.off("data", onData);
        if (head instanceof HandshakeError) return void socket.end(renderRejection(head.status));
        const r = acceptHandshake(toHandshakeRequest(head), { protocols: ["v2", "v1"], headers: { "X-Server": "wc" } });
        if (!r.ok) return void socket.end(r.response);
        // An unmasked text frame "hi" right after the 101.
        socket.write(Buffer.concat([r.response, Buffer.from([0x81, 2, 0x68, 0x69])]));
      });
      socket.on("error", () => {});
      track(socket);
    });
    const port = await listen(server);
    const ws = new WebSocket(`ws://127.0.0.1:${port}/x`, ["v1", "v2"]);
    closers.push(() => ws.terminate());
    const upgrade = once(ws, "upgrade");
    const [data] = (await once(ws, "message")) as [Buffer];
    const [res] = (await upgrade) as [{ headers: Record<string, string> }];
    assert.equal(ws.protocol, "v2");
    assert.equal(res.headers["x-server"], "wc");
    assert.equal(data.toString(), "hi");

    // ws's hybi-08 client (Sec-WebSocket-Version: 8) is accepted the same way.
    const v8 = new WebSocket(`ws://127.0.0.1:${port}/x`, { protocolVersion: 8 });
    closers.push(() => v8.terminate());
    const [v8data] = (await once(v8, "message")) as [Buffer];
    assert.equal(v8data.toString(), "hi");
  });

  it("tunnels through a CONNECT proxy: 407 without credentials, then 200 and a handshake", async () => {
    const target = await wsServer();
    const expected = `Basic ${Buffer.from("u:p w").toString("base64")}`;
    const proxy = createServer((client) => {
      track(client);
      client.on("error", () => {});
      const parser = new HttpHeadParser("request");
      client.on("data", function onData(chunk: Buffer) {
        const head = parser.push(chunk);
        if (head === null) return;
        client.off("data", onData);
        if (head instanceof HandshakeError || head.method !== "CONNECT") return void client.destroy();
        if (head.headers.get("proxy-authorization") !== expected) {
          return void client.end(renderRejection(407, { "Proxy-Authenticate": 'Basic realm="t"' }, "auth please"));
        }
        const [host, port] = [
          head.target?.slice(0, head.target.lastIndexOf(":")),
          head.target?.slice(head.target.lastIndexOf(":") + 1),
        ];
        const upstream = track(connect(Number(port), host));
        upstream.on("error", () => client.destroy());
        upstream.once("connect", () => {
          client.write("HTTP/1.1 200 Connection established\r\n\r\n");
          const rest = parser.remainder();
          if (rest.length > 0) upstream.write(rest);
          client.pipe(upstream).pipe(client);
        });
      });
    });
    const proxyPort = await listen(proxy);

    const refused = track(connect(proxyPort, "127.0.0.1"));
    await once(refused, "connect");
    refused.write(connectRequest({ host: "127.0.0.1", port: target }, `http://127.0.0.1:${proxyPort}`));
    const answer = new ProxyResponse();
    let r1 = null;
    for await (const chunk of refused) {
      r1 = answer.receive(chunk as Buffer);
      if (r1 !== null) break;
    }
    r1 ??= answer.finish();
    assert.ok(!r1.ok);
    assert.equal(r1.error.status, 407);
    assert.equal(Buffer.from(r1.error.response?.body ?? []).toString(), "auth please");

    const socket = track(connect(proxyPort, "127.0.0.1"));
    await once(socket, "connect");
    socket.write(connectRequest({ host: "127.0.0.1", port: target }, `http://u:p%20w@127.0.0.1:${proxyPort}`));
    const tunnel = new ProxyResponse();
    const opened = await new Promise<Uint8Array>((resolve, reject) => {
      socket.on("data", function onData(chunk: Buffer) {
        const r = tunnel.receive(chunk);
        if (r === null) return;
        socket.off("data", onData);
        if (r.ok) resolve(r.remainder);
        else reject(r.error);
      });
    });
    const r = await runHandshake(socket, new ClientHandshake({ url: `ws://127.0.0.1:${target}/open` }), opened);
    assert.ok(r.ok, r.ok ? "" : r.error.message);
  });
});
