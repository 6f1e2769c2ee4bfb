// `wirecable echo` as a process: PORT and HOST from the environment (as Node hosting sets them),
// and --legacy-drafts, which lets a hixie-75 client (a pre-RFC 6455 browser) in.
import assert from "node:assert/strict";
import { once } from "node:events";
import { connect as netConnect } from "node:net";
import { after, before, describe, it } from "node:test";
import WS from "ws";
import { CLI_TEST_TIMEOUT, ensureBuilt, startCli, stopAll } from "./helpers.js";

before(() => ensureBuilt());
after(() => stopAll());

const URL_LINE = /ws:\/\/([\d.]+):(\d+)\//;
const HIXIE75 =
  "GET /demo HTTP/1.1\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\nHost: 127.0.0.1\r\nOrigin: http://example.com\r\n\r\n";
const frame = (text: string): Buffer => Buffer.concat([Buffer.from([0x00]), Buffer.from(text), Buffer.from([0xff])]);

/** Sends `request` then `frame`, and resolves with everything received once `until` holds or the socket ends. */
async function hixie(port: number, until: (received: string) => boolean): Promise<string> {
  const socket = netConnect({ host: "127.0.0.1", port });
  socket.on("error", () => {});
  await once(socket, "connect");
  let received = "";
  const done = new Promise<string>((resolve) => {
    socket.on("data", (d: Buffer) => {
      received += d.toString("latin1");
      if (until(received)) resolve(received);
    });
    socket.on("close", () => resolve(received));
  });
  socket.write(Buffer.concat([Buffer.from(HIXIE75), frame("hello 75")]));
  try {
    return await done;
  } finally {
    socket.destroy();
  }
}

describe("wirecable echo (process)", { timeout: CLI_TEST_TIMEOUT }, () => {
  it("listens on PORT and HOST from the environment", async () => {
    const echo = startCli(["echo"], { PORT: "0", HOST: "127.0.0.1" });
    const [url, host, port] = await echo.waitFor(URL_LINE);
    assert.equal(host, "127.0.0.1");
    assert.notEqual(port, "0");
    const ws = new WS(url!);
    await once(ws, "open");
    ws.send("over env");
    const [data] = await once(ws, "message");
    assert.equal(String(data), "over env");
    ws.close();
    echo.child.kill("SIGTERM");
    assert.equal((await echo.exited).code, 0);
  });

  it("--port on the command line wins over PORT", async () => {
    const echo = startCli(["echo", "--port", "0"], { PORT: "1" });
    const [, , port] = await echo.waitFor(URL_LINE);
    assert.notEqual(port, "1");
    echo.child.kill("SIGTERM");
    assert.equal((await echo.exited).code, 0);
  });

  it("--legacy-drafts: a hixie-75 client is answered and echoed; without it, 426", async () => {
    const legacy = startCli(["echo", "--port", "0", "--legacy-drafts"]);
    const [, , port] = await legacy.waitFor(URL_LINE);
    const answer = await hixie(Number(port), (r) => r.includes("\u0000hello 75\u00ff"));
    assert.match(answer, /^HTTP\/1\.1 101 Web Socket Protocol Handshake\r\n/);
    assert.ok(answer.includes("\u0000hello 75\u00ff"), answer);
    legacy.child.kill("SIGTERM");

    const plain = startCli(["echo", "--port", "0"]);
    const [, , plainPort] = await plain.waitFor(URL_LINE);
    const refused = await hixie(Number(plainPort), (r) => r.includes("\r\n\r\n"));
    assert.match(refused, /^HTTP\/1\.1 426 /);
    plain.child.kill("SIGTERM");
    assert.equal((await legacy.exited).code, 0);
    assert.equal((await plain.exited).code, 0);
  });
});
