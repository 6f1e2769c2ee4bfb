// `wirecable connect` as a process against in-process servers: lines in, messages out (text
// and binary), a greeting sent with the handshake, /ping, //escape, /close with code and
// reason, /quit, end of input, --execute, --subprotocol, --header, --origin, --deflate,
// --proxy (HTTP CONNECT), wscat's -c, --auth and -P, --insecure / -n / --ca (self-signed TLS),
// and the exit status.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { EventEmitter, once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import { createConnection, createServer as createNetServer, type Server as NetServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type Connection, WebSocketServer } from "../../src/node/index.js";
import { spawnTied } from "../helpers/tied-process.js";
import { event, within } from "../helpers/time.js";
import { CLI, CLI_BOUND, CLI_TEST_TIMEOUT, ensureBuilt, root, runCli, stopAll } from "./helpers.js";

interface Seen {
  closes: Array<{ code: number; reason: string }>;
  headers: Array<Record<string, string | string[] | undefined>>;
}

const closeSeen = new EventEmitter();
let wss: WebSocketServer;
let url = "";
const seen: Seen = { closes: [], headers: [] };

function serveEcho(server: WebSocketServer, record: Seen): void {
  server.on("connection", (conn: Connection, req) => {
    record.headers.push(req.headers);
    if (req.url?.includes("greet")) conn.send("welcome");
    conn.on("message", (data: string | Buffer, isBinary: boolean) => {
      const text = String(data);
      if (text === "bin") conn.send(Buffer.from([1, 2, 3]));
      else if (text === "bye-1001") conn.close(1001, "going away");
      else if (text === "drop") conn.terminate();
      else if (text === "ping-me") {
        conn.ping("from server");
        conn.send("pinged");
      } else conn.send(data, { binary: isBinary });
    });
    conn.on("close", (code: number, reason: string) => {
      record.closes.push({ code, reason: String(reason) });
      closeSeen.emit("close");
    });
  });
}

before(async () => {
  ensureBuilt();
  wss = new WebSocketServer({
    port: 0,
    host: "127.0.0.1",
    protocols: (offered) => (offered.includes("chat") ? "chat" : null),
    perMessageDeflate: true,
  });
  serveEcho(wss, seen);
  await wss.ready;
  url = `ws://127.0.0.1:${(wss.address() as { port: number }).port}`;
});

after(async () => {
  stopAll();
  await wss.close();
});

/** The last close the server saw, once it saw one (the CLI may exit before the server's close event). */
async function lastClose(): Promise<{ code: number; reason: string }> {
  if (seen.closes.length === 0) await event(closeSeen, "close", CLI_BOUND);
  return seen.closes.at(-1)!;
}

describe("wirecable connect", { timeout: CLI_TEST_TIMEOUT }, () => {
  it("sends lines, prints text, binary, pongs and a greeting; /close with code and reason", async () => {
    seen.closes.length = 0;
    const r = await runCli(["connect", `${url}/greet`], {
      input: "hello\n/ping abc\n//slash\nbin\n/help\n/nope\n/close 4000 bye now\n",
    });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split("\n");
    assert.deepEqual(lines, ["< welcome", "< hello", "< pong: abc", "< /slash", "< [binary 3 bytes] 01 02 03"]);
    assert.match(r.stderr, /\* connected to ws:\/\/127\.0\.0\.1:\d+\/greet/);
    assert.match(r.stderr, /\/ping \[data\]/);
    assert.match(r.stderr, /unknown command "\/nope"/);
    assert.match(r.stderr, /\* closed: 4000/); // the peer echoes the code (RFC 6455 5.5.1)
    assert.deepEqual(await lastClose(), { code: 4000, reason: "bye now" });
  });

  it("refuses an invalid close code and /quit closes with 1000", async () => {
    seen.closes.length = 0;
    const r = await runCli(["connect", url], { input: "/close 1005\n/close 99999\n/quit\n" });
    assert.equal(r.code, 0);
    assert.match(r.stderr, /invalid close code "1005"/);
    assert.match(r.stderr, /invalid close code "99999"/);
    assert.equal((await lastClose()).code, 1000);
  });

  it("end of input closes with 1000 after the replies", async () => {
    seen.closes.length = 0;
    const r = await runCli(["connect", url], { input: "one\ntwo\n" });
    assert.equal(r.code, 0);
    assert.equal(r.stdout, "< one\n< two\n");
    assert.equal((await lastClose()).code, 1000);
  });

  it("Ctrl-C (SIGINT) closes with 1000 and exits 0", async () => {
    seen.closes.length = 0;
    const child = spawnTied(process.execPath, [CLI, "connect", url], { cwd: root, stdio: ["pipe", "pipe", "pipe"] });
    let err = "";
    await within(
      new Promise<void>((resolve) =>
        child.stderr.on("data", (d) => {
          err += d;
          if (err.includes("connected to")) resolve();
        }),
      ),
      CLI_BOUND,
      "connected to",
    );
    const exited = once(child, "exit");
    child.kill("SIGINT");
    const [code] = await exited;
    assert.equal(code, 0, err);
    assert.equal((await lastClose()).code, 1000);
  });

  it("--execute sends, waits and closes", async () => {
    const r = await runCli(["connect", url, "-x", "first", "-x", "second", "--wait", "0.3"]);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, "< first\n< second\n");
  });

  it("--subprotocol, --header, --origin and --deflate reach the server", async () => {
    seen.headers.length = 0;
    const r = await runCli(
      ["connect", url, "-s", "other", "-s", "chat", "-H", "X-Token: s3cret", "-o", "https://app.example", "--deflate"],
      { input: "compressed?\n" },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /subprotocol chat/);
    assert.match(r.stderr, /extensions permessage-deflate/);
    assert.equal(r.stdout, "< compressed?\n");
    const headers = seen.headers.at(-1)!;
    assert.equal(headers["x-token"], "s3cret");
    assert.equal(headers.origin, "https://app.example");
    assert.equal(headers["sec-websocket-protocol"], "other, chat");
  });

  it("wscat's flags: -c URL, --auth user:password, -P prints the server's pings", async () => {
    seen.headers.length = 0;
    const shown = await runCli(["connect", "-c", url, "--auth", "ann:s3:cret", "-P"], { input: "ping-me\n" });
    assert.equal(shown.code, 0, shown.stderr);
    assert.equal(shown.stdout, "< ping: from server\n< pinged\n");
    assert.equal(seen.headers.at(-1)!.authorization, `Basic ${Buffer.from("ann:s3:cret").toString("base64")}`);
    const quiet = await runCli(["connect", url], { input: "ping-me\n" });
    assert.equal(quiet.stdout, "< pinged\n", "pings are printed only with -P");
  });

  it("reports the server's close (exit 0) and a lost connection (exit 1)", async () => {
    const closed = await runCli(["connect", url], { input: "bye-1001\n" });
    assert.match(closed.stderr, /closed: 1001 going away/);
    assert.equal(closed.code, 0);
    const lost = await runCli(["connect", url], { input: "drop\n" });
    assert.match(lost.stderr, /closed: 1006/);
    assert.equal(lost.code, 1);
  });

  it("--proxy tunnels through an HTTP CONNECT proxy", async () => {
    const requests: string[] = [];
    const proxy: NetServer = createNetServer((client) => {
      client.once("data", (head) => {
        const text = head.toString("latin1");
        requests.push(text.split("\r\n")[0]!);
        const [host, port] = text.split(" ")[1]!.split(":");
        const upstream = createConnection({ host: host!, port: Number(port) }, () => {
          client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
          client.pipe(upstream).pipe(client);
        });
        upstream.on("error", () => client.destroy());
      });
      client.on("error", () => {});
    });
    await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
    try {
      const proxyUrl = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;
      const r = await runCli(["connect", url, "--proxy", proxyUrl], { input: "via proxy\n" });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "< via proxy\n");
      assert.match(requests[0] ?? "", /^CONNECT 127\.0\.0\.1:\d+ HTTP\/1\.1$/);
    } finally {
      proxy.close();
    }
  });

  it("a self-signed certificate: refused, accepted with --insecure, -n or --ca", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wirecable-cli-tls-"));
    let https: HttpsServer | undefined;
    let tls: WebSocketServer | undefined;
    try {
      execFileSync(
        "openssl",
        [
          "req",
          "-x509",
          "-newkey",
          "rsa:2048",
          "-nodes",
          "-days",
          "1",
          "-subj",
          "/CN=localhost",
          "-addext",
          "subjectAltName=IP:127.0.0.1",
          "-keyout",
          join(dir, "key.pem"),
          "-out",
          join(dir, "cert.pem"),
        ],
        { stdio: "pipe" },
      );
      https = createHttpsServer({ key: readFileSync(join(dir, "key.pem")), cert: readFileSync(join(dir, "cert.pem")) });
      tls = new WebSocketServer({ server: https });
      serveEcho(tls, { closes: [], headers: [] });
      await new Promise<void>((r) => https!.listen(0, "127.0.0.1", r));
      const wssUrl = `wss://127.0.0.1:${(https.address() as { port: number }).port}`;
      const refused = await runCli(["connect", wssUrl], { input: "" });
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /could not connect/);
      for (const flags of [["--insecure"], ["-n"], ["--ca", join(dir, "cert.pem")]]) {
        const ok = await runCli(["connect", wssUrl, ...flags], { input: "secure\n" });
        assert.equal(ok.code, 0, `${flags.join(" ")}: ${ok.stderr}`);
        assert.equal(ok.stdout, "< secure\n");
      }
    } finally {
      await tls?.close();
      https?.closeAllConnections();
      https?.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
