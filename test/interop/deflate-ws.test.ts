/**
 * permessage-deflate interop with `ws` (perMessageDeflate on), both directions, over loopback
 * TCP through a byte-counting proxy (proof that frames are compressed on the wire).
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { describe, it } from "node:test";
import WebSocket, { WebSocketServer as WsServer } from "ws";
import { zlibPoolStats } from "../../src/node/deflate/index.js";
import { connect } from "../../src/node/index.js";
import { compressible, countingProxy, echoServer } from "../node/deflate/interop-helpers.js";

const ROUNDS = 10;
/** Our answer to ws's default offer (`permessage-deflate; client_max_window_bits`), per preset. */
const EXPECTED = {
  shared: "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
  small: "permessage-deflate; server_max_window_bits=11; client_max_window_bits=11",
  dedicated: "permessage-deflate",
};

async function wsRoundTrips(ws: WebSocket, rounds: number): Promise<number> {
  let raw = 0;
  for (let i = 0; i < rounds; i++) {
    const text = compressible(i);
    raw += text.length;
    ws.send(text);
    const [data, isBinary] = (await once(ws, "message")) as [Buffer, boolean];
    assert.equal(isBinary, false);
    assert.equal(data.toString(), text);
  }
  return raw;
}

describe("interop: ws client -> wirecable server", () => {
  for (const preset of ["shared", "small", "dedicated"] as const) {
    it(`preset ${preset}: negotiates and compresses both ways`, async () => {
      const server = await echoServer({ preset, threshold: 0 });
      const proxy = await countingProxy(server.port);
      const ws = new WebSocket(`ws://127.0.0.1:${proxy.port}/`, { perMessageDeflate: { threshold: 0 } });
      try {
        await once(ws, "open");
        // ws.extensions holds the names only; the negotiated params are on our side.
        assert.equal(ws.extensions, "permessage-deflate");
        assert.equal(server.extensions[0], EXPECTED[preset]);
        const raw = await wsRoundTrips(ws, ROUNDS);
        // Compressed on the wire both ways (JSON of this kind deflates > 5x).
        assert.ok(proxy.up < raw / 3, `client->server ${proxy.up} bytes for ${raw}`);
        assert.ok(proxy.down < raw / 3, `server->client ${proxy.down} bytes for ${raw}`);
      } finally {
        ws.terminate();
        await proxy.close();
        await server.close();
      }
    });
  }

  it("shared preset: long messages (thread pool) and short ones (done on the spot) keep their order", async () => {
    const server = await echoServer({ preset: "shared", threshold: 0 });
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/`, { perMessageDeflate: { threshold: 0 } });
    try {
      await once(ws, "open");
      // Random bytes do not compress: 200 KiB stays above the one-shot sizes both ways.
      const long = (i: number) => Buffer.from(`${i}:`).toString("hex") + randomBytes(100 * 1024).toString("hex");
      const sent = Array.from({ length: 12 }, (_, i) => (i % 3 === 0 ? long(i) : compressible(i, 512)));
      const got: string[] = [];
      const done = new Promise<void>((resolve) =>
        ws.on("message", (data: Buffer) => {
          got.push(data.toString());
          if (got.length === sent.length) resolve();
        }),
      );
      for (const text of sent) ws.send(text); // all at once: short ones finish while long ones run
      await done;
      assert.equal(got.length, sent.length);
      for (let i = 0; i < sent.length; i++) assert.equal(got[i], sent[i], `message ${i}`);
    } finally {
      ws.terminate();
      await server.close();
    }
  });

  it("answers ws's offer with window limits, and both sides keep to them", async () => {
    const server = await echoServer({ preset: "dedicated", serverMaxWindowBits: 10, clientMaxWindowBits: 9 });
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/`, {
      perMessageDeflate: { threshold: 0, clientMaxWindowBits: 12, serverMaxWindowBits: 11 },
    });
    try {
      await once(ws, "open");
      // ws offered server_max_window_bits=11 and client_max_window_bits=12: we answer below both.
      assert.equal(server.extensions[0], "permessage-deflate; server_max_window_bits=10; client_max_window_bits=9");
      await wsRoundTrips(ws, 5);
    } finally {
      ws.terminate();
      await server.close();
    }
  });

  it("shared preset: wss.broadcast compresses once for all recipients, and every ws client inflates it", async () => {
    const server = await echoServer({ preset: "shared", threshold: 0 });
    const clients = Array.from(
      { length: 20 },
      () => new WebSocket(`ws://127.0.0.1:${server.port}/`, { perMessageDeflate: { threshold: 0 } }),
    );
    try {
      await Promise.all(clients.map((ws) => once(ws, "open")));
      const text = compressible(42, 4096);
      const received = Promise.all(clients.map((ws) => once(ws, "message")));
      const before = zlibPoolStats().sharedHits;
      server.wss.broadcast(text);
      for (const [data] of (await received) as Array<[Buffer]>) assert.equal(data.toString(), text);
      assert.equal(zlibPoolStats().sharedHits - before, clients.length - 1);
    } finally {
      for (const ws of clients) ws.terminate();
      await server.close();
    }
  });

  it("sends compress: false messages uncompressed", async () => {
    const server = await echoServer({ preset: "dedicated", threshold: 0 }, (conn, data, isBinary) =>
      conn.send(data, { binary: isBinary, compress: false }),
    );
    const proxy = await countingProxy(server.port);
    const ws = new WebSocket(`ws://127.0.0.1:${proxy.port}/`, { perMessageDeflate: { threshold: 0 } });
    try {
      await once(ws, "open");
      const raw = await wsRoundTrips(ws, 3);
      assert.ok(proxy.up < raw / 3, `client->server ${proxy.up}`);
      assert.ok(proxy.down >= raw, `server->client ${proxy.down} for ${raw}: not compressed`);
    } finally {
      ws.terminate();
      await proxy.close();
      await server.close();
    }
  });

  it("fails a message inflating past maxPayload with 1009", async () => {
    const { WebSocketServer } = await import("../../src/node/index.js");
    const wss = new WebSocketServer({
      host: "127.0.0.1",
      port: 0,
      maxPayload: 64 * 1024,
      perMessageDeflate: { preset: "dedicated" },
    });
    await wss.ready;
    const ws = new WebSocket(`ws://127.0.0.1:${(wss.address() as { port: number }).port}/`, {
      perMessageDeflate: { threshold: 0 },
    });
    try {
      await once(ws, "open");
      ws.send("a".repeat(1024 * 1024)); // ~1 KiB compressed, 1 MiB inflated
      const [code] = (await once(ws, "close")) as [number];
      assert.equal(code, 1009);
    } finally {
      ws.terminate();
      await wss.close({ timeout: 1000 });
    }
  });
});

describe("interop: wirecable client -> ws server", () => {
  for (const preset of ["shared", "small", "dedicated"] as const) {
    it(`preset ${preset}: ws accepts our offer and both sides compress`, async () => {
      const wss = new WsServer({ host: "127.0.0.1", port: 0, perMessageDeflate: { threshold: 0 } });
      wss.on("connection", (ws) => ws.on("message", (d, isBinary) => ws.send(d, { binary: isBinary })));
      await once(wss, "listening");
      const proxy = await countingProxy((wss.address() as { port: number }).port);
      const conn = await connect(`ws://127.0.0.1:${proxy.port}/`, { perMessageDeflate: { preset, threshold: 0 } });
      try {
        assert.match(conn.extensions, /^permessage-deflate/);
        let raw = 0;
        for (let i = 0; i < ROUNDS; i++) {
          const text = compressible(i);
          raw += text.length;
          conn.send(text);
          const [data] = (await once(conn, "message")) as [string | Buffer];
          assert.equal(String(data), text);
        }
        assert.ok(proxy.up < raw / 3, `client->server ${proxy.up} for ${raw}`);
        assert.ok(proxy.down < raw / 3, `server->client ${proxy.down} for ${raw}`);
      } finally {
        conn.terminate();
        await proxy.close();
        await new Promise<void>((r) => wss.close(() => r()));
      }
    });
  }

  it("accepts what a ws server answers with every parameter set", async () => {
    const wss = new WsServer({
      host: "127.0.0.1",
      port: 0,
      perMessageDeflate: {
        threshold: 0,
        serverNoContextTakeover: true,
        clientNoContextTakeover: true,
        serverMaxWindowBits: 10,
        clientMaxWindowBits: 9,
      },
    });
    wss.on("connection", (ws) => ws.on("message", (d, isBinary) => ws.send(d, { binary: isBinary })));
    await once(wss, "listening");
    const conn = await connect(`ws://127.0.0.1:${(wss.address() as { port: number }).port}/`, {
      perMessageDeflate: { preset: "dedicated", threshold: 0 },
    });
    try {
      const params = conn.extensions.split(/;\s*/).sort();
      assert.deepEqual(params, [
        "client_max_window_bits=9",
        "client_no_context_takeover",
        "permessage-deflate",
        "server_max_window_bits=10",
        "server_no_context_takeover",
      ]);
      for (let i = 0; i < 5; i++) {
        const text = compressible(i, 4096);
        conn.send(text);
        const [data] = (await once(conn, "message")) as [string | Buffer];
        assert.equal(String(data), text);
      }
    } finally {
      conn.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
    }
  });
});
