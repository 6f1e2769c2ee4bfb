/**
 * What `close` / `closed` mean (RFC 6455 7.1.1-7.1.4): the closing handshake is over, our close
 * frame has been written and the TCP connection is closed, on both sides. A raw TCP peer on the
 * other end records the order of events, so each test checks an ordering, not a timing.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { once } from "node:events";
import { createServer, type Server, type Socket } from "node:net";
import { after, describe, it } from "node:test";
import { connect, WebSocket, WebSocketServer } from "../../src/node/index.js";
import { cframe, closeBody, FrameReader, frame } from "../helpers/frames.js";
import { portOf, RawClient } from "../helpers/raw-client.js";
import { spawnTied } from "../helpers/tied-process.js";
import { UNIT, until, within } from "../helpers/time.js";

const cleanups: Array<() => unknown> = [];
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

interface RawServer {
  port: number;
  /** Resolves with the peer's socket once the 101 is written. */
  accepted: Promise<Socket>;
  /** Frames the client sent, as parsed so far. */
  frames(): Array<{ opcode: number; payload: Buffer }>;
  server: Server;
}

/** A hand-written server: answers the handshake, records the client's frames. */
async function rawServer(): Promise<RawServer> {
  let resolveAccepted!: (s: Socket) => void;
  const accepted = new Promise<Socket>((r) => (resolveAccepted = r));
  let buffered = Buffer.alloc(0);
  let headDone = false;
  const reader = new FrameReader();
  const frames: Array<{ opcode: number; payload: Buffer }> = [];
  const server = createServer((socket) => {
    socket.on("error", () => {});
    socket.on("data", (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (!headDone) {
        const end = buffered.indexOf("\r\n\r\n");
        if (end < 0) return;
        const head = buffered.subarray(0, end).toString("latin1");
        buffered = buffered.subarray(end + 4);
        headDone = true;
        const key = /sec-websocket-key:\s*(\S+)/i.exec(head)![1];
        const accept = createHash("sha1").update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64");
        socket.write(
          `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
        );
        resolveAccepted(socket);
      }
      for (const f of reader.push(buffered)) frames.push({ opcode: f.opcode, payload: f.payload });
      buffered = Buffer.alloc(0);
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  cleanups.push(() => new Promise((r) => server.close(r)));
  return { port: portOf(server.address()), accepted, frames: () => frames, server };
}

describe("client: closed after our reply is written and the server closed TCP", () => {
  it("a program that exits as soon as `closed` resolves has sent its close reply (the 1006 of faye)", async () => {
    const raw = await rawServer();
    const socket = raw.accepted.then((s) => {
      s.write(frame(0x8, closeBody(4002, "bye")));
      return s;
    });
    const entry = new URL("../../src/node/index.ts", import.meta.url).pathname;
    const script = `
      import { connect } from ${JSON.stringify(entry)};
      const conn = await connect("ws://127.0.0.1:${raw.port}/", { pingInterval: 0 });
      const info = await conn.closed;
      console.log(JSON.stringify(info));
      process.exit(0);`;
    const child = spawnTied(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    cleanups.push(() => child.kill("SIGKILL"));
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d));
    const s = await within(socket, 100 * UNIT, "the client's handshake");
    // The server side of the closing handshake: wait for the reply, then close TCP (7.1.1).
    await until(() => raw.frames().some((f) => f.opcode === 0x8), "the client's close reply", 100 * UNIT);
    s.end();
    const [code] = await within(once(child, "exit"), 100 * UNIT, "the client's exit");
    assert.equal(code, 0);
    assert.deepEqual(JSON.parse(out), { code: 4002, reason: "bye", wasClean: true });
    const reply = raw.frames().find((f) => f.opcode === 0x8)!;
    assert.equal(reply.payload.readUInt16BE(0), 4002);
  });

  it("closed waits for the TCP close; readyState is CLOSING meanwhile; the WHATWG close event too", async () => {
    for (const api of ["connection", "whatwg"] as const) {
      const raw = await rawServer();
      let closedAt = 0;
      let readyState = -1;
      if (api === "connection") {
        const conn = await connect(`ws://127.0.0.1:${raw.port}/`, { pingInterval: 0 });
        cleanups.push(() => conn.terminate());
        void conn.closed.then(() => (closedAt = Date.now()));
        const s = await raw.accepted;
        s.write(frame(0x8, closeBody(1000)));
        await until(() => raw.frames().some((f) => f.opcode === 0x8), "the close reply", 50 * UNIT);
        await new Promise((r) => setImmediate(r));
        assert.equal(closedAt, 0, "closed resolved before the server closed TCP");
        readyState = conn.readyState;
        s.end();
        await within(conn.closed);
        assert.equal(conn.readyState, WebSocket.CLOSED);
      } else {
        const ws = new WebSocket(`ws://127.0.0.1:${raw.port}/`);
        cleanups.push(() => ws.close());
        const closeEvent = new Promise<{ code: number; wasClean: boolean }>((resolve) =>
          ws.addEventListener("close", (e) => {
            closedAt = Date.now();
            resolve(e as unknown as { code: number; wasClean: boolean });
          }),
        );
        await new Promise((r) => ws.addEventListener("open", r));
        const s = await raw.accepted;
        s.write(frame(0x8, closeBody(4001, "x")));
        await until(() => raw.frames().some((f) => f.opcode === 0x8), "the close reply", 50 * UNIT);
        await new Promise((r) => setImmediate(r));
        assert.equal(closedAt, 0, "the close event fired before the server closed TCP");
        readyState = ws.readyState;
        s.end();
        const e = await within(closeEvent);
        assert.equal(e.code, 4001);
        assert.equal(e.wasClean, true);
        assert.equal(ws.readyState, WebSocket.CLOSED);
      }
      assert.equal(readyState, WebSocket.CLOSING, `${api}: readyState between the handshake and the TCP close`);
    }
  });
});

describe("server: close after our reply is written and TCP is closed", () => {
  it("a client-initiated close: the server's close event comes with its socket closed and the reply sent", async () => {
    const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
    cleanups.push(() => wss.close({ timeout: 3 * UNIT }));
    const seen: string[] = [];
    wss.on("connection", (conn) => {
      conn.on("close", (code: number) => {
        seen.push(`close ${code}, socket ${conn.socket.destroyed ? "closed" : "open"}`);
      });
    });
    await wss.ready;
    const client = await RawClient.open(portOf(wss.address()));
    cleanups.push(() => client.destroy());
    await client.send(cframe(0x8, closeBody(4003)));
    await within(client.until(() => client.ended));
    assert.deepEqual(client.closeFrame, [4003, ""]);
    await until(() => seen.length > 0);
    assert.deepEqual(seen, ["close 4003, socket closed"]);
  });

  it("a server-initiated close: `closed` resolves once the client has closed TCP too", async () => {
    const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
    cleanups.push(() => wss.close({ timeout: 3 * UNIT }));
    const connected = once(wss, "connection");
    await wss.ready;
    // A client that answers the close but keeps its side of TCP open until told.
    const raw = await RawClient.open(portOf(wss.address()));
    cleanups.push(() => raw.destroy());
    raw.socket.allowHalfOpen = true;
    const serverFin = once(raw.socket, "end");
    const [conn] = (await within(connected)) as [import("../../src/node/index.js").Connection];
    let resolved = false;
    void conn.closed.then(() => (resolved = true));
    conn.close(4004, "server");
    await raw.until(() => raw.closeFrame !== undefined);
    await raw.send(cframe(0x8, closeBody(4004)));
    // The server took our reply and closed its side of TCP (7.1.1); ours is still open.
    await within(serverFin);
    await new Promise((r) => setImmediate(r));
    assert.equal(resolved, false, "closed resolved while the client still held TCP open");
    assert.equal(conn.readyState, WebSocket.CLOSING);
    raw.socket.end();
    const info = await within(conn.closed);
    assert.deepEqual(info, { code: 4004, reason: "", wasClean: true }); // the client's reply
  });
});
