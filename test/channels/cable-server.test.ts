/**
 * CableServer over real sockets (the `ws` package as the peer): subprotocol choice, mounting
 * (path on an HTTP server, standalone, a WebSocketServer of yours), prepared broadcast frames,
 * binary and oversized messages, close.
 */
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, describe, it } from "node:test";
import WebSocket from "ws";
import type { CableError } from "../../src/cable/errors.js";
import { selectProtocol } from "../../src/cable/protocol.js";
import { CableServer } from "../../src/channels/cable-server.js";
import { Channel } from "../../src/channels/channel.js";
import { WebSocketServer } from "../../src/node/index.js";
import { sleep, within } from "../helpers/time.js";
import { cableClient } from "./cable-client.js";

class RoomChannel extends Channel {
  override subscribed(): void {
    this.streamFrom("room");
  }
}

const cleanup: Array<() => unknown> = [];
after(async () => {
  for (const fn of cleanup.reverse()) await fn();
});

async function standalone(options: Partial<ConstructorParameters<typeof CableServer>[0]> = {}) {
  const cable = new CableServer({ port: 0, host: "127.0.0.1", channels: { RoomChannel }, ...options });
  await cable.ready;
  cleanup.push(() => cable.close());
  const errors: CableError[] = [];
  cable.on("error", (err: CableError) => errors.push(err));
  return { cable, errors, url: `ws://127.0.0.1:${(cable.address() as AddressInfo).port}/cable` };
}

function open(url: string, protocols?: string[]): Promise<{ ws: WebSocket; first: Promise<string> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols);
    const first = new Promise<string>((r) => ws.once("message", (d) => r(String(d))));
    ws.once("open", () => resolve({ ws, first }));
    ws.once("error", reject);
    cleanup.push(() => ws.terminate());
  });
}

describe("CableServer over sockets", () => {
  it("selects actioncable-v1-json from the official client's offer", async () => {
    const { url } = await standalone();
    const { ws, first } = await open(url, ["actioncable-v1-json", "actioncable-unsupported"]);
    assert.equal(ws.protocol, "actioncable-v1-json");
    assert.equal(await first, '{"type":"welcome"}');
  });

  it("answers actioncable-unsupported to a client offering only that, as Rails does", async () => {
    const { url } = await standalone();
    const { ws } = await open(url, ["actioncable-unsupported"]);
    assert.equal(ws.protocol, "actioncable-unsupported");
  });

  it("accepts a client offering no subprotocol (Rails does) and speaks v1 JSON", async () => {
    const { url } = await standalone();
    const { ws, first } = await open(url);
    assert.equal(ws.protocol, "");
    assert.equal(await first, '{"type":"welcome"}');
  });

  it("mounts at a path of an existing HTTP server, which keeps serving requests", async () => {
    const http = createServer((_req, res) => res.end("page"));
    await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
    const cable = new CableServer({ server: http, path: "/ws/cable", channels: { RoomChannel } });
    cleanup.push(async () => {
      await cable.close();
      http.closeAllConnections();
      await new Promise((r) => http.close(r));
    });
    const base = `127.0.0.1:${(http.address() as AddressInfo).port}`;
    const client = await cableClient(`ws://${base}/ws/cable`);
    await client.subscribe('{"channel":"RoomChannel"}');
    client.close();
    assert.equal(await (await fetch(`http://${base}/`)).text(), "page");
    await assert.rejects(open(`ws://${base}/cable`, ["actioncable-v1-json"]));
  });

  it("runs on a WebSocketServer you made", async () => {
    const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", protocols: (offered) => selectProtocol(offered) });
    await wss.ready;
    const cable = new CableServer({ wss, channels: { RoomChannel } });
    cleanup.push(async () => {
      await cable.close();
      await wss.close();
    });
    const client = await cableClient(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`);
    await client.subscribe('{"channel":"RoomChannel"}');
    await cable.broadcast("room", { hello: 1 });
    await client.waitFor((m) => (m.message as { hello?: number } | undefined)?.hello === 1);
    client.close();
  });

  it("frames a broadcast once for every socket with the same identifier", async () => {
    const { cable, url } = await standalone();
    const clients = await Promise.all(Array.from({ length: 20 }, () => cableClient(url)));
    for (const c of clients) await c.subscribe('{"channel":"RoomChannel"}');
    const before = cable.hub.framesPrepared;
    await cable.broadcast("room", { n: 1 });
    assert.equal(cable.hub.framesPrepared - before, 1);
    for (const c of clients) await c.waitFor((m) => (m.message as { n?: number } | undefined)?.n === 1);
    for (const c of clients) c.close();
  });

  it("reports and ignores binary messages", async () => {
    const { url, errors } = await standalone();
    const { ws, first } = await open(url, ["actioncable-v1-json"]);
    await first;
    ws.send(Buffer.from('{"command":"subscribe","identifier":"{\\"channel\\":\\"RoomChannel\\"}"}'));
    const deadline = Date.now() + 3000;
    while (errors.length === 0 && Date.now() < deadline) await sleep(20);
    assert.equal(errors[0]?.code, "MALFORMED_COMMAND");
    assert.equal(ws.readyState, WebSocket.OPEN);
  });

  it("closes with 1009 a frame over the command limit, before buffering it, and reports it", async () => {
    const { url, errors } = await standalone({ limits: { maxCommandSize: 1024 } });
    const { ws, first } = await open(url, ["actioncable-v1-json"]);
    await first;
    const closed = new Promise<number>((r) => ws.once("close", (code) => r(code)));
    ws.send("x".repeat(1025));
    assert.equal(await within(closed), 1009);
    assert.equal(errors[0]?.code, "COMMAND_TOO_LARGE");
  });

  it("restart() is Rails' restart: everyone gets server_restart and is closed; new clients are served", async () => {
    const { cable, url } = await standalone();
    const before = await cableClient(url);
    await before.subscribe('{"channel":"RoomChannel"}');
    await cable.restart();
    await before.waitFor((m) => m.type === "disconnect");
    assert.deepEqual(before.messages.at(-1), { type: "disconnect", reason: "server_restart", reconnect: true });
    const after = await cableClient(url); // welcomed, not disconnected at once
    await after.subscribe('{"channel":"RoomChannel"}');
    await cable.broadcast("room", { n: 1 });
    await after.waitFor((m) => (m.message as { n?: number } | undefined)?.n === 1);
    assert.equal(after.messages.filter((m) => m.type === "disconnect").length, 0);
  });

  it("close() tells clients server_restart with reconnect, then closes them", async () => {
    const { cable, url } = await standalone();
    const client = await cableClient(url);
    await cable.close();
    await client.waitFor((m) => m.type === "disconnect");
    assert.deepEqual(client.messages.at(-1), { type: "disconnect", reason: "server_restart", reconnect: true });
  });
});
