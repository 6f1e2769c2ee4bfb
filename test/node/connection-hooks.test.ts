/**
 * Connection hooks used by the compatibility entry points: `afterWrite` (ws's send callbacks),
 * `startMessage` (ws's `fin: false` sends), `textAsBuffer` and engine options from the init; and
 * the engine of a plain server connection, created on first use (not for the transport's end);
 * remoteAddress, read from the socket when first asked.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { after, describe, it } from "node:test";
import WebSocketClient from "ws";
import { Connection } from "../../src/node/connection.js";
import { createHybiEngine } from "../../src/node/engines.js";
import { resolveConnectionOptions } from "../../src/node/options.js";
import { event, within } from "../helpers/time.js";

/** A server Connection on one end of a loopback TCP pair, a ws client on the other. */
async function pair(init: Partial<ConstructorParameters<typeof Connection>[0]> = {}) {
  const server = net.createServer();
  const accepted = new Promise<net.Socket>((resolve) => server.once("connection", resolve));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  const client = new WebSocketClient(`ws://127.0.0.1:${port}`);
  const socket = await accepted;
  // Answer the handshake by hand, then hand the socket to a Connection.
  const head: Buffer = await new Promise((resolve) => socket.once("data", resolve));
  const key = /Sec-WebSocket-Key: (.+)\r\n/i.exec(head.toString())![1]!;
  const { computeAccept } = await import("../../src/node/native.js");
  socket.write(
    `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${computeAccept(key)}\r\n\r\n`,
  );
  const conn = new Connection({
    role: "server",
    socket,
    createEngine: createHybiEngine,
    options: resolveConnectionOptions({ pingInterval: 0 }),
    protocol: "",
    extensions: [],
    extensionsHeader: "",
    ...init,
  });
  await event(client, "open");
  cleanups.push(() => {
    client.terminate();
    conn.terminate();
    server.close();
  });
  return { conn, client };
}

const cleanups: Array<() => void> = [];
after(() => {
  for (const cleanup of cleanups) cleanup();
});

describe("Connection hooks", () => {
  it("afterWrite runs once the queued output is written, and with an error once the socket is gone", async () => {
    const { conn } = await pair();
    conn.send("a");
    const written = new Promise<unknown>((resolve) => conn.afterWrite(resolve));
    assert.equal((await within(written)) ?? undefined, undefined);
    const idle = new Promise<unknown>((resolve) => conn.afterWrite(resolve));
    assert.equal((await within(idle)) ?? undefined, undefined);
    conn.terminate();
    const late = new Promise<unknown>((resolve) => conn.afterWrite(resolve));
    assert.ok((await within(late)) instanceof Error);
  });

  it("startMessage sends one message in fragments; other sends wait for its end", async () => {
    const { conn, client } = await pair();
    const received: string[] = [];
    client.on("message", (data) => received.push(String(data)));
    const writer = conn.startMessage("text");
    writer.write("Hel");
    conn.send("second");
    writer.end("lo");
    await within(new Promise<void>((resolve) => client.on("message", () => received.length === 2 && resolve())));
    assert.deepEqual(received, ["Hello", "second"]);
  });

  it("textAsBuffer: text messages arrive as Buffers of their bytes", async () => {
    const { conn, client } = await pair({ textAsBuffer: true });
    client.send("héllo");
    const [data, isBinary] = await event<[Buffer, boolean]>(conn, "message");
    assert.ok(Buffer.isBuffer(data));
    assert.equal(data.toString(), "héllo");
    assert.equal(isBinary, false);
  });

  it("engine options from the init reach the engine (autoPong: false)", async () => {
    const { conn, client } = await pair({ engine: { autoPong: false } });
    let ponged = false;
    client.on("pong", () => {
      ponged = true;
    });
    client.ping("x");
    await event(conn, "ping");
    conn.send("after");
    await event(client, "message");
    assert.equal(ponged, false);
  });

  it("a peer gone before its first frame: close 1006 without creating the engine; later calls see it CLOSED", async () => {
    let created = 0;
    const createEngine: typeof createHybiEngine = (host, options) => {
      created++;
      return createHybiEngine(host, options);
    };
    for (const leave of ["reset", "end"] as const) {
      created = 0;
      const { conn, client } = await pair({ createEngine });
      const closes: unknown[][] = [];
      conn.on("close", (...args) => closes.push(args));
      const closed = event(conn, "close");
      if (leave === "reset") client.terminate();
      else (client as unknown as { _socket: net.Socket })._socket.end();
      await within(closed);
      assert.deepEqual(closes, [[1006, "", false]], leave);
      assert.equal(created, 0, leave);
      assert.equal(conn.readyState, Connection.CLOSED);
      assert.deepEqual(await within(conn.closed), { code: 1006, reason: "", wasClean: false });
      // After the end, calls behave as on a closed engine (created now, silently CLOSED).
      assert.equal(conn.send("late"), "dropped");
      assert.equal(conn.ping(), false);
      assert.throws(() => conn.ping(new Uint8Array(126)), RangeError);
      assert.equal(created, 1, leave);
      assert.equal(closes.length, 1, leave);
      assert.equal(conn.readyState, Connection.CLOSED);
    }
  });

  it("remoteAddress is read from the socket when first asked, and kept after the close", async () => {
    const { conn, client } = await pair();
    assert.equal((conn.socket as unknown as { _peername?: unknown })._peername, undefined); // no getpeername yet
    assert.equal(conn.remoteAddress, "127.0.0.1");
    const closed = event(conn, "close");
    client.terminate();
    await within(closed);
    assert.equal(conn.remoteAddress, "127.0.0.1");
  });
});
