/**
 * `wirecable serve --http2`: the demo chat server over TLS (a self-signed certificate made at
 * start), its page over HTTP/2, its cable over HTTP/2 streams (RFC 8441) and over HTTP/1.1, its
 * own https:// origin allowed and a foreign one refused; graceful shutdown; with `--workers 2`
 * every worker serves the one certificate the primary made.
 */
import assert from "node:assert/strict";
import { connect as http2Connect } from "node:http2";
import { after, before, describe, it } from "node:test";
import { connect as tlsConnect } from "node:tls";
import WS from "ws";
import { connect, HandshakeError } from "../../src/node/index.js";
import { event, UNIT, within } from "../helpers/time.js";
import { ensureBuilt, startCli, stopAll } from "./helpers.js";

before(() => ensureBuilt());
after(() => stopAll());

const URL_LINE = /^(https:\/\/localhost:(\d+))$/m;

/** GET `path` over HTTP/2 (node:http2's client): status and body. */
async function getOverHttp2(origin: string, path: string): Promise<{ status: number; body: string }> {
  const session = http2Connect(origin, { rejectUnauthorized: false });
  try {
    const req = session.request({ ":path": path });
    const [headers] = await event<[Record<string, unknown>]>(req, "response");
    let body = "";
    req.setEncoding("utf8");
    for await (const chunk of req) body += chunk;
    return { status: Number(headers[":status"]), body };
  } finally {
    session.close();
  }
}

/** One TLS connection doing GET /healthz over HTTP/1.1: the certificate's fingerprint and the worker. */
async function certificateAndWorker(port: number): Promise<{ fingerprint: string; worker: string }> {
  const socket = tlsConnect({ host: "127.0.0.1", port, servername: "localhost", rejectUnauthorized: false });
  await event(socket, "secureConnect");
  const fingerprint = socket.getPeerCertificate().fingerprint256;
  socket.end("GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
  let text = "";
  socket.setEncoding("utf8");
  for await (const chunk of socket) text += chunk;
  const worker = /"worker":(\d+)/.exec(text)?.[1];
  assert.ok(worker !== undefined, `the worker in /healthz: ${text.slice(0, 300)}`);
  return { fingerprint, worker };
}

describe("wirecable serve --http2 (process)", { timeout: 120_000 }, () => {
  it("serves the page over HTTP/2 and the cable over HTTP/2 streams and HTTP/1.1, then stops on SIGTERM", async () => {
    const serve = startCli(["serve", "--port", "0", "--http2"]);
    const [, url] = await serve.waitFor(URL_LINE, 300 * UNIT);
    assert.match(serve.stderr(), /self-signed/);
    const page = await getOverHttp2(url!, "/");
    assert.equal(page.status, 200);
    assert.match(page.body, /wirecable chat/);

    const cable = `${url!.replace("https:", "wss:")}/cable`;
    // The browser page's own origin is allowed; the cable answers welcome over an HTTP/2 stream.
    const conn = await connect(cable, {
      http2: true,
      rejectUnauthorized: false,
      protocols: ["actioncable-v1-json"],
      headers: { origin: url! },
    });
    assert.ok((conn.socket as unknown as { session?: unknown }).session !== undefined, "an HTTP/2 stream");
    assert.equal(conn.protocol, "actioncable-v1-json");
    const [welcome] = await event<[string]>(conn, "message");
    assert.match(welcome, /"type":"welcome"/);
    // A foreign origin is refused (403) over HTTP/2 as over HTTP/1.1.
    await assert.rejects(
      connect(cable, { http2: true, rejectUnauthorized: false, headers: { origin: "https://evil.example" } }),
      (err: unknown) => err instanceof HandshakeError && err.status === 403,
    );
    // HTTP/1.1 clients keep working on the same port.
    const ws = new WS(cable, ["actioncable-v1-json"], { rejectUnauthorized: false });
    const [first] = await event<[Buffer]>(ws, "message");
    assert.match(String(first), /"type":"welcome"/);

    const h2Closed = event<[number]>(conn, "close");
    const h1Closed = event<[number]>(ws, "close");
    serve.child.kill("SIGTERM");
    assert.equal((await within(h2Closed))[0], 1001);
    assert.equal((await within(h1Closed))[0], 1001);
    assert.equal((await within(serve.exited, 300 * UNIT, "exit")).code, 0);
  });

  it("--workers 2: both workers serve the one certificate the primary made", async () => {
    const serve = startCli(["serve", "--port", "0", "--http2", "--workers", "2", "--log-level", "warn"]);
    const [, , port] = await serve.waitFor(URL_LINE, 300 * UNIT);
    const fingerprints = new Set<string>();
    const workers = new Set<string>();
    // Connections are spread round-robin: a few reach both workers.
    for (let i = 0; i < 12 && workers.size < 2; i++) {
      const seen = await certificateAndWorker(Number(port));
      fingerprints.add(seen.fingerprint);
      workers.add(seen.worker);
    }
    assert.equal(workers.size, 2, "both workers answered");
    assert.equal(fingerprints.size, 1, "with the same certificate");
    serve.child.kill("SIGTERM");
    assert.equal((await within(serve.exited, 300 * UNIT, "exit")).code, 0);
  });
});
