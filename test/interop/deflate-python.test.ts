/**
 * permessage-deflate interop with Debian's python websockets (compression on by default; its
 * server asks for 12-bit windows and memLevel 5), both directions, through a byte-counting proxy.
 * Runs /usr/bin/python3 (the pyenv python3 on PATH lacks the module).
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { describe, it } from "node:test";
import { connect } from "../../src/node/index.js";
import { compressible, countingProxy, echoServer } from "../node/deflate/interop-helpers.js";

const PYTHON = "/usr/bin/python3";

const PY_SERVER = `
import asyncio, websockets
async def echo(ws, path=None):
    async for m in ws:
        await ws.send(m)
async def main():
    async with websockets.serve(echo, "127.0.0.1", 0, max_size=2**24) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.Future()
asyncio.run(main())
`;

// Sends the messages given on stdin (one per line), checks each echo, prints the extensions.
const PY_CLIENT = `
import asyncio, sys, websockets
async def main():
    lines = sys.stdin.read().splitlines()
    async with websockets.connect(sys.argv[1], max_size=2**24) as ws:
        print("EXT", ws.response_headers.get("Sec-WebSocket-Extensions"), flush=True)
        for line in lines:
            if len(sys.argv) > 2:  # fragmented: one frame per 1000 characters, RSV1 on the first
                await ws.send([line[i:i + 1000] for i in range(0, len(line), 1000)])
            else:
                await ws.send(line)
            echo = await ws.recv()
            assert echo == line, "echo mismatch"
        print("OK", len(lines), flush=True)
asyncio.run(main())
`;

import { spawnTied } from "../helpers/tied-process.js";

function run(args: string[], input?: string): { child: ChildProcess; output: Promise<string> } {
  const child = spawnTied(PYTHON, args, { stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (err += d));
  if (input !== undefined) child.stdin!.end(input);
  const output = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`python timed out: ${out} ${err}`));
    }, 20_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`python exited ${code}: ${out} ${err}`));
    });
  });
  return { child, output };
}

describe("interop: python websockets", () => {
  for (const preset of ["shared", "small", "dedicated"] as const) {
    it(`python client -> wirecable server (${preset}): negotiated and compressed both ways`, async () => {
      const server = await echoServer({ preset, threshold: 0 });
      const proxy = await countingProxy(server.port);
      try {
        const messages = Array.from({ length: 8 }, (_, i) => compressible(i));
        const raw = messages.reduce((n, m) => n + m.length, 0);
        const { output } = run(["-c", PY_CLIENT, `ws://127.0.0.1:${proxy.port}/`], messages.join("\n"));
        const out = await output;
        assert.match(out, /^EXT permessage-deflate/m);
        assert.match(out, /^OK 8$/m);
        assert.match(server.extensions[0] ?? "", /^permessage-deflate/);
        assert.ok(proxy.up < raw / 3, `client->server ${proxy.up} for ${raw}`);
        assert.ok(proxy.down < raw / 3, `server->client ${proxy.down} for ${raw}`);
      } finally {
        await proxy.close();
        await server.close();
      }
    });
  }

  it("python client sends fragmented compressed messages; the server reassembles and inflates them", async () => {
    const server = await echoServer({ preset: "dedicated", threshold: 0 });
    const proxy = await countingProxy(server.port);
    try {
      const messages = Array.from({ length: 4 }, (_, i) => compressible(i));
      const raw = messages.reduce((n, m) => n + m.length, 0);
      const { output } = run(["-c", PY_CLIENT, `ws://127.0.0.1:${proxy.port}/`, "fragmented"], messages.join("\n"));
      assert.match(await output, /^OK 4$/m);
      assert.ok(proxy.up < raw / 3, `client->server ${proxy.up} for ${raw}`);
    } finally {
      await proxy.close();
      await server.close();
    }
  });

  for (const preset of ["shared", "small", "dedicated"] as const) {
    it(`wirecable client (${preset}) -> python server: negotiated and compressed both ways`, async () => {
      const { child, output } = run(["-c", PY_SERVER]);
      output.catch(() => {}); // killed at the end on purpose
      try {
        const [line] = (await once(child.stdout!, "data")) as [Buffer];
        const port = Number(String(line).trim());
        const proxy = await countingProxy(port);
        const conn = await connect(`ws://127.0.0.1:${proxy.port}/`, { perMessageDeflate: { preset, threshold: 0 } });
        try {
          // python's server limits both windows to 12 bits (or to less, when we offered less).
          const bits = preset === "small" ? 11 : 12;
          assert.match(conn.extensions, new RegExp(`server_max_window_bits=${bits}`));
          assert.match(conn.extensions, new RegExp(`client_max_window_bits=${bits}`));
          let raw = 0;
          for (let i = 0; i < 8; i++) {
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
        }
      } finally {
        child.kill();
      }
    });
  }
});
