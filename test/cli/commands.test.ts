/**
 * The CLI commands, run as child processes through tsx (the same program bin/wirecable.js
 * loads from dist/ after `npm run build`).
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import WebSocketClient from "ws";
import { type Connection, WebSocketServer } from "../../src/node/index.js";
import { portOf } from "../helpers/raw-client.js";
import { spawnTied } from "../helpers/tied-process.js";
import { event, UNIT, within } from "../helpers/time.js";

const entry = fileURLToPath(new URL("../../src/cli/index.ts", import.meta.url));
const children: ChildProcess[] = [];
const cleanups: Array<() => unknown> = [];
after(async () => {
  for (const child of children) child.kill("SIGKILL");
  for (const fn of cleanups.reverse()) await fn();
});

function cli(args: string[]): {
  child: ChildProcess;
  exit: Promise<{ code: number | null; stdout: string; stderr: string }>;
  line: Promise<string>;
} {
  const code = `import(${JSON.stringify(entry)}).then((m) => m.main(["node", "wirecable", ...${JSON.stringify(args)}])).catch((e) => { console.error("wirecable: " + e.message); process.exit(1); });`;
  const child = spawnTied(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let stdout = "";
  let stderr = "";
  let resolveLine: (s: string) => void;
  const line = new Promise<string>((resolve) => (resolveLine = resolve));
  child.stdout!.on("data", (d: Buffer) => {
    stdout += d;
    if (stdout.includes("\n")) resolveLine(stdout.split("\n")[0]!);
  });
  child.stderr!.on("data", (d: Buffer) => (stderr += d));
  const exit = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    // "close": exited AND its output read to the end (see helpers.ts runCli).
    child.on("close", (code) => resolve({ code, stdout, stderr })),
  );
  const firstLine = within(line, 200 * UNIT, "cli output");
  firstLine.catch(() => {}); // commands that fail never print one
  const exited = within(exit, 200 * UNIT, "cli exit");
  exited.catch(() => {}); // servers are never awaited (killed in `after`): no unhandled rejection
  return { child, exit: exited, line: firstLine };
}

describe("CLI", () => {
  it("echo prints its URL and echoes text and binary", async () => {
    const { line } = cli(["echo", "--port", "0", "--host", "127.0.0.1"]);
    const url = /ws:\/\/\S+/.exec(await line)![0];
    const ws = new WebSocketClient(url);
    cleanups.push(() => ws.terminate());
    await event(ws, "open");
    ws.send("hi");
    const [text, isBinary] = await event<[Buffer, boolean]>(ws, "message");
    assert.deepEqual([text.toString(), isBinary], ["hi", false]);
    ws.send(Buffer.from([1, 2]));
    const [bin, isBinary2] = await event<[Buffer, boolean]>(ws, "message");
    assert.deepEqual([[...bin], isBinary2], [[1, 2], true]);
  });

  it("echo --deflate negotiates permessage-deflate", async () => {
    const { line } = cli(["echo", "--port", "0", "--deflate"]);
    const url = /ws:\/\/\S+/.exec(await line)![0];
    const ws = new WebSocketClient(url, { perMessageDeflate: true });
    cleanups.push(() => ws.terminate());
    await event(ws, "open");
    assert.match(ws.extensions, /permessage-deflate/);
    ws.send("squeeze me ".repeat(100));
    const [text] = await event<[Buffer]>(ws, "message");
    assert.equal(text.toString(), "squeeze me ".repeat(100));
  });

  it("broadcast sends each message to every client", async () => {
    const { line } = cli(["broadcast", "--port", "0"]);
    const url = /ws:\/\/\S+/.exec(await line)![0];
    const a = new WebSocketClient(url);
    const b = new WebSocketClient(url);
    cleanups.push(
      () => a.terminate(),
      () => b.terminate(),
    );
    await Promise.all([event(a, "open"), event(b, "open")]);
    const gotB = event<[Buffer]>(b, "message");
    const gotA = event<[Buffer]>(a, "message");
    a.send("to everyone");
    assert.equal((await gotA)[0].toString(), "to everyone");
    assert.equal((await gotB)[0].toString(), "to everyone");
  });

  it("autobahn-client runs the fuzzingserver flow", async () => {
    const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
    cleanups.push(() => wss.close({ timeout: 3 * UNIT }));
    const log: string[] = [];
    wss.on("connection", (conn: Connection, req) => {
      const url = new URL(req.url!, "http://x");
      log.push(`${url.pathname}?${url.searchParams}`);
      if (url.pathname === "/getCaseCount") {
        conn.send("2");
        conn.close();
      } else if (url.pathname === "/runCase") {
        const sent = [`case ${url.searchParams.get("case")}`, Buffer.from([1, 2, 3])];
        const echoed: unknown[] = [];
        conn.on("message", (data: string | Buffer) => {
          echoed.push(data);
          if (echoed.length === sent.length) {
            log.push(`echoed ${JSON.stringify(echoed.map(String))}`);
            conn.close();
          }
        });
        for (const m of sent) conn.send(m);
      } else {
        conn.close();
      }
    });
    await wss.ready;
    const { exit } = cli(["autobahn-client", "--url", `ws://127.0.0.1:${portOf(wss.address())}`, "--agent", "tester"]);
    const result = await exit;
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(log, [
      "/getCaseCount?",
      "/runCase?case=1&agent=tester",
      'echoed ["case 1","\\u0001\\u0002\\u0003"]',
      "/runCase?case=2&agent=tester",
      'echoed ["case 2","\\u0001\\u0002\\u0003"]',
      "/updateReports?agent=tester",
    ]);
  });

  for (const [args, pattern] of [
    [["echo"], /required option/],
    [["echo", "--port", "99999"], /port number/],
    [["broadcast", "--port", "x"], /port number/],
    [["autobahn-client", "--url", "http://x"], /ws:\/\/ or wss:\/\//],
    [["autobahn-client", "--url", "ws://127.0.0.1:1", "--agent", "bad name!"], /name/],
    [["autobahn-client", "--url", "ws://127.0.0.1:1"], /ECONNREFUSED/],
  ] as Array<[string[], RegExp]>) {
    it(`fails clearly with a non-zero exit: ${args.join(" ")}`, async () => {
      const { code, stderr } = await cli(args).exit;
      assert.notEqual(code, 0);
      assert.match(stderr, pattern);
    });
  }
});
