/**
 * Interop with Debian's python websockets (an independent implementation, permessage-deflate on
 * by default): our server with its client, our client with its server. Runs /usr/bin/python3
 * (the pyenv python3 on PATH has no websockets); scripts/setup-test-env.sh installs it.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { after, describe, it } from "node:test";
import { connect, WebSocketServer } from "../../src/node/index.js";

const PYTHON = "/usr/bin/python3";
const children: ChildProcess[] = [];
const cleanups: Array<() => unknown> = [];
after(async () => {
  for (const child of children) child.kill("SIGKILL");
  for (const fn of cleanups.reverse()) await fn();
});

function runPython(
  script: string,
  args: string[] = [],
): { child: ChildProcess; output: Promise<string>; firstLine: Promise<string> } {
  const child = spawnTied(PYTHON, ["-c", script, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let stdout = "";
  let stderr = "";
  let resolveLine: (line: string) => void;
  const firstLine = new Promise<string>((resolve) => (resolveLine = resolve));
  child.stdout!.on("data", (d: Buffer) => {
    stdout += d;
    const nl = stdout.indexOf("\n");
    if (nl !== -1) resolveLine(stdout.slice(0, nl));
  });
  child.stderr!.on("data", (d: Buffer) => (stderr += d));
  const output = new Promise<string>((resolve, reject) =>
    child.on("exit", (code) => (code === 0 ? resolve(stdout) : reject(new Error(`python exited ${code}: ${stderr}`)))),
  );
  output.catch(() => {}); // killed servers exit with a signal; awaiting callers still see the rejection
  return { child, output, firstLine: within(firstLine, 100 * UNIT, "python start") };
}

const CLIENT = `
import asyncio, json, sys, websockets
async def main(url):
    out = {}
    async with websockets.connect(url, subprotocols=["py"], max_size=None) as ws:
        out["protocol"] = ws.subprotocol
        out["extensions"] = [e.name for e in ws.extensions]
        await ws.send("hello from python")
        out["text"] = await ws.recv()
        await ws.send(bytes(range(256)) * 4096)
        data = await ws.recv()
        out["binary_ok"] = data == bytes(range(256)) * 4096
        await ws.send(["frag", "mented"])
        out["fragmented"] = await ws.recv()
        pong = await ws.ping(b"py-ping")
        await asyncio.wait_for(pong, 5)
        out["pong"] = True
        await ws.close(code=4001, reason="bye")
        out["close_code"] = ws.close_code
    print(json.dumps(out))
asyncio.run(main(sys.argv[1]))
`;

const SERVER = `
import asyncio, websockets
async def echo(ws, path=None):
    async for message in ws:
        await ws.send(message)
async def main():
    async with websockets.serve(echo, "127.0.0.1", 0, subprotocols=["py"], max_size=None) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.Future()
asyncio.run(main())
`;

import { portOf } from "../helpers/raw-client.js";
import { spawnTied } from "../helpers/tied-process.js";
import { event, UNIT, within } from "../helpers/time.js";

describe("python websockets", () => {
  it("python client -> our server (permessage-deflate negotiated)", async () => {
    const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", protocols: ["py"], perMessageDeflate: true });
    cleanups.push(() => wss.close({ timeout: 3 * UNIT }));
    const closes: number[] = [];
    wss.on("connection", (conn) => {
      conn.on("message", (data: string | Buffer, isBinary: boolean) => conn.send(data, { binary: isBinary }));
      conn.on("close", (code: number) => closes.push(code));
    });
    await wss.ready;
    const { output } = runPython(CLIENT, [`ws://127.0.0.1:${portOf(wss.address())}/`]);
    const result = JSON.parse(await within(output, 100 * UNIT, "python client"));
    assert.deepEqual(result, {
      protocol: "py",
      extensions: ["permessage-deflate"],
      text: "hello from python",
      binary_ok: true,
      fragmented: "fragmented",
      pong: true,
      close_code: 4001,
    });
    assert.deepEqual(closes, [4001]);
  });

  it("our client -> python server", async () => {
    const { firstLine } = runPython(SERVER);
    const port = Number(await firstLine);
    const conn = await within(connect(`ws://127.0.0.1:${port}/`, { protocols: ["py"], perMessageDeflate: true }));
    cleanups.push(() => conn.terminate());
    assert.equal(conn.protocol, "py");
    assert.match(conn.extensions, /permessage-deflate/);
    for (const message of ["hi", "ä".repeat(50_000)]) {
      const got = event<[string, boolean]>(conn, "message");
      conn.send(message);
      assert.deepEqual(await got, [message, false]);
    }
    const bytes = Buffer.alloc(300_000, 9);
    const got = event<[Buffer, boolean]>(conn, "message");
    conn.send(bytes);
    const [data, isBinary] = await got;
    assert.equal(isBinary, true);
    assert.ok(data.equals(bytes));
    const pinged = new Promise<void>((resolve) => conn.ping("x", resolve));
    await within(pinged);
    conn.close(1000);
    const info = await within(conn.closed);
    assert.equal(info.code, 1000);
    assert.equal(info.wasClean, true);
  });
});
