/**
 * ws's test/websocket.test.js, ported to TypeScript and node:test and run against
 * `wirecable/ws`. Scenarios, names and assertions follow ws's suite (MIT License, Copyright (c)
 * 2011 Einar Otto Stangvik, 2013 Arnout Kazemier and contributors, 2016 Luigi Pinca and
 * contributors), with ws 8's argument shapes (messages and close reasons are Buffers).
 * Where ws reaches into `_socket`, these use wirecable's public `ws.connection.socket`; the
 * tests not ported (they read ws's private receiver, sender, timers or patch its deflate) are
 * listed in docs/ws-compat.md. Servers listen on 127.0.0.1 (loopback only).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import http from "node:http";
import net from "node:net";
import { describe, it } from "node:test";
import WebSocket, { WebSocketServer } from "../../src/ws/index.js";
import { port, unexpected, withDone } from "./helpers.js";

const HOST = "127.0.0.1";
const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const NOOP = (): void => {};
type WS = InstanceType<typeof WebSocket.WebSocket>;

/** An agent that never sends the request (ws's CustomAgent). */
class CustomAgent extends http.Agent {
  addRequest(): void {}
}
type AgentHook = (req: http.ClientRequest, opts: http.RequestOptions) => void;
function agentWith(hook: AgentHook): http.Agent {
  const agent = new CustomAgent();
  (agent as unknown as { addRequest: AgentHook }).addRequest = hook;
  return agent;
}

/** A ws server on loopback, its URL, and the rest of the test in `body`. */
function server(
  options: ConstructorParameters<typeof WebSocketServer>[0],
  body: (wss: WebSocketServer, url: string) => void,
): WebSocketServer {
  const wss = new WebSocketServer({ port: 0, host: HOST, ...options }, () => body(wss, `ws://${HOST}:${port(wss)}`));
  return wss;
}

function accept(key: string): string {
  return createHash("sha1")
    .update(key + GUID)
    .digest("base64");
}

/**
 * ws 8's `close()` leaves open connections alone (ws 7 terminated them), so the ported tests
 * that close the server while a client is still open terminate the clients first.
 */
function shutdown(wss: WebSocketServer, done: (error?: unknown) => void): void {
  for (const client of wss.clients ?? []) client.terminate();
  wss.close(done);
}

/** An http.Server on loopback for the handshake tests that answer by hand. */
function rawServer(body: (server: http.Server, url: string) => void): void {
  const srv = http.createServer();
  srv.listen(0, HOST, () => body(srv, `ws://${HOST}:${port(srv)}`));
}

describe("WebSocket (ws's suite)", { timeout: 120_000 }, () => {
  describe("#ctor", () => {
    it("throws an error when using an invalid url", () => {
      // ws 8: the URL parses; its pathname is empty.
      assert.throws(() => new WebSocket("ws+unix:"), /^SyntaxError: The URL's pathname is empty$/);
    });

    it(
      "accepts `url.URL` objects as url",
      withDone((done) => {
        const agent = agentWith((req, opts) => {
          assert.equal(opts.host, "::1");
          assert.equal(req.path, "/");
          done();
        });
        new WebSocket(new URL("ws://[::1]"), { agent });
      }),
    );

    it("accepts the `options` object as 3rd argument", () => {
      let count = 0;
      const agent = agentWith(() => count++);
      new WebSocket("ws://localhost", undefined, { agent });
      new WebSocket("ws://localhost", [], { agent });
      assert.equal(count, 2);
      // ws 8: a null protocols argument is a (invalid) subprotocol.
      assert.throws(
        () => new WebSocket("ws://localhost", null as unknown as undefined, { agent }),
        /^SyntaxError: An invalid or duplicated subprotocol was specified$/,
      );
    });

    it(
      "accepts the `maxPayload` option",
      withDone((done) => {
        const maxPayload = 20480;
        server({ perMessageDeflate: true }, (wss, url) => {
          const ws = new WebSocket(url, { perMessageDeflate: true, maxPayload });
          ws.on("error", (err: Error & { code?: string }) => {
            assert.equal(err.code, "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH");
            ws.on("close", () => wss.close(done));
          });
        }).on("connection", (ws) => ws.send(Buffer.alloc(maxPayload + 1)));
      }),
    );

    it("throws an error when using an invalid `protocolVersion`", () => {
      assert.throws(
        () => new WebSocket("ws://localhost", { agent: new CustomAgent(), protocolVersion: 1000 }),
        /^RangeError: Unsupported protocol version: 1000 \(supported versions: 8, 13\)$/,
      );
    });
  });

  describe("Constants", () => {
    const readyStates = { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 } as const;
    for (const state of Object.keys(readyStates) as Array<keyof typeof readyStates>) {
      it(`\`${state}\` is an enumerable property of the class`, () => {
        const descriptor = Object.getOwnPropertyDescriptor(WebSocket, state);
        assert.equal(descriptor?.enumerable, true);
        assert.equal(descriptor?.value, readyStates[state]);
        assert.equal(descriptor?.writable, false);
      });
      it(`\`${state}\` is an enumerable property of the prototype`, () => {
        assert.deepEqual(Object.getOwnPropertyDescriptor(WebSocket.prototype, state), {
          configurable: false,
          enumerable: true,
          value: readyStates[state],
          writable: false,
        });
      });
    }
  });

  describe("Attributes", () => {
    for (const [name, settable] of [
      ["binaryType", true],
      ["bufferedAmount", false],
      ["extensions", false],
      ["protocol", false],
      ["readyState", false],
      ["url", false],
    ] as const) {
      it(`\`${name}\` is enumerable and configurable`, () => {
        const descriptor = Object.getOwnPropertyDescriptor(WebSocket.prototype, name)!;
        assert.equal(descriptor.configurable, true);
        assert.equal(descriptor.enumerable, true);
        assert.ok(descriptor.get !== undefined);
        assert.equal(descriptor.set !== undefined, settable);
      });
    }

    it("`binaryType` defaults to 'nodebuffer'", () => {
      const ws = new WebSocket("ws://localhost", { agent: new CustomAgent() });
      assert.equal(ws.binaryType, "nodebuffer");
    });

    it("`binaryType` can be changed to 'arraybuffer' or 'fragments'", () => {
      const ws = new WebSocket("ws://localhost", { agent: new CustomAgent() });
      ws.binaryType = "arraybuffer";
      assert.equal(ws.binaryType, "arraybuffer");
      ws.binaryType = "foo" as never;
      assert.equal(ws.binaryType, "arraybuffer");
      ws.binaryType = "fragments";
      assert.equal(ws.binaryType, "fragments");
      ws.binaryType = "" as never;
      assert.equal(ws.binaryType, "fragments");
      ws.binaryType = "nodebuffer";
      assert.equal(ws.binaryType, "nodebuffer");
    });

    it("`bufferedAmount` defaults to zero", () => {
      const ws = new WebSocket("ws://localhost", { agent: new CustomAgent() });
      assert.equal(ws.bufferedAmount, 0);
    });

    it(
      '`bufferedAmount` defaults to zero upon "open"',
      withDone((done) => {
        server({}, (wss, url) => {
          const ws = new WebSocket(url);
          ws.onopen = () => {
            assert.equal(ws.bufferedAmount, 0);
            shutdown(wss, done);
          };
        });
      }),
    );

    it(
      "`bufferedAmount` takes into account the data in the socket queue",
      withDone((done) => {
        server({}, (_wss, url) => {
          new WebSocket(url).on("error", NOOP);
        }).on("connection", function (this: WebSocketServer, ws) {
          const data = Buffer.alloc(1024, 61);
          let sends = 0;
          while (ws.bufferedAmount === 0 && sends++ < 100_000) ws.send(data);
          assert.ok(ws.bufferedAmount > 0);
          ws.on("close", () => this.close(done));
          ws.close();
        });
      }),
    );

    it(
      "`extensions` exposes the negotiated extensions names (1/2)",
      withDone((done) => {
        server({}, (wss, url) => {
          const ws = new WebSocket(url);
          assert.equal(ws.extensions, "");
          ws.on("open", () => {
            assert.equal(ws.extensions, "");
            ws.on("close", () => wss.close(done));
          });
        }).on("connection", (ws) => {
          assert.equal(ws.extensions, "");
          ws.close();
        });
      }),
    );

    it(
      "`extensions` exposes the negotiated extensions names (2/2)",
      withDone((done) => {
        server({ perMessageDeflate: true }, (wss, url) => {
          const ws = new WebSocket(url);
          assert.equal(ws.extensions, "");
          ws.on("open", () => {
            assert.equal(ws.extensions, "permessage-deflate");
            ws.on("close", () => wss.close(done));
          });
        }).on("connection", (ws) => {
          assert.equal(ws.extensions, "permessage-deflate");
          ws.close();
        });
      }),
    );

    it(
      "`protocol` exposes the subprotocol selected by the server",
      withDone((done) => {
        server({}, (wss, url) => {
          const ws = new WebSocket(url, "foo");
          assert.equal(ws.extensions, "");
          ws.on("open", () => {
            assert.equal(ws.protocol, "foo");
            ws.on("close", () => wss.close(done));
          });
        }).on("connection", (ws) => {
          assert.equal(ws.protocol, "foo");
          ws.close();
        });
      }),
    );

    it("`readyState` defaults to `CONNECTING`", () => {
      const ws = new WebSocket("ws://localhost", { agent: new CustomAgent() });
      assert.equal(ws.readyState, WebSocket.CONNECTING);
    });

    it(
      "`readyState` is set to `OPEN` once connection is established",
      withDone((done) => {
        server({}, (wss, url) => {
          const ws = new WebSocket(url);
          ws.on("open", () => {
            assert.equal(ws.readyState, WebSocket.OPEN);
            ws.close();
          });
          ws.on("close", () => wss.close(done));
        });
      }),
    );

    it(
      "`readyState` is set to `CLOSED` once connection is closed",
      withDone((done) => {
        server({}, (wss, url) => {
          const ws = new WebSocket(url);
          ws.on("close", () => {
            assert.equal(ws.readyState, WebSocket.CLOSED);
            wss.close(done);
          });
          ws.on("open", () => ws.close(1001));
        });
      }),
    );

    it(
      "`readyState` is set to `CLOSED` once connection is terminated",
      withDone((done) => {
        server({}, (wss, url) => {
          const ws = new WebSocket(url);
          ws.on("close", () => {
            assert.equal(ws.readyState, WebSocket.CLOSED);
            wss.close(done);
          });
          ws.on("open", () => ws.terminate());
        });
      }),
    );

    it("`url` exposes the server url", () => {
      const ws = new WebSocket("ws://localhost", { agent: new CustomAgent() });
      assert.equal(ws.url, "ws://localhost/"); // ws 8: the URL's href
    });
  });

  describe("Events", () => {
    it(
      "emits an 'error' event if an error occurs",
      withDone((done) => {
        let closeEventCount = 0;
        const wss = server({}, (_wss, url) => {
          const ws = new WebSocket(url);
          ws.on("error", (err: Error & { code?: string }) => {
            assert.ok(err instanceof RangeError);
            assert.equal(err.code, "WS_ERR_INVALID_OPCODE");
            assert.equal(err.message, "Invalid WebSocket frame: invalid opcode 5");
            ws.on("close", (code, reason) => {
              assert.equal(code, 1006);
              assert.deepEqual(reason, Buffer.alloc(0));
              if (++closeEventCount === 2) wss.close(done);
            });
          });
        });
        wss.on("connection", (ws) => {
          ws.on("close", (code, reason) => {
            assert.equal(code, 1002);
            assert.deepEqual(reason, Buffer.alloc(0));
            if (++closeEventCount === 2) wss.close(done);
          });
          ws.connection!.socket.write(Buffer.from([0x85, 0x00]));
        });
      }),
    );

    it(
      "does not re-emit `net.Socket` errors",
      withDone((done) => {
        server({}, (wss, url) => {
          const ws = new WebSocket(url);
          ws.on("error", unexpected(done, "'error' event"));
          ws.on("open", () => {
            ws.on("close", (code, message) => {
              assert.deepEqual(message, Buffer.alloc(0));
              assert.equal(code, 1006);
              wss.close(done);
            });
            for (const client of wss.clients!) client.terminate();
            ws.send("foo");
            ws.send("bar");
          });
        });
      }),
    );

    it(
      "emits an 'upgrade' event",
      withDone((done) => {
        server({}, (wss, url) => {
          const ws = new WebSocket(url);
          ws.on("upgrade", (res) => {
            assert.ok(res instanceof http.IncomingMessage);
            ws.on("open", () => ws.close());
            wss.close(done);
          });
        });
      }),
    );

    it(
      "emits a 'ping' event",
      withDone((done) => {
        server({}, (wss, url) => {
          new WebSocket(url).on("ping", () => shutdown(wss, done));
        }).on("connection", (ws) => ws.ping());
      }),
    );

    it(
      "emits a 'pong' event",
      withDone((done) => {
        server({}, (wss, url) => {
          new WebSocket(url).on("pong", () => shutdown(wss, done));
        }).on("connection", (ws) => ws.pong());
      }),
    );
  });

  describe("Connection establishing", () => {
    it(
      "fails if the Sec-WebSocket-Accept header is invalid",
      withDone((done) => {
        rawServer((srv, url) => {
          srv.once("upgrade", (_req, socket: net.Socket) => {
            socket.on("end", socket.end);
            socket.write(
              "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
                "Sec-WebSocket-Accept: CxYS6+NgJSBG74mdgLvGscRvpns=\r\n\r\n",
            );
          });
          const ws = new WebSocket(url);
          ws.on("error", (err) => {
            assert.equal(err.message, "Invalid Sec-WebSocket-Accept header");
            srv.close(done);
          });
        });
      }),
    );

    it(
      "close event is raised when server closes connection",
      withDone((done) => {
        rawServer((srv, url) => {
          srv.once("upgrade", (req, socket: net.Socket) => {
            socket.resume();
            socket.end(
              "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
                `Sec-WebSocket-Accept: ${accept(req.headers["sec-websocket-key"]!)}\r\n\r\n`,
            );
          });
          const ws = new WebSocket(url);
          ws.on("close", (code, reason) => {
            assert.equal(code, 1006);
            assert.deepEqual(reason, Buffer.alloc(0));
            srv.close(done);
          });
        });
      }),
    );

    it(
      "error is emitted if server aborts connection",
      withDone((done) => {
        rawServer((srv, url) => {
          srv.once("upgrade", (_req, socket: net.Socket) => {
            socket.end(
              `HTTP/1.1 401 ${http.STATUS_CODES[401]}\r\nConnection: close\r\nContent-type: text/html\r\n` +
                `Content-Length: ${http.STATUS_CODES[401]!.length}\r\n\r\n`,
            );
          });
          const ws = new WebSocket(url);
          ws.on("open", unexpected(done, "'open' event"));
          ws.on("error", (err) => {
            assert.equal(err.message, "Unexpected server response: 401");
            srv.close(done);
          });
        });
      }),
    );

    it(
      "unexpected response can be read when sent by server",
      withDone((done) => {
        rawServer((srv, url) => {
          srv.once("upgrade", (_req, socket: net.Socket) => {
            socket.end(
              `HTTP/1.1 401 ${http.STATUS_CODES[401]}\r\nConnection: close\r\nContent-type: text/html\r\n` +
                "Content-Length: 3\r\n\r\nfoo",
            );
          });
          const ws = new WebSocket(url);
          ws.on("open", unexpected(done, "'open' event"));
          ws.on("error", unexpected(done, "'error' event"));
          ws.on("unexpected-response", (_req, res) => {
            assert.equal(res.statusCode, 401);
            let data = "";
            res.on("data", (v) => {
              data += v;
            });
            res.on("end", () => {
              assert.equal(data, "foo");
              srv.close(done);
            });
          });
        });
      }),
    );

    it(
      "request can be aborted when unexpected response is sent by server",
      withDone((done) => {
        rawServer((srv, url) => {
          srv.once("upgrade", (_req, socket: net.Socket) => {
            socket.end(
              `HTTP/1.1 401 ${http.STATUS_CODES[401]}\r\nConnection: close\r\nContent-type: text/html\r\n` +
                "Content-Length: 3\r\n\r\nfoo",
            );
          });
          const ws = new WebSocket(url);
          ws.on("open", unexpected(done, "'open' event"));
          ws.on("error", unexpected(done, "'error' event"));
          ws.on("unexpected-response", (req, res) => {
            assert.equal(res.statusCode, 401);
            res.on("end", () => srv.close(done));
            res.on("error", () => srv.close(done));
            res.on("aborted", () => srv.close(done));
            req.destroy();
            res.resume();
          });
        });
      }),
    );

    it(
      "fails if the opening handshake timeout expires",
      withDone((done) => {
        rawServer((srv, url) => {
          srv.once("upgrade", (_req, socket: net.Socket) => socket.on("end", socket.end));
          const ws = new WebSocket(url, undefined, { handshakeTimeout: 100 });
          ws.on("open", unexpected(done, "'open' event"));
          ws.on("error", (err) => {
            assert.equal(err.message, "Opening handshake has timed out");
            srv.close(done);
          });
        });
      }),
    );

    it(
      "fails if the Sec-WebSocket-Extensions response header is invalid",
      withDone((done) => {
        rawServer((srv, url) => {
          srv.once("upgrade", (req, socket: net.Socket) => {
            socket.end(
              "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
                `Sec-WebSocket-Accept: ${accept(req.headers["sec-websocket-key"]!)}\r\n` +
                "Sec-WebSocket-Extensions: foo;=\r\n\r\n",
            );
          });
          const ws = new WebSocket(url);
          ws.on("open", unexpected(done, "'open' event"));
          ws.on("error", (err) => {
            assert.equal(err.message, "Invalid Sec-WebSocket-Extensions header");
            ws.on("close", () => srv.close(done));
          });
        });
      }),
    );

    it(
      "fails if server sends a subprotocol when none was requested",
      withDone((done) => {
        rawServer((srv, url) => {
          const wss = new WebSocketServer({ server: srv });
          wss.on("headers", (headers) => headers.push("Sec-WebSocket-Protocol: foo"));
          const ws = new WebSocket(url);
          ws.on("open", unexpected(done, "'open' event"));
          ws.on("error", (err) => {
            assert.equal(err.message, "Server sent a subprotocol but none was requested");
            ws.on("close", () => wss.close(() => srv.close(done)));
          });
        });
      }),
    );

    it(
      "fails if server sends an invalid subprotocol",
      withDone((done) => {
        rawServer((srv, url) => {
          const wss = new WebSocketServer({ handleProtocols: () => "baz", server: srv });
          const ws = new WebSocket(url, ["foo", "bar"]);
          ws.on("open", unexpected(done, "'open' event"));
          ws.on("error", (err) => {
            assert.equal(err.message, "Server sent an invalid subprotocol");
            ws.on("close", () => wss.close(() => srv.close(done)));
          });
        });
      }),
    );

    it(
      "fails if server sends no subprotocol",
      withDone((done) => {
        rawServer((srv, url) => {
          const wss = new WebSocketServer({ handleProtocols: () => false, server: srv });
          const ws = new WebSocket(url, ["foo", "bar"]);
          ws.on("open", unexpected(done, "'open' event"));
          ws.on("error", (err) => {
            assert.equal(err.message, "Server sent no subprotocol");
            ws.on("close", () => wss.close(() => srv.close(done)));
          });
        });
      }),
    );

    it(
      "does not follow redirects by default",
      withDone((done) => {
        rawServer((srv, url) => {
          srv.once("upgrade", (_req, socket: net.Socket) => {
            socket.end("HTTP/1.1 301 Moved Permanently\r\nLocation: ws://localhost:8080\r\n\r\n");
          });
          const ws = new WebSocket(url);
          ws.on("open", unexpected(done, "'open' event"));
          ws.on("error", (err) => {
            assert.equal(err.message, "Unexpected server response: 301");
            ws.on("close", () => srv.close(done));
          });
        });
      }),
    );

    it(
      "honors the `followRedirects` option",
      withDone((done) => {
        rawServer((srv, url) => {
          const wss = new WebSocketServer({ noServer: true, path: "/foo" });
          srv.once("upgrade", (_req, socket: net.Socket) => {
            socket.end("HTTP/1.1 302 Found\r\nLocation: /foo\r\n\r\n");
            srv.once("upgrade", (req, sock, head) => wss.handleUpgrade(req, sock, head, NOOP));
          });
          const redirects: string[] = [];
          const ws = new WebSocket(url, { followRedirects: true });
          ws.on("redirect", (to) => redirects.push(to));
          ws.on("open", () => {
            assert.equal(ws.url, `${url}/foo`);
            assert.deepEqual(redirects, [`${url}/foo`]);
            ws.on("close", () => srv.close(done));
            ws.close();
          });
        });
      }),
    );

    it(
      "honors the `maxRedirects` option",
      withDone((done) => {
        rawServer((srv, url) => {
          const onUpgrade = (_req: http.IncomingMessage, socket: net.Socket): void => {
            socket.end("HTTP/1.1 302 Found\r\nLocation: /\r\n\r\n");
          };
          srv.on("upgrade", onUpgrade);
          const ws = new WebSocket(url, { followRedirects: true, maxRedirects: 1 });
          ws.on("open", unexpected(done, "'open' event"));
          ws.on("error", (err) => {
            assert.equal(err.message, "Maximum redirects exceeded");
            srv.removeListener("upgrade", onUpgrade);
            ws.on("close", () => srv.close(done));
          });
        });
      }),
    );
  });

  describe("Connection with query string", () => {
    it(
      "connects when pathname is not null",
      withDone((done) => {
        server({}, (wss, url) => {
          new WebSocket(`${url}/?token=qwerty`).on("open", function (this: WS) {
            this.close();
            wss.close(done);
          });
        });
      }),
    );

    it(
      "connects when pathname is null",
      withDone((done) => {
        server({}, (wss, url) => {
          new WebSocket(`${url}?token=qwerty`).on("open", function (this: WS) {
            this.close();
            wss.close(done);
          });
        });
      }),
    );
  });

  for (const method of ["ping", "pong"] as const) {
    describe(`#${method}`, () => {
      it("throws an error if `readyState` is `CONNECTING`", () => {
        const ws = new WebSocket("ws://localhost", { lookup() {} });
        assert.throws(() => ws[method](), /^Error: WebSocket is not open: readyState 0 \(CONNECTING\)$/);
        assert.throws(() => ws[method](NOOP), /^Error: WebSocket is not open: readyState 0 \(CONNECTING\)$/);
        ws.on("error", NOOP);
        ws.terminate();
      });

      it(
        "increases `bufferedAmount` if `readyState` is 2 or 3",
        withDone((done) => {
          const ws = new WebSocket("ws://localhost", { lookup() {} });
          ws.on("error", (err) => {
            assert.equal(err.message, "WebSocket was closed before the connection was established");
            assert.equal(ws.readyState, WebSocket.CLOSING);
            assert.equal(ws.bufferedAmount, 0);
            ws[method]("hi");
            assert.equal(ws.bufferedAmount, 2);
            ws[method]();
            assert.equal(ws.bufferedAmount, 2);
            ws.on("close", () => {
              assert.equal(ws.readyState, WebSocket.CLOSED);
              ws[method]("hi");
              assert.equal(ws.bufferedAmount, 4);
              ws[method]();
              assert.equal(ws.bufferedAmount, 4);
              done();
            });
          });
          ws.close();
        }),
      );

      it(
        "calls the callback w/ an error if `readyState` is 2 or 3",
        withDone((done) => {
          server({}, (_wss, url) => {
            new WebSocket(url).on("error", NOOP);
          }).on("connection", function (this: WebSocketServer, ws) {
            ws.close();
            assert.equal(ws.bufferedAmount, 0);
            ws[method]("hi", (err) => {
              assert.ok(err instanceof Error);
              assert.equal(err.message, "WebSocket is not open: readyState 2 (CLOSING)");
              assert.equal(ws.bufferedAmount, 2);
              ws.on("close", () => {
                ws[method]((err2) => {
                  assert.ok(err2 instanceof Error);
                  assert.equal(err2.message, "WebSocket is not open: readyState 3 (CLOSED)");
                  assert.equal(ws.bufferedAmount, 2);
                  this.close(done);
                });
              });
            });
          });
        }),
      );

      it(
        `can send a ${method} with no data`,
        withDone((done) => {
          server({}, (_wss, url) => {
            const ws = new WebSocket(url);
            ws.on("open", () => ws[method](() => ws[method]()));
          }).on("connection", function (this: WebSocketServer, ws) {
            let count = 0;
            ws.on(method, (data) => {
              assert.ok(Buffer.isBuffer(data));
              assert.equal(data.length, 0);
              if (++count === 2) shutdown(this, done);
            });
          });
        }),
      );

      it(
        `can send a ${method} with data`,
        withDone((done) => {
          server({}, (_wss, url) => {
            const ws = new WebSocket(url);
            ws.on("open", () => ws[method]("hi", () => ws[method]("hi", true)));
          }).on("connection", function (this: WebSocketServer, ws) {
            let count = 0;
            ws.on(method, (message) => {
              assert.equal(message.toString(), "hi");
              if (++count === 2) shutdown(this, done);
            });
          });
        }),
      );

      it(
        `can send numbers as ${method} payload`,
        withDone((done) => {
          server({}, (_wss, url) => {
            const ws = new WebSocket(url);
            ws.on("open", () => ws[method](0));
          }).on("connection", function (this: WebSocketServer, ws) {
            ws.on(method, (message) => {
              assert.equal(message.toString(), "0");
              shutdown(this, done);
            });
          });
        }),
      );

      it(
        "throws an error if the data size is greater than 125 bytes",
        withDone((done) => {
          server({}, (wss, url) => {
            const ws = new WebSocket(url);
            ws.on("open", () => {
              assert.throws(
                () => ws[method](Buffer.alloc(126)),
                /^RangeError: The data size must not be greater than 125 bytes$/,
              );
              ws.close();
              wss.close(done);
            });
          });
        }),
      );
    });
  }

  describe("#send", () => {
    it("throws an error if `readyState` is `CONNECTING`", () => {
      const ws = new WebSocket("ws://localhost", { lookup() {} });
      assert.throws(() => ws.send("hi"), /^Error: WebSocket is not open: readyState 0 \(CONNECTING\)$/);
      assert.throws(() => ws.send("hi", NOOP), /^Error: WebSocket is not open: readyState 0 \(CONNECTING\)$/);
      ws.on("error", NOOP);
      ws.terminate();
    });

    it(
      "increases `bufferedAmount` if `readyState` is 2 or 3",
      withDone((done) => {
        const ws = new WebSocket("ws://localhost", { lookup() {} });
        ws.on("error", (err) => {
          assert.equal(err.message, "WebSocket was closed before the connection was established");
          assert.equal(ws.readyState, WebSocket.CLOSING);
          assert.equal(ws.bufferedAmount, 0);
          ws.send("hi");
          assert.equal(ws.bufferedAmount, 2);
          (ws.send as () => void)();
          assert.equal(ws.bufferedAmount, 2);
          ws.on("close", () => {
            assert.equal(ws.readyState, WebSocket.CLOSED);
            ws.send("hi");
            assert.equal(ws.bufferedAmount, 4);
            (ws.send as () => void)();
            assert.equal(ws.bufferedAmount, 4);
            done();
          });
        });
        ws.close();
      }),
    );

    it(
      "calls the callback w/ an error if `readyState` is 2 or 3",
      withDone((done) => {
        server({}, (_wss, url) => {
          new WebSocket(url).on("error", NOOP);
        }).on("connection", function (this: WebSocketServer, ws) {
          ws.close();
          assert.equal(ws.bufferedAmount, 0);
          ws.send("hi", (err) => {
            assert.ok(err instanceof Error);
            assert.equal(err.message, "WebSocket is not open: readyState 2 (CLOSING)");
            assert.equal(ws.bufferedAmount, 2);
            ws.on("close", () => {
              ws.send("hi", (err2) => {
                assert.ok(err2 instanceof Error);
                assert.equal(err2.message, "WebSocket is not open: readyState 3 (CLOSED)");
                assert.equal(ws.bufferedAmount, 4);
                this.close(done);
              });
            });
          });
        });
      }),
    );

    /** Echo server: the client sends `payload` once open, `check` gets what comes back. */
    const echo = (
      name: string,
      send: (ws: WS) => void,
      check: (message: Buffer, isBinary: boolean) => void,
      options: { server?: Record<string, unknown>; client?: Record<string, unknown>; compress?: boolean } = {},
    ) =>
      it(
        name,
        withDone((done) => {
          server(options.server ?? {}, (wss, url) => {
            const ws = new WebSocket(url, options.client ?? {});
            ws.on("open", () => send(ws));
            ws.once("message", (message, isBinary) => {
              check(message as Buffer, isBinary);
              ws.close();
              wss.close(done);
            });
          }).on("connection", (ws) => {
            ws.on("message", (msg, isBinary) =>
              ws.send(msg as Buffer, { binary: isBinary, compress: options.compress }),
            );
          });
        }),
      );

    const big = new Float32Array(5 * 1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = i / 5;
    echo(
      "can send a big binary message",
      (ws) => ws.send(big, { compress: false }),
      (msg) => assert.ok(msg.equals(Buffer.from(big.buffer))),
      { compress: false },
    );

    echo(
      "can send text data",
      (ws) => ws.send("hi"),
      (msg, isBinary) => {
        assert.deepEqual(msg, Buffer.from("hi"));
        assert.equal(isBinary, false);
      },
    );

    it(
      "does not override the `fin` option",
      withDone((done) => {
        server({}, (_wss, url) => {
          const ws = new WebSocket(url);
          ws.on("open", () => {
            ws.send("fragment", { fin: false });
            ws.send("fragment", { fin: true });
          });
        }).on("connection", function (this: WebSocketServer, ws) {
          ws.on("message", (msg, isBinary) => {
            assert.deepEqual(msg, Buffer.from("fragmentfragment"));
            assert.equal(isBinary, false);
            this.close(done);
            for (const c of this.clients ?? []) c.terminate();
          });
        });
      }),
    );

    echo(
      "sends numbers as strings",
      (ws) => ws.send(0),
      (msg, isBinary) => {
        assert.deepEqual(msg, Buffer.from("0"));
        assert.equal(isBinary, false);
      },
    );

    const array = new Float32Array(6);
    for (let i = 0; i < array.length; ++i) array[i] = i / 2;
    const partial = array.subarray(2, 5);
    echo(
      "can send binary data as an array",
      (ws) => ws.send(partial),
      (msg) => assert.ok(msg.equals(Buffer.from(partial.buffer, partial.byteOffset, partial.byteLength))),
    );

    echo(
      "can send binary data as a buffer",
      (ws) => ws.send(Buffer.from("foobar")),
      (msg) => assert.ok(msg.equals(Buffer.from("foobar"))),
    );

    const five = new Float32Array(5);
    for (let i = 0; i < five.length; ++i) five[i] = i / 2;
    echo(
      "can send an `ArrayBuffer`",
      (ws) => ws.send(five.buffer),
      (msg) => assert.ok(msg.equals(Buffer.from(five.buffer))),
    );

    echo(
      "can send a `Blob`",
      (ws) => {
        ws.send(new Blob(["foo"]));
        ws.send("bar"); // queued behind the Blob: order is kept
      },
      (msg) => assert.deepEqual(msg, Buffer.from("foo")),
    );

    it(
      "calls the callback when data is written out",
      withDone((done) => {
        server({}, (wss, url) => {
          const ws = new WebSocket(url);
          ws.on("open", () => {
            ws.send("hi", (err) => {
              assert.ifError(err);
              ws.close();
              wss.close(done);
            });
          });
        });
      }),
    );

    it(
      "works when the `data` argument is falsy",
      withDone((done) => {
        server({}, (_wss, url) => {
          const ws = new WebSocket(url);
          ws.on("open", () => (ws.send as () => void)());
        }).on("connection", function (this: WebSocketServer, ws) {
          ws.on("message", (message) => {
            assert.ok((message as Buffer).equals(Buffer.alloc(0)));
            ws.terminate();
            this.close(done);
          });
        });
      }),
    );
  });

  describe("#close", () => {
    it(
      "closes the connection if called while connecting (1/3)",
      withDone((done) => {
        server({}, (wss, url) => {
          const ws = new WebSocket(url);
          ws.on("open", unexpected(done, "'open' event"));
          ws.on("error", (err) => {
            assert.equal(err.message, "WebSocket was closed before the connection was established");
            ws.on("close", () => wss.close(done));
          });
          ws.close(1001);
        });
      }),
    );

    it(
      "closes the connection if called while connecting (2/3)",
      withDone((done) => {
        server({ verifyClient: (_info, cb) => setTimeout(cb, 300, true) }, (wss, url) => {
          const ws = new WebSocket(url);
          ws.on("open", unexpected(done, "'open' event"));
          ws.on("error", (err) => {
            assert.equal(err.message, "WebSocket was closed before the connection was established");
            ws.on("close", () => wss.close(done));
          });
          setTimeout(() => ws.close(1001), 150);
        });
      }),
    );

    it(
      "closes the connection if called while connecting (3/3)",
      withDone((done) => {
        rawServer((srv, url) => {
          srv.on("upgrade", (_req, socket: net.Socket) => {
            socket.on("end", socket.end);
            socket.write(
              `HTTP/1.1 502 ${http.STATUS_CODES[502]}\r\nConnection: keep-alive\r\nContent-type: text/html\r\n` +
                "Content-Length: 3\r\n\r\nfoo",
            );
          });
          const ws = new WebSocket(url);
          ws.on("open", unexpected(done, "'open' event"));
          ws.on("error", (err) => {
            assert.equal(err.message, "WebSocket was closed before the connection was established");
            ws.on("close", () => srv.close(done));
          });
          ws.on("unexpected-response", (_req, res) => {
            assert.equal(res.statusCode, 502);
            const chunks: Buffer[] = [];
            res.on("data", (chunk) => chunks.push(chunk));
            res.on("end", () => {
              assert.equal(Buffer.concat(chunks).toString(), "foo");
              ws.close();
            });
          });
        });
      }),
    );

    it(
      "can be called from an error listener while connecting",
      withDone((done) => {
        rawServer((srv, url) => {
          srv.close(() => {
            const ws = new WebSocket(url);
            ws.on("open", unexpected(done, "'open' event"));
            ws.on("error", (err: Error & { code?: string }) => {
              assert.equal(err.code, "ECONNREFUSED");
              ws.close();
              ws.on("close", () => done());
            });
          });
        });
      }),
    );

    it(
      "can be called from a listener of the 'upgrade' event",
      withDone((done) => {
        server({}, (wss, url) => {
          const ws = new WebSocket(url);
          ws.on("open", unexpected(done, "'open' event"));
          ws.on("error", (err) => {
            assert.equal(err.message, "WebSocket was closed before the connection was established");
            ws.on("close", () => wss.close(done));
          });
          ws.on("upgrade", () => ws.close());
        });
      }),
    );

    for (const [name, args, pattern] of [
      [
        "throws an error if the first argument is invalid (1/2)",
        ["error"],
        /^TypeError: First argument must be a valid error code number$/,
      ],
      [
        "throws an error if the first argument is invalid (2/2)",
        [1004],
        /^TypeError: First argument must be a valid error code number$/,
      ],
      [
        "throws an error if the message is greater than 123 bytes",
        [1000, "a".repeat(124)],
        /^RangeError: The message must not be greater than 123 bytes$/,
      ],
    ] as const) {
      it(
        name,
        withDone((done) => {
          server({}, (wss, url) => {
            const ws = new WebSocket(url);
            ws.on("open", () => {
              assert.throws(() => (ws.close as (...a: unknown[]) => void)(...args), pattern);
              ws.close();
              wss.close(done);
            });
          });
        }),
      );
    }

    it(
      "sends the close status code only when necessary",
      withDone((done) => {
        let sent: Buffer | undefined;
        server({}, (_wss, url) => {
          const ws = new WebSocket(url);
          ws.on("open", () => {
            ws.connection!.socket.once("data", (data: Buffer) => {
              sent = data;
            });
          });
        }).on("connection", function (this: WebSocketServer, ws) {
          ws.connection!.socket.once("data", (received: Buffer) => {
            assert.ok(received.subarray(0, 2).equals(Buffer.from([0x88, 0x80])));
            assert.ok(sent!.equals(Buffer.from([0x88, 0x00])));
            ws.on("close", (code, reason) => {
              assert.equal(code, 1005);
              assert.deepEqual(reason, Buffer.alloc(0));
              this.close(done);
            });
          });
          ws.close();
        });
      }),
    );

    it(
      "works when close reason is not specified",
      withDone((done) => {
        server({}, (_wss, url) => {
          const ws = new WebSocket(url);
          ws.on("open", () => ws.close(1000));
        }).on("connection", function (this: WebSocketServer, ws) {
          ws.on("close", (code, message) => {
            assert.deepEqual(message, Buffer.alloc(0));
            assert.equal(code, 1000);
            this.close(done);
          });
        });
      }),
    );

    it(
      "works when close reason is specified",
      withDone((done) => {
        server({}, (_wss, url) => {
          const ws = new WebSocket(url);
          ws.on("open", () => ws.close(1000, "some reason"));
        }).on("connection", function (this: WebSocketServer, ws) {
          ws.on("close", (code, message) => {
            assert.deepEqual(message, Buffer.from("some reason"));
            assert.equal(code, 1000);
            this.close(done);
          });
        });
      }),
    );

    it(
      "permits all buffered data to be delivered",
      withDone((done) => {
        server({ perMessageDeflate: { threshold: 0 } }, (wss, url) => {
          const ws = new WebSocket(url);
          const messages: string[] = [];
          ws.on("message", (message) => messages.push(String(message)));
          ws.on("close", (code) => {
            assert.equal(code, 1005);
            assert.deepEqual(messages, ["foo", "bar", "baz"]);
            wss.close(done);
          });
        }).on("connection", (ws) => {
          const callback = (err?: Error | null): void => assert.ifError(err);
          ws.send("foo", callback);
          ws.send("bar", callback);
          ws.send("baz", callback);
          ws.close();
          ws.close();
        });
      }),
    );

    for (const code of [1013, 1014]) {
      it(
        `allows close code ${code}`,
        withDone((done) => {
          server({}, (wss, url) => {
            new WebSocket(url).on("close", (c) => {
              assert.equal(c, code);
              wss.close(done);
            });
          }).on("connection", (ws) => ws.close(code));
        }),
      );
    }

    it(
      "does nothing if `readyState` is `CLOSED`",
      withDone((done) => {
        server({}, (wss, url) => {
          const ws = new WebSocket(url);
          ws.on("close", (code) => {
            assert.equal(code, 1005);
            assert.equal(ws.readyState, WebSocket.CLOSED);
            ws.close();
            wss.close(done);
          });
        }).on("connection", (ws) => ws.close());
      }),
    );

    it(
      "completes the closing handshake: close(code, reason) comes back with both",
      withDone((done) => {
        server({}, (wss, url) => {
          const ws = new WebSocket(url);
          ws.on("close", (code, reason) => {
            assert.equal(code, 1000);
            assert.deepEqual(reason, Buffer.from("some reason"));
            wss.close(done);
          });
          ws.on("open", () => {
            ws.send("foo", NOOP);
            ws.close(1000, "some reason");
          });
        });
      }),
    );
  });

  describe("#terminate", () => {
    it(
      "closes the connection if called while connecting (1/2)",
      withDone((done) => {
        server({}, (wss, url) => {
          const ws = new WebSocket(url);
          ws.on("open", unexpected(done, "'open' event"));
          ws.on("error", (err) => {
            assert.equal(err.message, "WebSocket was closed before the connection was established");
            ws.on("close", () => wss.close(done));
          });
          ws.terminate();
        });
      }),
    );

    it(
      "closes the connection if called while connecting (2/2)",
      withDone((done) => {
        server({ verifyClient: (_info, cb) => setTimeout(cb, 300, true) }, (wss, url) => {
          const ws = new WebSocket(url);
          ws.on("open", unexpected(done, "'open' event"));
          ws.on("error", (err) => {
            assert.equal(err.message, "WebSocket was closed before the connection was established");
            ws.on("close", () => wss.close(done));
          });
          setTimeout(() => ws.terminate(), 150);
        });
      }),
    );

    it(
      "can be called from a listener of the 'upgrade' event",
      withDone((done) => {
        server({}, (wss, url) => {
          const ws = new WebSocket(url);
          ws.on("open", unexpected(done, "'open' event"));
          ws.on("error", (err) => {
            assert.equal(err.message, "WebSocket was closed before the connection was established");
            ws.on("close", () => wss.close(done));
          });
          ws.on("upgrade", () => ws.terminate());
        });
      }),
    );

    it(
      "does nothing if `readyState` is `CLOSED`",
      withDone((done) => {
        server({}, (wss, url) => {
          const ws = new WebSocket(url);
          ws.on("close", (code) => {
            assert.equal(code, 1006);
            assert.equal(ws.readyState, WebSocket.CLOSED);
            ws.terminate();
            wss.close(done);
          });
        }).on("connection", (ws) => ws.terminate());
      }),
    );
  });

  describe("WHATWG API emulation", () => {
    it("supports the `on{close,error,message,open}` attributes", () => {
      for (const property of ["onclose", "onerror", "onmessage", "onopen"]) {
        const descriptor = Object.getOwnPropertyDescriptor(WebSocket.prototype, property)!;
        assert.equal(descriptor.configurable, true);
        assert.equal(descriptor.enumerable, true);
        assert.ok(descriptor.get !== undefined);
        assert.ok(descriptor.set !== undefined);
      }
      const ws = new WebSocket("ws://localhost", { agent: new CustomAgent() });
      assert.equal(ws.onmessage, null);
      assert.equal(ws.onclose, null);
      assert.equal(ws.onerror, null);
      assert.equal(ws.onopen, null);
      ws.onmessage = NOOP;
      ws.onerror = NOOP;
      ws.onclose = NOOP;
      ws.onopen = NOOP;
      assert.equal(ws.onmessage, NOOP);
      assert.equal(ws.onclose, NOOP);
      assert.equal(ws.onerror, NOOP);
      assert.equal(ws.onopen, NOOP);
    });

    it(
      "works like the `EventEmitter` interface",
      withDone((done) => {
        server({}, (wss, url) => {
          const ws = new WebSocket(url);
          ws.onmessage = (messageEvent) => {
            assert.equal(messageEvent.data, "foo");
            ws.onclose = (closeEvent) => {
              assert.equal(closeEvent.wasClean, true);
              assert.equal(closeEvent.code, 1005);
              assert.equal(closeEvent.reason, "");
              wss.close(done);
            };
            ws.close();
          };
          ws.onopen = () => ws.send("foo");
        }).on("connection", (ws) => ws.on("message", (msg, isBinary) => ws.send(msg as Buffer, { binary: isBinary })));
      }),
    );

    it("doesn't return listeners added with `on`", () => {
      const ws = new WebSocket("ws://localhost", { agent: new CustomAgent() });
      ws.on("open", NOOP);
      assert.deepEqual(ws.listeners("open"), [NOOP]);
      assert.equal(ws.onopen, null);
    });

    it("doesn't remove listeners added with `on`", () => {
      const ws = new WebSocket("ws://localhost", { agent: new CustomAgent() });
      ws.on("close", NOOP);
      ws.onclose = NOOP;
      let listeners = ws.listeners("close");
      assert.equal(listeners.length, 2);
      assert.equal(listeners[0], NOOP);
      ws.onclose = NOOP;
      listeners = ws.listeners("close");
      assert.equal(listeners.length, 2);
      assert.equal(listeners[0], NOOP);
    });

    it("ignores events other than open, message, close and error with `addEventListener`", () => {
      const ws = new WebSocket("ws://localhost", { agent: new CustomAgent() });
      ws.addEventListener("foo", NOOP);
      assert.equal(ws.listenerCount("foo"), 0);
    });

    it("supports the `removeEventListener` method and `once`", () => {
      const ws = new WebSocket("ws://localhost", { agent: new CustomAgent() });
      ws.addEventListener("message", NOOP);
      ws.addEventListener("open", NOOP);
      ws.addEventListener("open", NOOP); // a second time: kept once
      assert.equal(ws.listenerCount("open"), 1);
      ws.removeEventListener("message", () => {});
      assert.equal(ws.listenerCount("message"), 1);
      ws.removeEventListener("message", NOOP);
      ws.removeEventListener("open", NOOP);
      assert.equal(ws.listenerCount("message"), 0);
      assert.equal(ws.listenerCount("open"), 0);
      ws.addEventListener("message", NOOP, { once: true });
      ws.addEventListener("open", NOOP, { once: true });
      ws.emit("open");
      assert.equal(ws.listenerCount("open"), 0);
      ws.removeEventListener("message", NOOP);
      assert.equal(ws.listenerCount("message"), 0);
    });

    it(
      "wraps text data in a `MessageEvent`",
      withDone((done) => {
        server({}, (wss, url) => {
          const ws = new WebSocket(url);
          ws.addEventListener("open", () => ws.send("hi"));
          ws.addEventListener("message", (messageEvent: { data: unknown }) => {
            assert.equal(messageEvent.data, "hi");
            ws.close();
            wss.close(done);
          });
        }).on("connection", (ws) => ws.on("message", (msg, isBinary) => ws.send(msg as Buffer, { binary: isBinary })));
      }),
    );

    for (const [code, reason] of [
      [1000, ""],
      [4000, "some daft reason"],
    ] as const) {
      it(
        `receives a \`CloseEvent\` when server closes (${code})`,
        withDone((done) => {
          server({}, (wss, url) => {
            const ws = new WebSocket(url);
            ws.addEventListener("close", (closeEvent: { wasClean: boolean; code: number; reason: string }) => {
              assert.ok(closeEvent.wasClean);
              assert.equal(closeEvent.reason, reason);
              assert.equal(closeEvent.code, code);
              wss.close(done);
            });
          }).on("connection", (ws) => ws.close(code, reason));
        }),
      );
    }

    it(
      "sets `target` and `type` on events",
      withDone((done) => {
        server({}, (wss, url) => {
          const err = new Error("forced");
          const ws = new WebSocket(url);
          ws.addEventListener("open", (openEvent: { type: string; target: unknown }) => {
            assert.equal(openEvent.type, "open");
            assert.equal(openEvent.target, ws);
          });
          ws.addEventListener("message", (messageEvent: { type: string; target: unknown }) => {
            assert.equal(messageEvent.type, "message");
            assert.equal(messageEvent.target, ws);
            ws.close();
            wss.close();
          });
          ws.addEventListener("close", (closeEvent: { type: string; target: unknown }) => {
            assert.equal(closeEvent.type, "close");
            assert.equal(closeEvent.target, ws);
            ws.emit("error", err);
          });
          ws.addEventListener(
            "error",
            (errorEvent: { message: string; type: string; target: unknown; error: unknown }) => {
              assert.equal(errorEvent.message, "forced");
              assert.equal(errorEvent.type, "error");
              assert.equal(errorEvent.target, ws);
              assert.equal(errorEvent.error, err);
              done();
            },
          );
        }).on("connection", (client) => client.send("hi"));
      }),
    );

    it(
      "passes binary data as a Node.js `Buffer` by default",
      withDone((done) => {
        server({}, (wss, url) => {
          const ws = new WebSocket(url);
          ws.onmessage = (evt) => {
            assert.ok(Buffer.isBuffer(evt.data));
            ws.close();
            wss.close(done);
          };
        }).on("connection", (ws) => ws.send(new Uint8Array(4096)));
      }),
    );

    it(
      "ignores `binaryType` for text messages",
      withDone((done) => {
        server({}, (wss, url) => {
          const ws = new WebSocket(url);
          ws.binaryType = "arraybuffer";
          ws.onmessage = (evt) => {
            assert.equal(evt.data, "foo");
            ws.close();
            wss.close(done);
          };
        }).on("connection", (ws) => ws.send("foo"));
      }),
    );

    it(
      "allows to update `binaryType` on the fly",
      withDone((done) => {
        server({}, (wss, url) => {
          const ws = new WebSocket(url);
          const testType = (
            binaryType: "nodebuffer" | "arraybuffer" | "fragments" | "blob",
            next: () => void,
          ): void => {
            const buf = Buffer.from(binaryType);
            ws.binaryType = binaryType;
            ws.onmessage = (evt) => {
              if (binaryType === "nodebuffer") {
                assert.ok(Buffer.isBuffer(evt.data));
                assert.ok(evt.data.equals(buf));
              } else if (binaryType === "arraybuffer") {
                assert.ok(evt.data instanceof ArrayBuffer);
                assert.ok(Buffer.from(evt.data).equals(buf));
              } else if (binaryType === "fragments") {
                assert.deepEqual(evt.data, [buf]);
              } else {
                assert.ok(evt.data instanceof Blob);
              }
              next();
            };
            ws.send(buf);
          };
          ws.onopen = () => {
            testType("nodebuffer", () =>
              testType("arraybuffer", () =>
                testType("fragments", () =>
                  testType("blob", () => {
                    ws.close();
                    wss.close(done);
                  }),
                ),
              ),
            );
          };
        }).on("connection", (ws) => ws.on("message", (msg, isBinary) => ws.send(msg as Buffer, { binary: isBinary })));
      }),
    );
  });

  describe("Request headers", () => {
    const header = (name: string, expected: string | undefined, url: string, options: Record<string, unknown> = {}) =>
      withDone((done) => {
        const agent = agentWith((req) => {
          assert.equal(req.getHeader(name), expected);
          done();
        });
        new WebSocket(url, { agent, ...options });
      });

    it(
      "adds the authorization header if the url has userinfo",
      header(
        "authorization",
        `Basic ${Buffer.from("test:testpass").toString("base64")}`,
        "ws://test:testpass@localhost",
      ),
    );
    it(
      "honors the `auth` option",
      header("authorization", `Basic ${Buffer.from("user:pass").toString("base64")}`, "ws://localhost", {
        auth: "user:pass",
      }),
    );
    it(
      "favors the url userinfo over the `auth` option",
      header("authorization", `Basic ${Buffer.from("baz:qux").toString("base64")}`, "ws://baz:qux@localhost", {
        auth: "foo:bar",
      }),
    );
    it("adds custom headers", header("cookie", "foo=bar", "ws://localhost", { headers: { Cookie: "foo=bar" } }));
    it("doesn't add the origin header by default", header("origin", undefined, "ws://localhost"));
    it(
      "honors the `origin` option (1/2)",
      header("origin", "https://example.com:8000", "ws://localhost", { origin: "https://example.com:8000" }),
    );
    it(
      "honors the `origin` option (2/2)",
      header("sec-websocket-origin", "https://example.com:8000", "ws://localhost", {
        origin: "https://example.com:8000",
        protocolVersion: 8,
      }),
    );
  });

  describe("permessage-deflate", () => {
    it(
      "is enabled by default",
      withDone((done) => {
        const agent = agentWith((req) => {
          assert.equal(req.getHeader("sec-websocket-extensions"), "permessage-deflate; client_max_window_bits");
          done();
        });
        new WebSocket("ws://localhost", { agent });
      }),
    );

    it(
      "can be disabled",
      withDone((done) => {
        const agent = agentWith((req) => {
          assert.equal(req.getHeader("sec-websocket-extensions"), undefined);
          done();
        });
        new WebSocket("ws://localhost", { perMessageDeflate: false, agent });
      }),
    );

    const compressed = (name: string, payload: string | Float32Array | ArrayBuffer, expected: Buffer) =>
      it(
        name,
        withDone((done) => {
          server({ perMessageDeflate: { threshold: 0 } }, (wss, url) => {
            const ws = new WebSocket(url, { perMessageDeflate: { threshold: 0 } });
            ws.on("open", () => ws.send(payload, { compress: true }));
            ws.on("message", (message) => {
              assert.ok((message as Buffer).equals(expected));
              ws.close();
              wss.close(done);
            });
          }).on("connection", (ws) =>
            ws.on("message", (message, isBinary) => ws.send(message as Buffer, { binary: isBinary, compress: true })),
          );
        }),
      );
    const floats = new Float32Array(5);
    for (let i = 0; i < floats.length; i++) floats[i] = i / 2;
    compressed("can send and receive text data", "hi", Buffer.from("hi"));
    compressed("can send and receive a `TypedArray`", floats, Buffer.from(floats.buffer));
    compressed("can send and receive an `ArrayBuffer`", floats.buffer, Buffer.from(floats.buffer));

    it(
      "consumes all received data when connection is closed abnormally",
      withDone((done) => {
        server({ perMessageDeflate: { threshold: 0 } }, (wss, url) => {
          const ws = new WebSocket(url);
          const messages: string[] = [];
          ws.on("message", (message) => messages.push(String(message)));
          ws.on("close", (code) => {
            assert.equal(code, 1006);
            assert.deepEqual(messages, ["foo", "bar", "baz", "qux"]);
            wss.close(done);
          });
        }).on("connection", (ws) => {
          ws.send("foo");
          ws.send("bar");
          ws.send("baz");
          ws.send("qux", () => ws.terminate());
        });
      }),
    );

    it(
      "ignores the `compress` option if the extension is disabled",
      withDone((done) => {
        server({}, (wss, url) => {
          const ws = new WebSocket(url, { perMessageDeflate: false });
          ws.on("open", () => ws.send("hi", { compress: true }));
          ws.on("message", (message) => {
            assert.deepEqual(message, Buffer.from("hi"));
            ws.close();
            wss.close(done);
          });
        }).on("connection", (ws) => ws.on("message", (message) => ws.send(message as Buffer, { compress: true })));
      }),
    );
  });

  describe("Connection close edge cases", () => {
    it(
      "cleanly shuts down after parsing errors",
      withDone((done) => {
        let clientClosedCleanly = false;
        let serverClosedCleanly = false;
        server({}, (wss, url) => {
          const ws = new WebSocket(url);
          ws.on("open", () => ws.connection!.socket.on("error", (err) => done(err)));
          ws.on("error", (err: Error & { code?: string }) => {
            assert.ok(err instanceof RangeError);
            assert.equal(err.code, "WS_ERR_INVALID_OPCODE");
            ws.on("close", (code, reason) => {
              assert.equal(code, 1006);
              assert.deepEqual(reason, Buffer.alloc(0));
              clientClosedCleanly = true;
              if (serverClosedCleanly) wss.close(done);
            });
          });
        }).on("connection", function (this: WebSocketServer, ws) {
          ws.connection!.socket.on("error", (err) => done(err));
          ws.on("close", (code, reason) => {
            assert.equal(code, 1002);
            assert.deepEqual(reason, Buffer.alloc(0));
            serverClosedCleanly = true;
            if (clientClosedCleanly) this.close(done);
          });
          ws.connection!.socket.write(Buffer.from([0x85, 0x00]));
        });
      }),
    );

    it(
      "cleanly shuts down after simultaneous errors",
      withDone((done) => {
        let clientClosed = false;
        let serverClosed = false;
        let serverWs: WS | undefined;
        server({}, (wss, url) => {
          const ws = new WebSocket(url);
          ws.on("error", (err: Error & { code?: string }) => assert.equal(err.code, "WS_ERR_INVALID_OPCODE"));
          ws.on("close", () => {
            clientClosed = true;
            if (serverClosed) wss.close(done);
          });
          ws.on("open", () => {
            serverWs!.connection!.socket.write(Buffer.from([0x85, 0x00]));
            ws.connection!.socket.write(Buffer.from([0x85, 0x00]));
          });
        }).on("connection", function (this: WebSocketServer, ws) {
          serverWs = ws;
          ws.on("error", (err: Error & { code?: string }) => assert.equal(err.code, "WS_ERR_INVALID_OPCODE"));
          ws.on("close", () => {
            serverClosed = true;
            if (clientClosed) this.close(done);
          });
        });
      }),
    );

    it(
      "handles connection closures over both half-open-allowed sockets",
      withDone((done) => {
        let clientClosed = false;
        let serverClosed = false;
        server({}, (wss, url) => {
          const ws = new WebSocket(url);
          ws.on("open", () => ws.close());
          ws.on("close", () => {
            clientClosed = true;
            if (serverClosed) wss.close(done);
          });
        }).on("connection", function (this: WebSocketServer, ws) {
          ws.on("close", () => {
            serverClosed = true;
            if (clientClosed) this.close(done);
          });
        });
      }),
    );

    it(
      "handles connections over both full-open-only sockets",
      withDone((done) => {
        let clientClosed = false;
        let serverClosed = false;
        server({}, (wss, url) => {
          const ws = new WebSocket(url);
          ws.on("open", () => {
            const socket = ws.connection!.socket;
            socket.on("end", () => process.nextTick(() => socket.end()));
            ws.close();
          });
          ws.on("close", () => {
            clientClosed = true;
            if (serverClosed) wss.close(done);
          });
        }).on("connection", function (this: WebSocketServer, ws) {
          const socket = ws.connection!.socket;
          socket.on("end", () => process.nextTick(() => socket.end()));
          ws.on("close", () => {
            serverClosed = true;
            if (clientClosed) this.close(done);
          });
        });
      }),
    );
  });

  describe("wirecable/ws options", () => {
    it(
      "allowSynchronousEvents: false delivers one message per macrotask",
      withDone((done) => {
        server({}, (wss, url) => {
          const ws = new WebSocket(url, { allowSynchronousEvents: false });
          const order: string[] = [];
          ws.on("message", (data) => {
            order.push(String(data));
            queueMicrotask(() => order.push(`after ${data}`));
            if (order.length === 5) {
              setImmediate(() => {
                assert.deepEqual(order.slice(0, 4), ["a", "after a", "b", "after b"]);
                ws.close();
                wss.close(done);
              });
            }
          });
        }).on("connection", (ws) => {
          ws.send("a");
          ws.send("b");
          ws.send("c");
        });
      }),
    );

    it(
      "skipUTF8Validation delivers invalid text instead of closing with 1007",
      withDone((done) => {
        server({ skipUTF8Validation: true }, (_wss, url) => {
          const ws = new WebSocket(url);
          ws.on("open", () => ws.send(Buffer.from([0xff, 0xfe]), { binary: false }));
        }).on("connection", function (this: WebSocketServer, ws) {
          ws.on("message", (data, isBinary) => {
            assert.deepEqual(data, Buffer.from([0xff, 0xfe]));
            assert.equal(isBinary, false);
            ws.terminate();
            this.close(done);
          });
        });
      }),
    );

    it(
      "unhandledErrors: 'ignore' keeps an unheard error from crashing the process",
      withDone((done) => {
        server({ unhandledErrors: "ignore" }, (wss, url) => {
          const ws = new WebSocket(url);
          ws.on("open", () => ws.connection!.socket.write(Buffer.from([0x81, 0x05])));
          ws.on("error", NOOP);
          ws.on("close", () => wss.close(done));
        }).on("connection", (ws) => {
          // No 'error' listener: ws would throw ("MASK must be set") out of the event loop.
          ws.on("close", (code) => assert.equal(code, 1006));
        });
      }),
    );
  });
});

describe("WebSocket client options that reach node:http (ws's API)", { timeout: 60_000 }, () => {
  it(
    "honors `finishRequest`: the request is the caller's to finish",
    withDone((done) => {
      server({}, (wss, url) => {
        const ws = new WebSocket(url, {
          finishRequest(req: http.ClientRequest, socket: WS) {
            assert.ok(req instanceof http.ClientRequest);
            assert.ok(socket instanceof WebSocket.WebSocket); // called from the constructor, as in ws
            req.setHeader("Cookie", "foo=bar");
            req.end();
          },
        });
        ws.on("open", () => ws.close());
        ws.on("close", () => wss.close(done));
      }).on("connection", (_ws, req) => assert.equal(req.headers.cookie, "foo=bar"));
    }),
  );

  it(
    "honors `createConnection`: the socket comes from the caller",
    withDone((done) => {
      let created = 0;
      server({}, (wss, url) => {
        const ws = new WebSocket(url, {
          createConnection: (options: http.ClientRequestArgs) => {
            created++;
            return net.connect(options as net.NetConnectOpts);
          },
        });
        ws.on("open", () => {
          assert.equal(created, 1);
          ws.close();
        });
        ws.on("close", () => wss.close(done));
      });
    }),
  );
});
