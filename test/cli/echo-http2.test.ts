/**
 * `wirecable echo --http2`: the built CLI serves WebSockets over HTTP/2 (RFC 8441) and HTTP/1.1
 * on one TLS port, with a self-signed certificate made at start or the one given, and prints a
 * wss:// URL; `wirecable connect --http2` reaches it over HTTP/2.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import WebSocketClient from "ws";
import { type Connection, connect } from "../../src/node/index.js";
import { event, UNIT, within } from "../helpers/time.js";
import { testCertificate } from "../helpers/tls.js";
import { ensureBuilt, runCli, startCli, stopAll } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "wirecable-h2-cli-"));
before(() => ensureBuilt());
after(() => {
  stopAll();
  rmSync(dir, { recursive: true, force: true });
});

async function echoOnce(conn: Connection, text: string): Promise<string> {
  const reply = event<[string]>(conn, "message");
  conn.send(text);
  return (await reply)[0];
}

describe("wirecable echo --http2", { timeout: 120_000 }, () => {
  it("makes a self-signed certificate and serves HTTP/2 and HTTP/1.1 WebSockets on its wss:// URL", async () => {
    const running = startCli(["echo", "--port", "0", "--host", "127.0.0.1", "--http2"]);
    const [url] = await running.waitFor(/wss:\/\/\S+/, 300 * UNIT);
    assert.match(running.stderr(), /self-signed/);
    const conn = await connect(url, { http2: true, rejectUnauthorized: false });
    assert.ok((conn.socket as unknown as { session?: unknown }).session !== undefined, "an HTTP/2 stream");
    assert.equal(await echoOnce(conn, "over h2"), "over h2");
    const ws = new WebSocketClient(url, { rejectUnauthorized: false });
    await event(ws, "open");
    ws.send("over h1");
    assert.equal(String((await event<[Buffer]>(ws, "message"))[0]), "over h1");
    ws.terminate();
    conn.close();
    await within(conn.closed);
  });

  it("wirecable connect --http2 talks to it over HTTP/2; without --http2 over HTTP/1.1", async () => {
    const running = startCli(["echo", "--port", "0", "--host", "127.0.0.1", "--http2"]);
    const [url] = await running.waitFor(/wss:\/\/\S+/, 300 * UNIT);
    const h2 = await runCli(["connect", url!, "--http2", "--insecure", "-x", "over h2", "--wait", "0.5"]);
    assert.equal(h2.code, 0, h2.stderr);
    assert.equal(h2.stdout, "< over h2\n");
    assert.match(h2.stderr, /connected to \S+ \(over HTTP\/2\)/);
    const h1 = await runCli(["connect", url!, "--insecure", "-x", "over h1", "--wait", "0.5"]);
    assert.equal(h1.code, 0, h1.stderr);
    assert.equal(h1.stdout, "< over h1\n");
    assert.doesNotMatch(h1.stderr, /HTTP\/2/);
  });

  it("serves the certificate given with --cert/--key (a client that trusts only it connects)", async () => {
    const { cert, key } = testCertificate();
    writeFileSync(join(dir, "cert.pem"), cert);
    writeFileSync(join(dir, "key.pem"), key);
    const running = startCli([
      "echo",
      "--port",
      "0",
      "--host",
      "127.0.0.1",
      "--http2",
      "--cert",
      join(dir, "cert.pem"),
      "--key",
      join(dir, "key.pem"),
    ]);
    const [url] = await running.waitFor(/wss:\/\/\S+/, 300 * UNIT);
    const conn = await connect(url, { http2: true, ca: cert });
    assert.equal(await echoOnce(conn, "trusted"), "trusted");
    conn.close();
    await within(conn.closed);
  });

  it("refuses --cert without --key, and --cert without --http2", async () => {
    for (const args of [
      ["--http2", "--cert", "x.pem"],
      ["--cert", "x.pem", "--key", "y.pem"],
    ]) {
      const running = startCli(["echo", "--port", "0", ...args]);
      const { code } = await within(running.exited, 300 * UNIT, "exit");
      assert.notEqual(code, 0);
      assert.match(running.stderr(), /--cert and --key/);
    }
  });
});
