/**
 * Interop with the `ws` package: our server with a ws client, our client with a ws server,
 * with and without permessage-deflate.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { after, describe, it } from "node:test";
import WebSocketClient, { WebSocketServer as WsServer } from "ws";
import { type Connection, connect, WebSocketServer } from "../../src/node/index.js";
import { portOf } from "../helpers/raw-client.js";
import { event, UNIT, within } from "../helpers/time.js";

const cleanups: Array<() => unknown> = [];
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

async function ourEchoServer(deflate: boolean): Promise<number> {
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", perMessageDeflate: deflate, protocols: ["p1"] });
  cleanups.push(() => wss.close({ timeout: 3 * UNIT }));
  wss.on("connection", (conn) => {
    conn.on("message", (data: string | Buffer, isBinary: boolean) => {
      if (data === "close") conn.close(4321, "requested");
      else conn.send(data, { binary: isBinary });
    });
  });
  await wss.ready;
  return portOf(wss.address());
}

function wsNext(ws: WebSocketClient): Promise<[Buffer, boolean]> {
  return event<[Buffer, boolean]>(ws, "message");
}

for (const deflate of [false, true]) {
  describe(`our server, ws client${deflate ? ", permessage-deflate" : ""}`, () => {
    it("echoes text, binary, large and fragmented messages; ping; close codes", async () => {
      const port = await ourEchoServer(deflate);
      const ws = new WebSocketClient(`ws://127.0.0.1:${port}/`, ["p1"], { perMessageDeflate: deflate });
      ws.on("error", () => {});
      cleanups.push(() => ws.terminate());
      await event(ws, "open");
      assert.equal(ws.protocol, "p1");
      assert.equal(ws.extensions.includes("permessage-deflate"), deflate);

      ws.send("héllo");
      let [data, isBinary] = await wsNext(ws);
      assert.deepEqual([data.toString(), isBinary], ["héllo", false]);

      const big = Buffer.alloc(1024 * 1024 + 7, "abc");
      ws.send(big);
      [data, isBinary] = await wsNext(ws);
      assert.equal(isBinary, true);
      assert.ok(data.equals(big));

      ws.send("frag", { fin: false });
      ws.send("ment", { fin: false });
      ws.send("ed", { fin: true });
      [data] = await wsNext(ws);
      assert.equal(data.toString(), "fragmented");

      ws.ping("are you there");
      const [pong] = await event<[Buffer]>(ws, "pong");
      assert.equal(pong.toString(), "are you there");

      ws.send("close");
      const [code, reason] = await event<[number, Buffer]>(ws, "close");
      assert.deepEqual([code, reason.toString()], [4321, "requested"]);
    });
  });

  describe(`our client, ws server${deflate ? ", permessage-deflate" : ""}`, () => {
    it("echoes, answers pings, negotiates, closes", async () => {
      const server = new WsServer({
        port: 0,
        host: "127.0.0.1",
        perMessageDeflate: deflate,
        handleProtocols: (set) => (set.has("p2") ? "p2" : false),
      });
      cleanups.push(() => new Promise((r) => server.close(r)));
      await once(server, "listening");
      const pongs: string[] = [];
      server.on("connection", (socket) => {
        socket.on("message", (data, isBinary) => socket.send(data, { binary: isBinary }));
        socket.on("pong", (d) => pongs.push(d.toString()));
        socket.ping("from ws");
      });
      const port = portOf(server.address());
      const conn: Connection = await within(
        connect(`ws://127.0.0.1:${port}/`, { perMessageDeflate: deflate, protocols: ["p1", "p2"] }),
      );
      cleanups.push(() => conn.terminate());
      assert.equal(conn.protocol, "p2");
      assert.equal(conn.extensions.includes("permessage-deflate"), deflate);

      const texts = ["a", "ü".repeat(10_000), ""];
      for (const text of texts) {
        const got = event<[string, boolean]>(conn, "message");
        conn.send(text);
        assert.deepEqual(await got, [text, false]);
      }
      const big = Buffer.alloc(2 * 1024 * 1024, 7);
      const got = event<[Buffer, boolean]>(conn, "message");
      conn.send(big);
      const [data, isBinary] = await got;
      assert.equal(isBinary, true);
      assert.ok(data.equals(big));
      assert.deepEqual(pongs, ["from ws"]);

      const streamed = event<[Buffer, boolean]>(conn, "message");
      await conn.stream(
        (async function* () {
          yield Buffer.from("one ");
          yield Buffer.from("two");
        })(),
      );
      assert.equal((await streamed)[0].toString(), "one two");

      conn.close(1000, "done");
      const info = await within(conn.closed);
      assert.equal(info.code, 1000);
      assert.equal(info.wasClean, true);
    });
  });
}
