/**
 * Subprotocols as `ws` users meet them (docs/migrating-from-ws.md): a ws client offering
 * ["chat", "superchat"] to a server without `protocols` fails saying why (the server selects
 * none; ws requires one when it offered some), and works with `protocols` as a list or with
 * ws's own default (the first offered) written as a chooser.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { after, describe, it } from "node:test";
import WebSocketClient from "ws";
import { type ServerOptions, WebSocketServer } from "../../src/node/index.js";
import { portOf } from "../helpers/raw-client.js";
import { UNIT } from "../helpers/time.js";

const cleanups: Array<() => unknown> = [];
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

async function server(options: Omit<ServerOptions, "port" | "host">): Promise<{ port: number; selected: string[] }> {
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", ...options });
  cleanups.push(() => wss.close({ timeout: 3 * UNIT }));
  const selected: string[] = [];
  wss.on("connection", (conn) => selected.push(conn.protocol));
  await wss.ready;
  return { port: portOf(wss.address()), selected };
}

function wsClient(port: number): WebSocketClient {
  const ws = new WebSocketClient(`ws://127.0.0.1:${port}/`, ["chat", "superchat"]);
  cleanups.push(() => ws.terminate());
  return ws;
}

describe("a ws client offering [chat, superchat]", () => {
  it("a server without `protocols` selects none: ws fails with 'Server sent no subprotocol'", async () => {
    const { port } = await server({});
    const ws = wsClient(port);
    const [error] = (await once(ws, "error")) as [Error];
    assert.equal(error.message, "Server sent no subprotocol");
  });

  it("`protocols: [...]`: the first of the server's list that the client offered", async () => {
    const { port, selected } = await server({ protocols: ["superchat", "chat"] });
    const ws = wsClient(port);
    await once(ws, "open");
    assert.equal(ws.protocol, "superchat");
    assert.deepEqual(selected, ["superchat"]);
  });

  it("ws's default written as a chooser: the first offered", async () => {
    const { port, selected } = await server({ protocols: (offered) => offered[0] ?? null });
    const ws = wsClient(port);
    await once(ws, "open");
    assert.equal(ws.protocol, "chat");
    assert.deepEqual(selected, ["chat"]);
  });
});
