// examples/drop-in: an unchanged ws application and an unchanged websocket-driver consumer
// (sockjs-node / faye-websocket style), each run twice: as written, and with only its
// import line pointing at wirecable/ws or wirecable/driver (the packed entry points, through the
// package's exports: needs `npm run build`). Both answer a ws client the same way.
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import { spawnTied } from "../helpers/tied-process.js";
import { within } from "../helpers/time.js";

const dir = fileURLToPath(new URL("../../examples/drop-in/", import.meta.url));
const children: ChildProcess[] = [];
after(() => {
  for (const child of children) child.kill("SIGKILL");
});

/** Start an example; resolves with its port once it prints "listening <port>". */
async function start(file: string): Promise<{ port: number; child: ChildProcess }> {
  const child = spawnTied(process.execPath, [dir + file], { stdio: ["ignore", "pipe", "inherit"] });
  children.push(child);
  let out = "";
  const port = await within(
    new Promise<number>((resolve, reject) => {
      child.stdout!.on("data", (chunk: Buffer) => {
        out += chunk;
        const match = /listening (\d+)/.exec(out);
        if (match) resolve(Number(match[1]));
      });
      child.once("exit", (code) => reject(new Error(`${file} exited with ${code}: ${out}`)));
    }),
  );
  return { port, child };
}

async function stop(child: ChildProcess): Promise<void> {
  const exited = once(child, "exit");
  child.kill("SIGTERM");
  await within(exited);
}

/** Code lines (comments aside) of the two versions: they must differ in the import line only. */
function codeDiff(a: string, b: string): string[][] {
  const code = (file: string) =>
    readFileSync(dir + file, "utf8")
      .split("\n")
      .filter((line) => !line.startsWith("//"));
  const left = code(a);
  const right = code(b);
  assert.equal(left.length, right.length);
  return left.flatMap((line, i) => (line === right[i] ? [] : [[line, right[i]!]]));
}

async function echoes(port: number, protocol?: string): Promise<void> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, protocol);
  await within(once(ws, "open"));
  if (protocol) assert.equal(ws.protocol, protocol);
  const replies: string[] = [];
  ws.on("message", (data, isBinary) =>
    replies.push(isBinary ? `bin:${(data as Buffer).toString("hex")}` : String(data)),
  );
  ws.send("hello");
  ws.send(Buffer.from([1, 2, 3]));
  ws.send("é".repeat(70_000)); // a 64-bit length frame
  await within(new Promise<void>((resolve) => ws.on("message", () => replies.length === 3 && resolve())));
  assert.deepEqual(replies.slice(0, 2), ["hello", "bin:010203"]);
  assert.equal(replies[2], "é".repeat(70_000));
  ws.close(1000, "done");
  const [code] = await within(once(ws, "close"));
  assert.equal(code, 1000);
}

describe("examples/drop-in", () => {
  it("the ws app and its wirecable/ws twin differ in the import line only", () => {
    assert.deepEqual(codeDiff("ws-echo.mjs", "ws-echo.wirecable.mjs"), [
      ['import { WebSocketServer } from "ws";', 'import { WebSocketServer } from "wirecable/ws";'],
    ]);
  });

  it("the websocket-driver consumer and its wirecable/driver twin differ in the require line only", () => {
    assert.deepEqual(codeDiff("driver-echo.cjs", "driver-echo.wirecable.cjs"), [
      ['const Driver = require("websocket-driver");', 'const Driver = require("wirecable/driver");'],
    ]);
  });

  for (const file of ["ws-echo.mjs", "ws-echo.wirecable.mjs"]) {
    it(`${file} echoes text, binary and a 140 KB message, and closes cleanly`, async () => {
      const { port, child } = await start(file);
      await echoes(port);
      await stop(child);
    });
  }

  for (const file of ["driver-echo.cjs", "driver-echo.wirecable.cjs"]) {
    it(`${file} negotiates its subprotocol, echoes, and closes cleanly`, async () => {
      const { port, child } = await start(file);
      await echoes(port, "echo");
      await stop(child);
    });
  }
});
