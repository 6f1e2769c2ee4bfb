/**
 * ws's test/websocket-server.test.js, ported to TypeScript and node:test and run against
 * `wirecable/ws`. Scenarios, names and assertions follow ws's suite (MIT License, Copyright (c)
 * 2011 Einar Otto Stangvik, 2013 Arnout Kazemier and contributors, 2016 Luigi Pinca and
 * contributors). Tests that read ws's private state (`_receiver`, `_server`, `_state`) check the
 * same behaviour through the public API instead; servers listen on 127.0.0.1 (loopback only).
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { Duplex } from "node:stream";
import { describe, it } from "node:test";
import WebSocket, { WebSocketServer } from "../../src/ws/index.js";
import { port, unexpected, withDone } from "./helpers.js";

const HOST = "127.0.0.1";
const KEY = "dGhlIHNhbXBsZSBub25jZQ==";

/** Read a refused upgrade's status and body. */
function refusal(
  res: http.IncomingMessage,
  done: (error?: unknown) => void,
  status: number,
  body: string,
  then: () => void,
): void {
  assert.equal(res.statusCode, status);
  const chunks: Buffer[] = [];
  res.on("data", (chunk: Buffer) => chunks.push(chunk));
  res.on("end", () => {
    try {
      assert.equal(Buffer.concat(chunks).toString(), body);
      then();
    } catch (error) {
      done(error);
    }
  });
}

/** A client frame (masked), as ws's Sender.frame builds it. */
function maskedFrame(opcode: number, payload: Buffer): Buffer {
  const mask = randomBytes(4);
  const head = Buffer.from([0x80 | opcode, 0x80 | payload.length]);
  const body = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
  return Buffer.concat([head, mask, body]);
}

/** An in-memory Duplex pair (ws's test/duplex-pair.js). */
function makeDuplexPair(): { clientSide: Duplex; serverSide: Duplex } {
  let client!: Duplex;
  let server!: Duplex;
  client = new Duplex({
    read() {},
    write(chunk, _enc, cb) {
      server.push(chunk);
      cb();
    },
    final(cb) {
      server.push(null);
      cb();
    },
  });
  server = new Duplex({
    read() {},
    write(chunk, _enc, cb) {
      client.push(chunk);
      cb();
    },
    final(cb) {
      client.push(null);
      cb();
    },
  });
  return { clientSide: client, serverSide: server };
}

const ONE_OF = /^TypeError: One and only one of the "port", "server", or "noServer" options must be specified$/;

describe("WebSocketServer (ws's suite)", { timeout: 60_000 }, () => {
  describe("#ctor", () => {
    it("throws an error if no option object is passed", () => {
      assert.throws(
        () => new (WebSocketServer as unknown as new () => WebSocketServer)(),
        (err: Error) => {
          assert.ok(err instanceof TypeError);
          assert.match(String(err), ONE_OF);
          return true;
        },
      );
    });

    describe("options", () => {
      it("throws an error if required options are not specified", () => {
        assert.throws(() => new WebSocketServer({}), ONE_OF);
      });

      it("throws an error if mutually exclusive options are specified", () => {
        const server = http.createServer();
        for (const options of [
          { port: 0, noServer: true, server },
          { port: 0, noServer: true },
          { port: 0, server },
          { noServer: true, server },
        ]) {
          assert.throws(() => new WebSocketServer(options), ONE_OF);
        }
      });

      it(
        "exposes options passed to constructor",
        withDone((done) => {
          const wss = new WebSocketServer({ port: 0, host: HOST }, () => {
            assert.equal(wss.options.port, 0);
            wss.close(done);
          });
        }),
      );

      it(
        "accepts the `maxPayload` option",
        withDone((done) => {
          const maxPayload = 20480;
          const wss = new WebSocketServer({ perMessageDeflate: true, maxPayload, port: 0, host: HOST }, () => {
            const ws = new WebSocket(`ws://${HOST}:${port(wss)}`);
            ws.on("open", () => ws.send(Buffer.alloc(maxPayload + 1)));
            ws.on("close", (code) => {
              assert.equal(code, 1009);
              wss.close(done);
            });
          });
          wss.on("connection", (ws) => {
            ws.on("error", (err: Error & { code?: string }) => {
              assert.equal(err.code, "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH");
            });
          });
        }),
      );

      it(
        "honors the `WebSocket` option",
        withDone((done) => {
          class CustomWebSocket extends WebSocket.WebSocket {
            get foo(): string {
              return "foo";
            }
          }
          const wss = new WebSocketServer({ port: 0, host: HOST, WebSocket: CustomWebSocket }, () => {
            const ws = new WebSocket(`ws://${HOST}:${port(wss)}`);
            ws.on("open", () => ws.close());
          });
          wss.on("connection", (ws) => {
            assert.ok(ws instanceof CustomWebSocket);
            assert.equal((ws as CustomWebSocket).foo, "foo");
            wss.close(done);
          });
        }),
      );

      it(
        "honors the `autoPong` option",
        withDone((done) => {
          const wss = new WebSocketServer({ autoPong: false, port: 0, host: HOST }, () => {
            const ws = new WebSocket(`ws://${HOST}:${port(wss)}`);
            ws.on("open", () => ws.ping());
            ws.on("pong", unexpected(done, "'pong' event"));
          });
          wss.on("connection", (ws) => {
            ws.on("ping", () => ws.close());
            ws.on("close", () => wss.close(done));
          });
        }),
      );
    });

    it(
      "emits an error if http server bind fails",
      withDone((done) => {
        const wss1 = new WebSocketServer({ port: 0, host: HOST }, () => {
          const wss2 = new WebSocketServer({ port: port(wss1), host: HOST });
          wss2.on("error", () => wss1.close(done));
        });
      }),
    );

    it(
      "uses a precreated http server",
      withDone((done) => {
        const server = http.createServer();
        server.listen(0, HOST, () => {
          const wss = new WebSocketServer({ server });
          wss.on("connection", () => server.close(done));
          const ws = new WebSocket(`ws://${HOST}:${port(server)}`);
          ws.on("open", () => ws.close());
        });
      }),
    );

    it(
      "426s for non-Upgrade requests",
      withDone((done) => {
        const wss = new WebSocketServer({ port: 0, host: HOST }, () => {
          http.get(`http://${HOST}:${port(wss)}`, (res) => {
            refusal(res, done, 426, http.STATUS_CODES[426]!, () => wss.close(done));
          });
        });
      }),
    );

    it(
      "uses a precreated http server listening on IPC",
      withDone((done) => {
        const ipcPath = path.join(os.tmpdir(), `wirecable-ws-${randomBytes(4).toString("hex")}.sock`);
        const server = http.createServer();
        server.listen(ipcPath, () => {
          const wss = new WebSocketServer({ server });
          wss.on("connection", (_ws, req) => {
            if (wss.clients!.size === 1) {
              assert.equal(req.url, "/foo?bar=bar");
            } else {
              assert.equal(req.url, "/");
              for (const client of wss.clients!) client.close();
              server.close(done);
            }
          });
          const ws = new WebSocket(`ws+unix:${ipcPath}:/foo?bar=bar`);
          ws.on("open", () => new WebSocket(`ws+unix:${ipcPath}`));
        });
      }),
    );
  });

  describe("#address", () => {
    it(
      "returns the address of the server",
      withDone((done) => {
        const wss = new WebSocketServer({ port: 0, host: HOST }, () => {
          const addr = wss.address() as net.AddressInfo;
          assert.equal(addr.address, HOST);
          assert.ok(addr.port > 0);
          wss.close(done);
        });
      }),
    );

    it('throws an error when operating in "noServer" mode', () => {
      const wss = new WebSocketServer({ noServer: true });
      assert.throws(() => wss.address(), /^Error: The server is operating in "noServer" mode$/);
    });

    it(
      "returns `null` if called after close",
      withDone((done) => {
        const wss = new WebSocketServer({ port: 0, host: HOST }, () => {
          wss.close(() => {
            assert.equal(wss.address(), null);
            done();
          });
        });
      }),
    );
  });

  describe("#close", () => {
    it(
      "does not throw if called multiple times",
      withDone((done) => {
        const wss = new WebSocketServer({ port: 0, host: HOST }, () => {
          wss.on("close", done);
          wss.close();
          wss.close();
          wss.close();
        });
      }),
    );

    it(
      "doesn't close a precreated server",
      withDone((done) => {
        const server = http.createServer();
        const realClose = server.close;
        server.close = (() => {
          done(new Error("Must not close pre-created server"));
          return server;
        }) as typeof server.close;
        const wss = new WebSocketServer({ server });
        wss.on("connection", () => {
          wss.close();
          server.close = realClose;
          server.close(done);
        });
        server.listen(0, HOST, () => {
          const ws = new WebSocket(`ws://${HOST}:${port(server)}`);
          ws.on("open", () => ws.close());
        });
      }),
    );

    it(
      "invokes the callback in noServer mode",
      withDone((done) => {
        const wss = new WebSocketServer({ noServer: true });
        wss.close(done);
      }),
    );

    it(
      "cleans event handlers on precreated server",
      withDone((done) => {
        const server = http.createServer();
        const listeningListenerCount = server.listenerCount("listening");
        const wss = new WebSocketServer({ server });
        server.listen(0, HOST, () => {
          wss.close(() => {
            assert.equal(server.listenerCount("listening"), listeningListenerCount);
            assert.equal(server.listenerCount("upgrade"), 0);
            assert.equal(server.listenerCount("error"), 0);
            server.close(done);
          });
        });
      }),
    );

    it(
      "emits the 'close' event after the server closes",
      withDone((done) => {
        let clientEnded = false;
        const wss = new WebSocketServer({ port: 0, host: HOST }, () => {
          const socket = net.createConnection({ port: port(wss), host: HOST });
          socket.on("connect", () => {
            wss.close();
            wss.close(); // closing already: no early 'close'
            process.nextTick(() => {
              clientEnded = true;
              socket.end();
            });
          });
        });
        wss.on("close", () => {
          assert.ok(clientEnded);
          done();
        });
      }),
    );

    it(
      "emits the 'close' event if client tracking is disabled",
      withDone((done) => {
        const wss = new WebSocketServer({ noServer: true, clientTracking: false });
        wss.on("close", done);
        wss.close();
      }),
    );

    it(
      "calls the callback if the server is already closed",
      withDone((done) => {
        const wss = new WebSocketServer({ port: 0, host: HOST }, () => {
          wss.close(() => {
            wss.close((err) => {
              assert.ok(err instanceof Error);
              assert.equal(err.message, "The server is not running");
              done();
            });
          });
        });
      }),
    );

    it(
      "emits the 'close' event if the server is already closed",
      withDone((done) => {
        const wss = new WebSocketServer({ port: 0, host: HOST }, () => {
          wss.close(() => {
            wss.on("close", done);
            wss.close();
          });
        });
      }),
    );
  });

  describe("#clients", () => {
    it(
      "returns a list of connected clients",
      withDone((done) => {
        const wss = new WebSocketServer({ port: 0, host: HOST }, () => {
          assert.equal(wss.clients!.size, 0);
          const ws = new WebSocket(`ws://${HOST}:${port(wss)}`);
          ws.on("open", () => ws.close());
        });
        wss.on("connection", () => {
          assert.equal(wss.clients!.size, 1);
          wss.close(done);
        });
      }),
    );

    it(
      "can be disabled",
      withDone((done) => {
        const wss = new WebSocketServer({ port: 0, host: HOST, clientTracking: false }, () => {
          assert.equal(wss.clients, undefined);
          const ws = new WebSocket(`ws://${HOST}:${port(wss)}`);
          ws.on("open", () => ws.close());
        });
        wss.on("connection", (ws) => {
          assert.equal(wss.clients, undefined);
          ws.on("close", () => wss.close(done));
        });
      }),
    );

    it(
      "is updated when client terminates the connection",
      withDone((done) => {
        const wss = new WebSocketServer({ port: 0, host: HOST }, () => {
          const ws = new WebSocket(`ws://${HOST}:${port(wss)}`);
          ws.on("open", () => ws.terminate());
        });
        wss.on("connection", (ws) => {
          ws.on("close", () => {
            assert.equal(wss.clients!.size, 0);
            wss.close(done);
          });
        });
      }),
    );

    it(
      "is updated when client closes the connection",
      withDone((done) => {
        const wss = new WebSocketServer({ port: 0, host: HOST }, () => {
          const ws = new WebSocket(`ws://${HOST}:${port(wss)}`);
          ws.on("open", () => ws.close());
        });
        wss.on("connection", (ws) => {
          ws.on("close", () => {
            assert.equal(wss.clients!.size, 0);
            wss.close(done);
          });
        });
      }),
    );
  });

  describe("#shouldHandle", () => {
    it("returns true when the path matches", () => {
      const wss = new WebSocketServer({ noServer: true, path: "/foo" });
      assert.equal(wss.shouldHandle({ url: "/foo" } as http.IncomingMessage), true);
      assert.equal(wss.shouldHandle({ url: "/foo?bar=baz" } as http.IncomingMessage), true);
    });

    it("returns false when the path doesn't match", () => {
      const wss = new WebSocketServer({ noServer: true, path: "/foo" });
      assert.equal(wss.shouldHandle({ url: "/bar" } as http.IncomingMessage), false);
    });
  });

  describe("#handleUpgrade", () => {
    it(
      "can be used for a pre-existing server",
      withDone((done) => {
        const server = http.createServer();
        server.listen(0, HOST, () => {
          const wss = new WebSocketServer({ noServer: true });
          server.on("upgrade", (req, socket, head) => {
            wss.handleUpgrade(req, socket, head, (ws) => {
              ws.send("hello");
              ws.close();
            });
          });
          const ws = new WebSocket(`ws://${HOST}:${port(server)}`);
          ws.on("message", (message, isBinary) => {
            assert.deepEqual(message, Buffer.from("hello"));
            assert.ok(!isBinary);
            server.close(done);
          });
        });
      }),
    );

    it(
      "closes the connection when path doesn't match",
      withDone((done) => {
        const wss = new WebSocketServer({ port: 0, host: HOST, path: "/ws" }, () => {
          const req = http.get({
            host: HOST,
            port: port(wss),
            headers: {
              Connection: "Upgrade",
              Upgrade: "websocket",
              "Sec-WebSocket-Key": KEY,
              "Sec-WebSocket-Version": 13,
            },
          });
          req.on("response", (res) => {
            assert.equal(res.statusCode, 400);
            wss.close(done);
          });
        });
      }),
    );

    it(
      "closes the connection when protocol version is Hixie-76",
      withDone((done) => {
        const wss = new WebSocketServer({ port: 0, host: HOST }, () => {
          const req = http.get({
            host: HOST,
            port: port(wss),
            headers: {
              Connection: "Upgrade",
              Upgrade: "WebSocket",
              "Sec-WebSocket-Key1": "4 @1  46546xW%0l 1 5",
              "Sec-WebSocket-Key2": "12998 5 Y3 1  .P00",
              "Sec-WebSocket-Protocol": "sample",
            },
          });
          req.on("response", (res) =>
            refusal(res, done, 400, "Missing or invalid Sec-WebSocket-Key header", () => wss.close(done)),
          );
        });
      }),
    );

    it(
      "completes a WebSocket upgrade over any duplex stream",
      withDone((done) => {
        const server = http.createServer();
        server.listen(0, HOST, () => {
          const wss = new WebSocketServer({ noServer: true });
          server.on("upgrade", (req, socket, head) => {
            const { clientSide, serverSide } = makeDuplexPair();
            socket.pipe(clientSide);
            clientSide.pipe(socket);
            wss.handleUpgrade(req, serverSide, head, (ws) => {
              ws.send("hello");
              ws.close();
            });
          });
          const ws = new WebSocket(`ws://${HOST}:${port(server)}`);
          ws.on("message", (message, isBinary) => {
            assert.deepEqual(message, Buffer.from("hello"));
            assert.ok(!isBinary);
            server.close(done);
          });
        });
      }),
    );
  });

  describe("#completeUpgrade", () => {
    it(
      "throws an error if called twice with the same socket",
      withDone((done) => {
        const server = http.createServer();
        server.listen(0, HOST, () => {
          const wss = new WebSocketServer({ noServer: true });
          server.on("upgrade", (req, socket, head) => {
            wss.handleUpgrade(req, socket, head, (ws) => ws.close());
            assert.throws(
              () => wss.handleUpgrade(req, socket, head, () => {}),
              (err: Error) => {
                assert.equal(
                  err.message,
                  "server.handleUpgrade() was called more than once with the same socket, possibly due to a misconfiguration",
                );
                return true;
              },
            );
          });
          const ws = new WebSocket(`ws://${HOST}:${port(server)}`);
          ws.on("open", () => ws.on("close", () => server.close(done)));
        });
      }),
    );
  });

  describe("Connection establishing", () => {
    const refusedWith = (
      headers: Record<string, string | number>,
      status: number,
      body: string,
      options: Record<string, unknown> = {},
      method = "GET",
    ) =>
      withDone((done) => {
        const wss = new WebSocketServer({ port: 0, host: HOST, ...options }, () => {
          const req = http.request({ method, host: HOST, port: port(wss), headers });
          req.on("response", (res) => refusal(res, done, status, body, () => wss.close(done)));
          req.end();
        });
        wss.on("connection", unexpected(done, "'connection' event"));
      });

    it(
      "fails if the HTTP method is not GET",
      refusedWith({ Connection: "Upgrade", Upgrade: "websocket" }, 405, "Invalid HTTP method", {}, "POST"),
    );

    it(
      "fails if the Upgrade header field value cannot be read",
      withDone((done) => {
        const server = http.createServer();
        const wss = new WebSocketServer({ noServer: true });
        server.maxHeadersCount = 1;
        server.on("upgrade", (req, socket, head) => {
          assert.deepEqual({ ...req.headers }, { foo: "bar" });
          wss.handleUpgrade(req, socket, head, unexpected(done, "callback invocation"));
        });
        server.listen(0, HOST, () => {
          const req = http.get({
            host: HOST,
            port: port(server),
            headers: { foo: "bar", bar: "baz", Connection: "Upgrade", Upgrade: "websocket" },
          });
          req.on("response", (res) => refusal(res, done, 400, "Invalid Upgrade header", () => server.close(done)));
        });
      }),
    );

    it(
      'fails if the Upgrade header field value is not "websocket"',
      refusedWith({ Connection: "Upgrade", Upgrade: "foo" }, 400, "Invalid Upgrade header"),
    );

    it(
      "fails if the Sec-WebSocket-Key header is invalid (1/2)",
      refusedWith({ Connection: "Upgrade", Upgrade: "websocket" }, 400, "Missing or invalid Sec-WebSocket-Key header"),
    );

    it(
      "fails if the Sec-WebSocket-Key header is invalid (2/2)",
      refusedWith(
        { Connection: "Upgrade", Upgrade: "websocket", "Sec-WebSocket-Key": "P5l8BJcZwRc=" },
        400,
        "Missing or invalid Sec-WebSocket-Key header",
      ),
    );

    it(
      "fails if the Sec-WebSocket-Version header is invalid (1/2)",
      refusedWith(
        { Connection: "Upgrade", Upgrade: "websocket", "Sec-WebSocket-Key": KEY },
        400,
        "Missing or invalid Sec-WebSocket-Version header",
      ),
    );

    it(
      "fails if the Sec-WebSocket-Version header is invalid (2/2)",
      refusedWith(
        { Connection: "Upgrade", Upgrade: "websocket", "Sec-WebSocket-Key": KEY, "Sec-WebSocket-Version": 12 },
        400,
        "Missing or invalid Sec-WebSocket-Version header",
      ),
    );

    it(
      "fails is the Sec-WebSocket-Protocol header is invalid",
      refusedWith(
        {
          Connection: "Upgrade",
          Upgrade: "websocket",
          "Sec-WebSocket-Key": KEY,
          "Sec-WebSocket-Version": 13,
          "Sec-WebSocket-Protocol": "foo;bar",
        },
        400,
        "Invalid Sec-WebSocket-Protocol header",
      ),
    );

    it(
      "fails if the Sec-WebSocket-Extensions header is invalid",
      refusedWith(
        {
          Connection: "Upgrade",
          Upgrade: "websocket",
          "Sec-WebSocket-Key": KEY,
          "Sec-WebSocket-Version": 13,
          "Sec-WebSocket-Extensions": "permessage-deflate; server_max_window_bits=foo",
        },
        400,
        "Invalid or unacceptable Sec-WebSocket-Extensions header",
        { perMessageDeflate: true },
      ),
    );

    it(
      "emits the 'wsClientError' event",
      withDone((done) => {
        const wss = new WebSocketServer({ port: 0, host: HOST }, () => {
          const req = http.request({
            method: "POST",
            host: HOST,
            port: port(wss),
            headers: { Connection: "Upgrade", Upgrade: "websocket" },
          });
          req.on("response", (res) => {
            assert.equal(res.statusCode, 400);
            wss.close(done);
          });
          req.end();
        });
        wss.on("wsClientError", (err: Error, socket: Duplex, request: http.IncomingMessage) => {
          assert.ok(err instanceof Error);
          assert.equal(err.message, "Invalid HTTP method");
          assert.ok(request instanceof http.IncomingMessage);
          assert.equal(request.method, "POST");
          socket.end("HTTP/1.1 400 Bad Request\r\n\r\n");
        });
        wss.on("connection", unexpected(done, "'connection' event"));
      }),
    );

    it(
      "fails if the WebSocket server is closing or closed",
      withDone((done) => {
        const server = http.createServer();
        const wss = new WebSocketServer({ noServer: true });
        server.on("upgrade", (req, socket, head) => {
          wss.close();
          wss.handleUpgrade(req, socket, head, unexpected(done, "callback invocation"));
        });
        server.listen(0, HOST, () => {
          const ws = new WebSocket(`ws://${HOST}:${port(server)}`);
          ws.on("error", () => {});
          ws.on("unexpected-response", (_req: http.ClientRequest, res: http.IncomingMessage) => {
            assert.equal(res.statusCode, 503);
            res.resume();
            server.close(done);
          });
        });
      }),
    );

    it(
      "handles unsupported extensions",
      withDone((done) => {
        const wss = new WebSocketServer({ perMessageDeflate: true, port: 0, host: HOST }, () => {
          const req = http.get({
            host: HOST,
            port: port(wss),
            headers: {
              Connection: "Upgrade",
              Upgrade: "websocket",
              "Sec-WebSocket-Key": KEY,
              "Sec-WebSocket-Version": 13,
              "Sec-WebSocket-Extensions": "foo; bar",
            },
          });
          req.on("upgrade", (_res, socket: net.Socket, head: Buffer) => {
            if (head.length) socket.unshift(head);
            socket.once("data", (chunk: Buffer) => {
              assert.equal(chunk[0], 0x88);
              socket.destroy();
              wss.close(done);
            });
          });
        });
        wss.on("connection", (ws) => {
          assert.equal(ws.extensions, "");
          ws.close();
        });
      }),
    );

    describe("`verifyClient`", () => {
      const upgradeHeaders = {
        Connection: "Upgrade",
        Upgrade: "websocket",
        "Sec-WebSocket-Key": KEY,
        "Sec-WebSocket-Version": 8,
      };

      it(
        "can reject client synchronously",
        withDone((done) => {
          const wss = new WebSocketServer({ verifyClient: () => false, port: 0, host: HOST }, () => {
            const req = http.get({ host: HOST, port: port(wss), headers: upgradeHeaders });
            req.on("response", (res) => {
              assert.equal(res.statusCode, 401);
              wss.close(done);
            });
          });
          wss.on("connection", unexpected(done, "'connection' event"));
        }),
      );

      it(
        "can accept client synchronously",
        withDone((done) => {
          const wss = new WebSocketServer(
            {
              verifyClient: (info) => {
                assert.equal(info.origin, "https://example.com");
                assert.equal(info.req.headers.foo, "bar");
                assert.equal(info.secure, false);
                return true;
              },
              port: 0,
              host: HOST,
            },
            () => {
              const ws = new WebSocket(`ws://${HOST}:${port(wss)}`, {
                headers: { Origin: "https://example.com", foo: "bar" },
              });
              ws.on("open", () => ws.close());
            },
          );
          wss.on("connection", () => wss.close(done));
        }),
      );

      it(
        "can accept client asynchronously",
        withDone((done) => {
          const wss = new WebSocketServer(
            { verifyClient: (_o, cb) => process.nextTick(cb, true), port: 0, host: HOST },
            () => {
              const ws = new WebSocket(`ws://${HOST}:${port(wss)}`);
              ws.on("open", () => ws.close());
            },
          );
          wss.on("connection", () => wss.close(done));
        }),
      );

      for (const [name, args, status, header] of [
        ["can reject client asynchronously", [false], 401, undefined],
        ["can reject client asynchronously w/ status code", [false, 404], 404, undefined],
        ["can reject client asynchronously w/ custom headers", [false, 503, "", { "Retry-After": 120 }], 503, "120"],
      ] as const) {
        it(
          name,
          withDone((done) => {
            const wss = new WebSocketServer(
              {
                verifyClient: (_info, cb) => process.nextTick(() => (cb as (...a: unknown[]) => void)(...args)),
                port: 0,
                host: HOST,
              },
              () => {
                const req = http.get({ host: HOST, port: port(wss), headers: upgradeHeaders });
                req.on("response", (res) => {
                  assert.equal(res.statusCode, status);
                  if (header !== undefined) assert.equal(res.headers["retry-after"], header);
                  wss.close(done);
                });
              },
            );
            wss.on("connection", unexpected(done, "'connection' event"));
          }),
        );
      }
    });

    it(
      "doesn't emit the 'connection' event if socket is closed prematurely",
      withDone((done) => {
        const server = http.createServer();
        server.listen(0, HOST, () => {
          const wss = new WebSocketServer({
            verifyClient: ({ req: { socket } }, cb) => {
              assert.equal(socket.readable, true);
              assert.equal(socket.writable, true);
              socket.on("end", () => {
                assert.equal(socket.readable, false);
                cb(true);
              });
            },
            server,
          });
          wss.on("connection", unexpected(done, "'connection' event"));
          const socket = net.connect({ host: HOST, port: port(server), allowHalfOpen: true }, () => {
            socket.end(
              [
                "GET / HTTP/1.1",
                "Host: localhost",
                "Upgrade: websocket",
                "Connection: Upgrade",
                `Sec-WebSocket-Key: ${KEY}`,
                "Sec-WebSocket-Version: 13",
                "\r\n",
              ].join("\r\n"),
            );
          });
          socket.on("data", () => {});
          socket.on("end", () => {
            wss.close();
            server.close(done);
          });
        });
      }),
    );

    it(
      "handles data passed along with the upgrade request",
      withDone((done) => {
        const wss = new WebSocketServer({ port: 0, host: HOST }, () => {
          const req = http.request({
            host: HOST,
            port: port(wss),
            headers: {
              Connection: "Upgrade",
              Upgrade: "websocket",
              "Sec-WebSocket-Key": KEY,
              "Sec-WebSocket-Version": 13,
            },
          });
          req.on("upgrade", (_res, socket: net.Socket) => socket.on("data", () => {}));
          req.write(maskedFrame(0x01, Buffer.from("Hello")));
          req.end();
        });
        wss.on("connection", (ws) => {
          ws.on("message", (data, isBinary) => {
            assert.deepEqual(data, Buffer.from("Hello"));
            assert.ok(!isBinary);
            ws.terminate();
            wss.close(done);
          });
        });
      }),
    );

    describe("`handleProtocols`", () => {
      it(
        "allows to select a subprotocol",
        withDone((done) => {
          const handleProtocols = (protocols: Set<string>, request: http.IncomingMessage): string => {
            assert.ok(request instanceof http.IncomingMessage);
            assert.equal(request.url, "/");
            return Array.from(protocols).pop()!;
          };
          const wss = new WebSocketServer({ handleProtocols, port: 0, host: HOST }, () => {
            const ws = new WebSocket(`ws://${HOST}:${port(wss)}`, ["foo", "bar"]);
            ws.on("open", () => {
              assert.equal(ws.protocol, "bar");
              wss.close(done);
            });
          });
          wss.on("connection", (ws) => ws.close());
        }),
      );
    });

    it(
      "emits the 'headers' event",
      withDone((done) => {
        const wss = new WebSocketServer({ port: 0, host: HOST }, () => {
          const ws = new WebSocket(`ws://${HOST}:${port(wss)}?foo=bar`);
          ws.on("open", () => ws.close());
        });
        wss.on("headers", (headers: string[], request: http.IncomingMessage) => {
          assert.deepEqual(headers.slice(0, 3), [
            "HTTP/1.1 101 Switching Protocols",
            "Upgrade: websocket",
            "Connection: Upgrade",
          ]);
          assert.ok(request instanceof http.IncomingMessage);
          assert.equal(request.url, "/?foo=bar");
          wss.on("connection", () => wss.close(done));
        });
      }),
    );
  });

  describe("permessage-deflate", () => {
    it(
      "is disabled by default",
      withDone((done) => {
        const wss = new WebSocketServer({ port: 0, host: HOST }, () => {
          const ws = new WebSocket(`ws://${HOST}:${port(wss)}`);
          ws.on("open", () => ws.close());
        });
        wss.on("connection", (ws, req) => {
          assert.equal(req.headers["sec-websocket-extensions"], "permessage-deflate; client_max_window_bits");
          assert.equal(ws.extensions, "");
          wss.close(done);
        });
      }),
    );

    it(
      "uses configuration options",
      withDone((done) => {
        const wss = new WebSocketServer({ perMessageDeflate: { clientMaxWindowBits: 8 }, port: 0, host: HOST }, () => {
          const ws = new WebSocket(`ws://${HOST}:${port(wss)}`);
          ws.on("upgrade", (res: http.IncomingMessage) => {
            assert.equal(res.headers["sec-websocket-extensions"], "permessage-deflate; client_max_window_bits=8");
            wss.close(done);
          });
        });
        wss.on("connection", (ws) => ws.close());
      }),
    );
  });
});
