/**
 * The SSL group of ws's test/websocket.test.js and the https case of `verifyClient` in
 * test/websocket-server.test.js, ported to TypeScript and node:test and run against
 * `wirecable/ws` (MIT License, Copyright (c) 2011 Einar Otto Stangvik, 2013 Arnout Kazemier and
 * contributors, 2016 Luigi Pinca and contributors). ws's certificate fixtures are replaced by
 * certificates made for this run with the openssl CLI: a CA, a server certificate and a client
 * certificate it signs. Servers listen on 127.0.0.1.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import tls, { type TLSSocket } from "node:tls";
import WebSocket, { WebSocketServer } from "../../src/ws/index.js";
import { port, withDone } from "./helpers.js";

const HOST = "127.0.0.1";
let dir = "";
const pem: Record<string, Buffer> = {};

function openssl(args: string[]): void {
  execFileSync("openssl", args, { stdio: "ignore", timeout: 30_000, cwd: dir });
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), "wirecable-ws-tls-"));
  openssl([
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "1",
    "-subj",
    "/CN=test-ca",
    "-keyout",
    "ca-key.pem",
    "-out",
    "ca.pem",
  ]);
  for (const [name, san] of [
    ["server", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
    ["client", "subjectAltName=DNS:client"],
  ] as const) {
    writeFileSync(join(dir, `${name}.ext`), `${san}\n`);
    openssl([
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-subj",
      `/CN=${name}`,
      "-keyout",
      `${name}-key.pem`,
      "-out",
      `${name}.csr`,
    ]);
    openssl([
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca-key.pem",
      "-CAcreateserial",
      "-days",
      "1",
      "-extfile",
      `${name}.ext`,
      "-out",
      `${name}.pem`,
    ]);
  }
  for (const file of ["ca.pem", "server.pem", "server-key.pem", "client.pem", "client-key.pem"]) {
    pem[file] = readFileSync(join(dir, file));
  }
});
after(() => rmSync(dir, { recursive: true, force: true }));

function secureServer(options: https.ServerOptions = {}): https.Server {
  return https.createServer({ cert: pem["server.pem"], key: pem["server-key.pem"], ...options });
}

describe("WebSocket SSL (ws's suite)", { timeout: 60_000 }, () => {
  it(
    "connects to secure websocket server",
    withDone((done) => {
      const server = secureServer();
      const wss = new WebSocketServer({ server });
      wss.on("connection", (ws) => {
        ws.close();
        wss.close();
        server.close(done);
      });
      server.listen(0, HOST, () => {
        new WebSocket(`wss://${HOST}:${port(server)}`, { rejectUnauthorized: false }).on("error", () => {});
      });
    }),
  );

  it(
    "connects to secure websocket server with client side certificate",
    withDone((done) => {
      const server = secureServer({ ca: [pem["ca.pem"]!], requestCert: true });
      let success = false;
      const wss = new WebSocketServer({
        verifyClient: (info) => {
          success = (info.req.socket as TLSSocket).authorized;
          return true;
        },
        server,
      });
      wss.on("connection", (ws) => {
        assert.ok(success);
        ws.close();
        wss.close();
        server.close(done);
      });
      server.listen(0, HOST, () => {
        new WebSocket(`wss://${HOST}:${port(server)}`, {
          cert: pem["client.pem"],
          key: pem["client-key.pem"],
          ca: pem["ca.pem"],
        }).on("error", () => {});
      });
    }),
  );

  it(
    "cannot connect to secure websocket server via ws://",
    withDone((done) => {
      const server = secureServer();
      const wss = new WebSocketServer({ server });
      server.listen(0, HOST, () => {
        const ws = new WebSocket(`ws://${HOST}:${port(server)}`, { rejectUnauthorized: false });
        ws.on("error", () => {
          wss.close();
          server.close(done);
        });
      });
    }),
  );

  it(
    "can send and receive text data",
    withDone((done) => {
      const server = secureServer();
      const wss = new WebSocketServer({ server });
      wss.on("connection", (ws) => {
        ws.on("message", (message, isBinary) => {
          assert.deepEqual(message, Buffer.from("foobar"));
          assert.equal(isBinary, false);
          ws.close();
          wss.close();
          server.close(done);
        });
      });
      server.listen(0, HOST, () => {
        const ws = new WebSocket(`wss://localhost:${port(server)}`, { ca: pem["ca.pem"] });
        ws.on("open", () => ws.send("foobar"));
        ws.on("error", () => {});
      });
    }),
  );

  it(
    "can send a big binary message",
    withDone((done) => {
      const buf = randomBytes(5 * 1024 * 1024);
      const server = secureServer();
      const wss = new WebSocketServer({ server });
      wss.on("connection", (ws) =>
        ws.on("message", (message, isBinary) => ws.send(message as Buffer, { binary: isBinary })),
      );
      server.listen(0, HOST, () => {
        const ws = new WebSocket(`wss://localhost:${port(server)}`, { ca: pem["ca.pem"] });
        ws.on("open", () => ws.send(buf));
        ws.on("message", (message) => {
          assert.ok(buf.equals(message as Buffer));
          ws.close();
          wss.close();
          server.close(done);
        });
      });
    }),
  );

  it(
    "verifyClient can accept client synchronously (https: info.secure is true)",
    withDone((done) => {
      const server = secureServer();
      const wss = new WebSocketServer({
        verifyClient: (info) => {
          assert.equal(info.origin, "https://example.com");
          assert.equal(info.req.headers.foo, "bar");
          assert.equal(info.secure, true);
          return true;
        },
        server,
      });
      wss.on("connection", (ws) => {
        ws.close();
        wss.close();
        server.close(done);
      });
      server.listen(0, HOST, () => {
        const ws = new WebSocket(`wss://localhost:${port(server)}`, {
          headers: { Origin: "https://example.com", foo: "bar" },
          rejectUnauthorized: false,
        });
        ws.on("error", () => {});
      });
    }),
  );

  it(
    "allows to disable sending the SNI extension",
    withDone((done) => {
      const original = tls.connect;
      (tls as { connect: unknown }).connect = (options: tls.ConnectionOptions) => {
        tls.connect = original;
        assert.equal(options.servername, "");
        done();
        return original({ ...options, host: HOST, port: 1 }).on("error", () => {});
      };
      new WebSocket("wss://127.0.0.1", { servername: "" }).on("error", () => {});
    }),
  );

  it(
    "reports one error when the TLS handshake fails (ws's double 'error' event workaround)",
    withDone((done) => {
      const server = secureServer({ minVersion: "TLSv1.2" });
      const wss = new WebSocketServer({ server });
      server.listen(0, HOST, () => {
        const ws = new WebSocket(`wss://localhost:${port(server)}`, {
          maxVersion: "TLSv1.1",
          rejectUnauthorized: false,
        });
        let errors = 0;
        ws.on("error", (err) => {
          assert.ok(err instanceof Error);
          errors++;
        });
        ws.on("close", () => {
          assert.equal(errors, 1);
          wss.close();
          server.close(done);
        });
      });
    }),
  );
});
