/**
 * The conformance limits of `echo` and `autobahn-client` (--max-payload 16 MiB and
 * --max-fragments 65537 by default: Autobahn 9.1.6, and 9.3.1/9.4.1's 65,537 frames), through bin/wirecable.js
 * (dist/ is rebuilt when the sources are newer) and runAutobahnClient in-process.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { runAutobahnClient } from "../../src/cli/autobahn-client.js";
import { type Connection, WebSocketServer } from "../../src/node/index.js";
import { cframe } from "../helpers/frames.js";
import { portOf, RawClient } from "../helpers/raw-client.js";
import { UNIT, within } from "../helpers/time.js";
import { CLI_TEST_TIMEOUT, ensureBuilt, runCli, startCli, stopAll } from "./helpers.js";

const URL_RE = /listening on (ws:\/\/\S+)/;
const cleanups: Array<() => unknown> = [];
before(() => ensureBuilt());
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
  stopAll();
});

describe("echo limits (--max-fragments, --max-payload)", { timeout: CLI_TEST_TIMEOUT }, () => {
  async function fragmented(port: number, count: number): Promise<RawClient> {
    const raw = await RawClient.open(port);
    cleanups.push(() => raw.socket.destroy());
    const frames: Uint8Array[] = [];
    for (let i = 0; i < count; i++) frames.push(cframe(i === 0 ? 0x1 : 0x0, "x", { fin: i === count - 1 }));
    raw.send(Buffer.concat(frames));
    return raw;
  }

  it("by default accepts a message of 65,537 fragments (Autobahn 9.3.1/9.4.1) and echoes it", async () => {
    const echo = startCli(["echo", "--port", "0"]);
    const [, url] = await echo.waitFor(URL_RE);
    const raw = await fragmented(Number(new URL(url!).port), 65537);
    await raw.until(() => raw.frames.some((f) => f.opcode === 0x1) || raw.ended, "the echo", 200 * UNIT);
    const text = raw.frames.filter((f) => f.opcode === 0x1 || f.opcode === 0x0);
    assert.equal(
      text.reduce((n, f) => n + f.payload.length, 0),
      65537,
    );
    echo.child.kill("SIGTERM");
    assert.equal((await echo.exited).code, 0, echo.stderr());
  });

  it("--max-fragments 100 closes a 101-fragment message with 1009; --max-payload 1KiB a 2 KiB one", async () => {
    const echo = startCli(["echo", "--port", "0", "--max-fragments", "100", "--max-payload", "1KiB"]);
    const [, url] = await echo.waitFor(URL_RE);
    const port = Number(new URL(url!).port);
    const ok = await fragmented(port, 100);
    await ok.until(() => ok.frames.length > 0);
    assert.equal(ok.frames[0]!.opcode, 0x1);
    const tooMany = await fragmented(port, 101);
    await tooMany.until(() => tooMany.frames.some((f) => f.opcode === 0x8));
    assert.equal(tooMany.frames.find((f) => f.opcode === 0x8)!.payload.readUInt16BE(0), 1009);
    const big = await RawClient.open(port);
    cleanups.push(() => big.socket.destroy());
    big.send(cframe(0x2, new Uint8Array(2048)));
    await big.until(() => big.frames.some((f) => f.opcode === 0x8));
    assert.equal(big.frames.find((f) => f.opcode === 0x8)!.payload.readUInt16BE(0), 1009);
    echo.child.kill("SIGTERM");
    assert.equal((await echo.exited).code, 0, echo.stderr());
  });

  it("autobahn-client accepts 65,537 fragments by default; --max-fragments lowers it", async () => {
    const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
    cleanups.push(() => wss.close({ timeout: 3 * UNIT }));
    const results: string[] = [];
    wss.on("connection", (conn: Connection, req) => {
      const path = new URL(req.url!, "http://x").pathname;
      if (path === "/getCaseCount") {
        conn.send("1");
        conn.close();
      } else if (path === "/runCase") {
        conn.on("message", (data: string | Buffer) => {
          results.push(`echoed ${String(data).length}`);
          conn.close();
        });
        conn.on("close", (code: number) => results.push(`closed ${code}`));
        // 65,537 fragments (Autobahn 9.3.1's count): stream() sends each chunk as a frame, then an
        // empty final one.
        void conn.stream(
          (async function* () {
            for (let i = 0; i < 65536; i++) yield "y";
          })(),
        );
      } else conn.close();
    });
    await wss.ready;
    const url = `ws://127.0.0.1:${portOf(wss.address())}`;
    await within(
      runAutobahnClient(url, "t", false, () => {}),
      200 * UNIT,
    );
    assert.deepEqual(results, ["echoed 65536", "closed 1000"]);
    results.length = 0;
    await within(
      runAutobahnClient(url, "t", false, () => {}, { maxPayload: 0, maxFragments: 1000 }),
      200 * UNIT,
    );
    assert.deepEqual(results, ["closed 1009"]);
  });

  for (const [args, pattern] of [
    [["echo", "--port", "0", "--max-payload", "lots"], /size in bytes/],
    [["echo", "--port", "0", "--max-payload", "-5"], /size in bytes/],
    [["echo", "--port", "0", "--max-fragments", "1.5"], /number of fragments/],
    [["autobahn-client", "--url", "ws://127.0.0.1:1", "--max-fragments", "x"], /number of fragments/],
    [["autobahn-client", "--url", "ws://127.0.0.1:1", "--max-payload", "16GB"], /size in bytes/],
  ] as Array<[string[], RegExp]>) {
    it(`fails clearly with a non-zero exit: ${args.join(" ")}`, async () => {
      const { code, stderr } = await runCli(args);
      assert.notEqual(code, 0);
      assert.match(stderr, pattern);
    });
  }

  it("--help documents the limits", async () => {
    for (const command of ["echo", "autobahn-client"]) {
      const { code, stdout } = await runCli([command, "--help"]);
      assert.equal(code, 0);
      assert.match(stdout, /--max-payload <bytes>[\s\S]*16777216/);
      assert.match(stdout, /--max-fragments <n>[\s\S]*65537/);
    }
  });
});
