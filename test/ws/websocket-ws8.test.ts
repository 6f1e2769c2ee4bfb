/**
 * Scenarios of ws 8.x's current test/websocket.test.js that the older copy ported in
 * websocket.test.ts does not have (URL schemes, subprotocol validation, the 'redirect' event and
 * what redirects drop, pause/resume, Blob sends and their callbacks, handleEvent listeners...),
 * ported to TypeScript and node:test and run against `wirecable/ws` (MIT License, Copyright (c)
 * 2011 Einar Otto Stangvik, 2013 Arnout Kazemier and contributors, 2016 Luigi Pinca and
 * contributors). ws's `_socket`/`_req`/`_redirects` reads become `ws.connection.socket`, the
 * request handed to 'redirect', and a count of 'redirect' events. Loopback only.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import WebSocket, { WebSocketServer } from "../../src/ws/index.js";
import { port, unexpected, withDone } from "./helpers.js";

const HOST = "127.0.0.1";
const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const NOOP = (): void => {};
const EMPTY = Buffer.alloc(0);

class CustomAgent extends http.Agent {
  addRequest(): void {}
}
type Hook = (req: http.ClientRequest, opts: http.RequestOptions) => void;
function agentWith(hook: Hook): http.Agent {
  const agent = new CustomAgent();
  (agent as unknown as { addRequest: Hook }).addRequest = hook;
  return agent;
}
function accept(key: string): string {
  return createHash("sha1")
    .update(key + GUID)
    .digest("base64");
}
function rawServer(body: (server: http.Server, url: string, p: number) => void): void {
  const srv = http.createServer();
  srv.listen(0, HOST, () => body(srv, `ws://${HOST}:${port(srv)}`, port(srv)));
}
function server(
  options: ConstructorParameters<typeof WebSocketServer>[0],
  body: (wss: WebSocketServer, url: string) => void,
): WebSocketServer {
  const wss: WebSocketServer = new WebSocketServer({ port: 0, host: HOST, ...options }, () =>
    body(wss, `ws://${HOST}:${port(wss)}`),
  );
  return wss;
}
function ipcPath(): string {
  return path.join(os.tmpdir(), `wirecable-ws-${randomBytes(4).toString("hex")}.sock`);
}
/** Answer one upgrade with a 101 carrying `extra` header lines. */
function answer101(srv: http.Server, extra: string): void {
  srv.once("upgrade", (req, socket: net.Socket) => {
    socket.end(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Accept: ${accept(req.headers["sec-websocket-key"]!)}\r\n${extra}\r\n`,
    );
  });
}

describe("WebSocket (ws 8's current suite, additions)", { timeout: 60_000 }, () => {
  describe("#ctor", () => {
    it("throws an error when using an invalid url", () => {
      assert.throws(() => new WebSocket("foo"), /^SyntaxError: Invalid URL: foo$/);
      assert.throws(
        () => new WebSocket("bad-scheme://websocket-echo.com"),
        (err: Error) => {
          assert.equal(
            err.message,
            'The URL\'s protocol must be one of "ws:", "wss:", "http:", "https:", or "ws+unix:"',
          );
          return true;
        },
      );
      assert.throws(() => new WebSocket("ws+unix:"), /^SyntaxError: The URL's pathname is empty$/);
      assert.throws(
        () => new WebSocket("wss://websocket-echo.com#foo"),
        /^SyntaxError: The URL contains a fragment identifier$/,
      );
    });

    it("throws an error if a subprotocol is invalid or duplicated", () => {
      for (const subprotocol of [null, "", "a,b", ["a", "a"]]) {
        assert.throws(
          () => new WebSocket("ws://localhost", subprotocol as string),
          /^SyntaxError: An invalid or duplicated subprotocol was specified$/,
        );
      }
    });

    for (const [scheme, expectedPort] of [
      ["http", 80],
      ["https", 443],
    ] as const) {
      it(
        `allows the ${scheme} scheme`,
        withDone((done) => {
          const agent = scheme === "https" ? new https.Agent() : new http.Agent();
          (agent as unknown as { addRequest: Hook }).addRequest = (_req, opts) => {
            assert.equal(opts.host, "localhost");
            assert.equal(opts.port, expectedPort);
            done();
          };
          new WebSocket(`${scheme}://localhost`, { agent });
        }),
      );
    }

    it("exposes the server url with ws/wss for http/https", () => {
      for (const [key, value] of [
        ["ws", "ws"],
        ["wss", "wss"],
        ["http", "ws"],
        ["https", "wss"],
      ]) {
        const ws = new WebSocket(`${key}://localhost/`, { lookup() {} });
        assert.equal(ws.url, `${value}://localhost/`);
        ws.on("error", NOOP);
        ws.terminate();
      }
    });

    it(
      "honors the `generateMask` option",
      withDone((done) => {
        const data = Buffer.from("foo");
        server({}, (wss, url) => {
          const ws = new WebSocket(url, { generateMask() {} });
          ws.on("open", () => ws.send(data));
          ws.on("close", (code, reason) => {
            assert.equal(code, 1005);
            assert.deepEqual(reason, EMPTY);
            wss.close(done);
          });
        }).on("connection", (ws) => {
          const chunks: Buffer[] = [];
          ws.connection!.socket.prependListener("data", (chunk: Buffer) => chunks.push(chunk));
          ws.on("message", (message) => {
            assert.deepEqual(message, data);
            assert.deepEqual(Buffer.concat(chunks).subarray(2, 6), Buffer.alloc(4));
            ws.close();
          });
        });
      }),
    );

    it(
      "honors the `autoPong` option (client)",
      withDone((done) => {
        server({}, (wss, url) => {
          const ws = new WebSocket(url, { autoPong: false });
          ws.on("ping", () => ws.close());
          ws.on("close", () => wss.close(done));
        }).on("connection", (ws) => {
          ws.on("pong", unexpected(done, "'pong' event"));
          ws.ping();
        });
      }),
    );
  });

  describe("Attributes", () => {
    it("`isPaused` is enumerable and configurable", () => {
      const descriptor = Object.getOwnPropertyDescriptor(WebSocket.prototype, "isPaused")!;
      assert.equal(descriptor.configurable, true);
      assert.equal(descriptor.enumerable, true);
      assert.ok(descriptor.get !== undefined);
      assert.ok(descriptor.set === undefined);
    });

    it(
      "`isPaused` indicates whether the websocket is paused",
      withDone((done) => {
        server({}, (wss, url) => {
          const ws = new WebSocket(url);
          ws.on("open", () => {
            ws.pause();
            assert.ok(ws.isPaused);
            ws.resume();
            assert.ok(!ws.isPaused);
            ws.close();
            wss.close(done);
          });
          assert.ok(!ws.isPaused);
        });
      }),
    );
  });

  describe("Events", () => {
    it(
      "emits a 'redirect' event",
      withDone((done) => {
        const wss = new WebSocketServer({ noServer: true, path: "/foo" });
        rawServer((srv, url) => {
          srv.once("upgrade", (_req, socket: net.Socket) => {
            socket.end("HTTP/1.1 302 Found\r\nLocation: /foo\r\n\r\n");
            srv.once("upgrade", (req, sock, head) => wss.handleUpgrade(req, sock, head, (ws) => ws.close()));
          });
          const ws = new WebSocket(url, { followRedirects: true });
          ws.on("redirect", (to, req) => {
            assert.equal(to, `${url}/foo`);
            assert.ok(req instanceof http.ClientRequest);
            ws.on("close", (code) => {
              assert.equal(code, 1005);
              srv.close(done);
            });
          });
        });
      }),
    );

    it(
      "emits the 'error' event once when a Blob cannot be read, then closes",
      withDone((done) => {
        const broken = new Blob(["x"]);
        (broken as { arrayBuffer: () => Promise<ArrayBuffer> }).arrayBuffer = () =>
          Promise.reject(new DOMException("The blob could not be read", "NotReadableError"));
        server({}, (_wss, url) => {
          new WebSocket(url).on("error", NOOP);
        }).on("connection", function (this: WebSocketServer, ws) {
          let errors = 0;
          ws.send(broken);
          ws.on("error", (err) => {
            errors++;
            assert.ok(err instanceof DOMException);
            assert.equal(err.name, "NotReadableError");
            ws.on("close", () => {
              assert.equal(errors, 1);
              this.close(done);
            });
          });
        });
      }),
    );
  });

  describe("Connection establishing", () => {
    for (const [title, header, message, options] of [
      [
        "fails if an unexpected Sec-WebSocket-Extensions header is received",
        "Sec-WebSocket-Extensions: foo\r\n",
        "Server sent a Sec-WebSocket-Extensions header but no extension was requested",
        { perMessageDeflate: false },
      ],
      [
        "fails if the Sec-WebSocket-Extensions header is invalid (1/2)",
        "Sec-WebSocket-Extensions: foo;=\r\n",
        "Invalid Sec-WebSocket-Extensions header",
        {},
      ],
      [
        "fails if the Sec-WebSocket-Extensions header is invalid (2/2)",
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=7\r\n",
        "Invalid Sec-WebSocket-Extensions header",
        {},
      ],
      [
        "fails if an unexpected extension is received (1/2)",
        "Sec-WebSocket-Extensions: foo\r\n",
        "Server indicated an extension that was not requested",
        {},
      ],
      [
        "fails if an unexpected extension is received (2/2)",
        "Sec-WebSocket-Extensions: permessage-deflate,foo\r\n",
        "Server indicated an extension that was not requested",
        {},
      ],
    ] as const) {
      it(
        title,
        withDone((done) => {
          rawServer((srv, url) => {
            answer101(srv, header);
            const ws = new WebSocket(url, options);
            ws.on("open", unexpected(done, "'open' event"));
            ws.on("error", (err) => {
              assert.equal(err.message, message);
              ws.on("close", () => srv.close(done));
            });
          });
        }),
      );
    }

    it(
      "fails if server sends an invalid subprotocol (2/2): an empty header",
      withDone((done) => {
        rawServer((srv, url) => {
          answer101(srv, "Sec-WebSocket-Protocol:\r\n");
          const ws = new WebSocket(url, ["foo", "bar"]);
          ws.on("open", unexpected(done, "'open' event"));
          ws.on("error", (err) => {
            assert.equal(err.message, "Server sent an invalid subprotocol");
            ws.on("close", () => srv.close(done));
          });
        });
      }),
    );

    it(
      "honors the `createConnection` option (the socket goes elsewhere than the URL)",
      withDone((done) => {
        const wss = new WebSocketServer({ noServer: true, path: "/foo" });
        rawServer((srv, _url, p) => {
          srv.once("upgrade", (req, socket, head) => {
            assert.equal(req.headers.host, "example.invalid:22");
            wss.handleUpgrade(req, socket, head, NOOP);
          });
          const ws = new WebSocket("ws://example.invalid:22/foo", {
            createConnection: (options: http.ClientRequestArgs) => {
              assert.equal(options.host, "example.invalid");
              assert.equal(options.port, "22");
              return net.createConnection({ host: HOST, port: p });
            },
          });
          ws.on("open", () => {
            assert.equal(ws.url, "ws://example.invalid:22/foo");
            ws.on("close", () => srv.close(done));
            ws.close();
            for (const client of wss.clients!) client.terminate();
          });
        });
      }),
    );

    for (const [title, location, check] of [
      [
        "emits an error if the redirect URL is invalid (1/2)",
        "ws://",
        (err: Error) => {
          assert.ok(err instanceof SyntaxError);
          assert.equal(err.message, "Invalid URL: ws://");
        },
      ],
      [
        "emits an error if the redirect URL is invalid (2/2)",
        "bad-scheme://localhost",
        (err: Error) => {
          assert.ok(err instanceof SyntaxError);
          assert.equal(
            err.message,
            'The URL\'s protocol must be one of "ws:", "wss:", "http:", "https:", or "ws+unix:"',
          );
        },
      ],
    ] as const) {
      it(
        title,
        withDone((done) => {
          rawServer((srv, url) => {
            srv.once("upgrade", (_req, socket: net.Socket) =>
              socket.end(`HTTP/1.1 302 Found\r\nLocation: ${location}\r\n\r\n`),
            );
            const ws = new WebSocket(url, { followRedirects: true });
            ws.on("open", unexpected(done, "'open' event"));
            ws.on("error", (err) => {
              check(err);
              ws.on("close", () => srv.close(done));
            });
          });
        }),
      );
    }

    it(
      "uses the first url userinfo when following redirects",
      withDone((done) => {
        const wss = new WebSocketServer({ noServer: true, path: "/foo" });
        const authorization = "Basic Zm9vOmJhcg==";
        rawServer((srv, _url, p) => {
          srv.once("upgrade", (_req, socket: net.Socket) => {
            socket.end(`HTTP/1.1 302 Found\r\nLocation: ws://baz:qux@${HOST}:${p}/foo\r\n\r\n`);
            srv.once("upgrade", (req, sock, head) => {
              wss.handleUpgrade(req, sock, head, (ws, request) => {
                assert.equal(request.headers.authorization, authorization);
                ws.close();
              });
            });
          });
          const ws = new WebSocket(`ws://foo:bar@${HOST}:${p}`, { followRedirects: true });
          ws.on("close", (code) => {
            assert.equal(code, 1005);
            assert.equal(ws.url, `ws://baz:qux@${HOST}:${p}/foo`);
            srv.close(done);
          });
        });
      }),
    );

    describe("When the redirect host is different, without a 'redirect' listener", () => {
      const headers = { authorization: "Basic Zm9vOmJhcg==", cookie: "foo=bar", host: "foo" };

      it(
        "drops the `auth` option",
        withDone((done) => {
          const wss = server({}, (_w, target) => {
            rawServer((srv, url) => {
              srv.once("upgrade", (_req, socket: net.Socket) =>
                socket.end(`HTTP/1.1 302 Found\r\nLocation: ${target.replace(HOST, "localhost")}/\r\n\r\n`),
              );
              const ws = new WebSocket(url, { auth: "foo:bar", followRedirects: true });
              ws.on("close", (code) => {
                assert.equal(code, 1005);
                srv.close();
                wss.close(done);
              });
            });
          });
          wss.on("connection", (ws, req) => {
            assert.equal(req.headers.authorization, undefined);
            ws.close();
          });
        }),
      );

      it(
        "drops the Authorization, Cookie and Host headers (ws: to ws:)",
        withDone((done) => {
          const wss = server({}, (_w, target) => {
            rawServer((srv, url) => {
              srv.once("upgrade", (_req, socket: net.Socket) =>
                socket.end(`HTTP/1.1 302 Found\r\nLocation: ${target.replace(HOST, "localhost")}/\r\n\r\n`),
              );
              const ws = new WebSocket(url, { followRedirects: true, headers });
              ws.on("close", (code) => {
                assert.equal(code, 1005);
                srv.close();
                wss.close(done);
              });
            });
          });
          wss.on("connection", (ws, req) => {
            assert.equal(req.headers.authorization, undefined);
            assert.equal(req.headers.cookie, undefined);
            assert.equal(req.headers.host, `localhost:${port(wss)}`);
            ws.close();
          });
        }),
      );

      it(
        "drops the Authorization, Cookie and Host headers (ws: to ws+unix:)",
        withDone((done) => {
          const ipc = ipcPath();
          const redirected = http.createServer();
          const wss = new WebSocketServer({ server: redirected });
          wss.on("connection", (ws, req) => {
            assert.equal(req.headers.authorization, undefined);
            assert.equal(req.headers.cookie, undefined);
            assert.equal(req.headers.host, "localhost");
            ws.close();
          });
          redirected.listen(ipc, () => {
            rawServer((srv, url) => {
              srv.once("upgrade", (_req, socket: net.Socket) =>
                socket.end(`HTTP/1.1 302 Found\r\nLocation: ws+unix:${ipc}\r\n\r\n`),
              );
              const ws = new WebSocket(url, { followRedirects: true, headers });
              ws.on("close", (code) => {
                assert.equal(code, 1005);
                assert.equal(ws.url, `ws+unix:${ipc}`);
                srv.close();
                redirected.close(done);
              });
            });
          });
        }),
      );
    });

    it(
      "with a 'redirect' listener, drops no header by default",
      withDone((done) => {
        const headers = { authorization: "Basic Zm9vOmJhcg==", cookie: "foo=bar", host: "foo" };
        const wss = server({}, (_w, target) => {
          rawServer((srv, url) => {
            srv.once("upgrade", (_req, socket: net.Socket) =>
              socket.end(`HTTP/1.1 302 Found\r\nLocation: ${target.replace(HOST, "localhost")}/\r\n\r\n`),
            );
            const ws = new WebSocket(url, { followRedirects: true, headers });
            ws.on("redirect", (_to, req) => {
              assert.equal(req.getHeader("Authorization"), headers.authorization);
              assert.equal(req.getHeader("Cookie"), headers.cookie);
              assert.equal(req.getHeader("Host"), headers.host);
              ws.on("close", (code) => {
                assert.equal(code, 1005);
                srv.close();
                wss.close(done);
              });
            });
          });
        });
        wss.on("connection", (ws, req) => {
          assert.equal(req.headers.authorization, headers.authorization);
          assert.equal(req.headers.cookie, headers.cookie);
          assert.equal(req.headers.host, headers.host);
          ws.close();
        });
      }),
    );

    it(
      "a 'redirect' listener may remove headers",
      withDone((done) => {
        const wss = server({}, (_w, target) => {
          rawServer((srv, url) => {
            srv.once("upgrade", (_req, socket: net.Socket) =>
              socket.end(`HTTP/1.1 302 Found\r\nLocation: ${target.replace(HOST, "localhost")}/\r\n\r\n`),
            );
            const ws = new WebSocket(url, {
              followRedirects: true,
              headers: { authorization: "Basic Zm9vOmJhcg==", cookie: "foo=bar" },
            });
            ws.on("redirect", (_to, req) => {
              req.removeHeader("authorization");
              req.removeHeader("cookie");
              ws.on("close", (code) => {
                assert.equal(code, 1005);
                srv.close();
                wss.close(done);
              });
            });
          });
        });
        wss.on("connection", (ws, req) => {
          assert.equal(req.headers.authorization, undefined);
          assert.equal(req.headers.cookie, undefined);
          ws.close();
        });
      }),
    );

    it(
      "a 'redirect' listener may abort the request without swallowing errors",
      withDone((done) => {
        rawServer((srv, url) => {
          srv.once("upgrade", (_req, socket: net.Socket) => socket.end("HTTP/1.1 302 Found\r\nLocation: /foo\r\n\r\n"));
          const ws = new WebSocket(url, { followRedirects: true });
          ws.on("redirect", (to, req) => {
            assert.equal(to, `${url}/foo`);
            req.on("socket", () => req.destroy());
            ws.on("error", (err) => {
              assert.ok(err instanceof Error);
              assert.equal(err.message, "socket hang up");
              ws.on("close", (code) => {
                assert.equal(code, 1006);
                srv.close(done);
              });
            });
          });
        });
      }),
    );
  });

  for (const method of ["close", "terminate"] as const) {
    describe(`#${method} from listeners while connecting`, () => {
      it(
        "can be called from an error listener while connecting (HTTP parse error)",
        withDone((done) => {
          const srv = net.createServer((socket) => {
            socket.on("end", () => socket.end());
            socket.resume();
            socket.write(Buffer.from("foo\r\n"));
          });
          srv.listen(0, HOST, () => {
            const ws = new WebSocket(`ws://${HOST}:${port(srv)}`);
            ws.on("open", unexpected(done, "'open' event"));
            ws.on("error", (err: Error & { code?: string }) => {
              assert.equal(err.code, "HPE_INVALID_CONSTANT");
              ws[method]();
              ws.on("close", () => srv.close(done));
            });
          });
        }),
      );

      it(
        "can be called from a listener of the 'redirect' event",
        withDone((done) => {
          rawServer((srv, url) => {
            srv.once("upgrade", (_req, socket: net.Socket) =>
              socket.end("HTTP/1.1 302 Found\r\nLocation: /foo\r\n\r\n"),
            );
            const ws = new WebSocket(url, { followRedirects: true });
            ws.on("open", unexpected(done, "'open' event"));
            ws.on("error", (err) => {
              assert.equal(err.message, "WebSocket was closed before the connection was established");
              ws.on("close", (code) => {
                assert.equal(code, 1006);
                srv.close(done);
              });
            });
            ws.on("redirect", () => ws[method]());
          });
        }),
      );
    });
  }

  describe("#pause and #resume", () => {
    it(
      "do nothing if `readyState` is `CONNECTING` or `CLOSED`",
      withDone((done) => {
        server({}, (wss, url) => {
          const ws = new WebSocket(url);
          assert.equal(ws.readyState, WebSocket.CONNECTING);
          ws.pause();
          assert.ok(!ws.isPaused);
          ws.resume();
          ws.on("open", () => {
            ws.pause();
            assert.ok(ws.isPaused);
            ws.on("close", () => {
              assert.equal(ws.readyState, WebSocket.CLOSED);
              ws.resume();
              assert.ok(ws.isPaused);
              wss.close(done);
            });
            ws.terminate();
          });
        });
      }),
    );

    it(
      "pause and resume the socket",
      withDone((done) => {
        server({}, (_wss, url) => {
          new WebSocket(url).on("error", NOOP);
        }).on("connection", function (this: WebSocketServer, ws) {
          const socket = ws.connection!.socket;
          assert.ok(!ws.isPaused);
          assert.ok(!socket.isPaused());
          ws.pause();
          assert.ok(ws.isPaused);
          assert.ok(socket.isPaused());
          ws.resume();
          assert.ok(!ws.isPaused);
          assert.ok(!socket.isPaused());
          ws.terminate();
          this.close(done);
        });
      }),
    );
  });

  describe("#pong", () => {
    it(
      "is called automatically when a ping is received",
      withDone((done) => {
        const buf = Buffer.from("hi");
        server({}, (wss, url) => {
          const ws = new WebSocket(url);
          ws.on("open", () => ws.ping(buf));
          ws.on("pong", (data) => {
            assert.deepEqual(data, buf);
            wss.close(done);
          });
        }).on("connection", (ws) => {
          ws.on("ping", (data) => {
            assert.deepEqual(data, buf);
            ws.close();
          });
        });
      }),
    );
  });

  describe("#send", () => {
    it(
      "works when the `data` argument is falsy: an empty binary message",
      withDone((done) => {
        server({}, (_wss, url) => {
          const ws = new WebSocket(url);
          ws.on("open", () => {
            (ws.send as () => void)();
            ws.close();
          });
        }).on("connection", function (this: WebSocketServer, ws) {
          ws.on("message", (message, isBinary) => {
            assert.deepEqual(message, EMPTY);
            assert.ok(isBinary);
            this.close(done);
          });
        });
      }),
    );

    it(
      "can send `Blob`s, in order",
      withDone((done) => {
        server({}, (wss, url) => {
          const ws = new WebSocket(url);
          const messages: string[] = [];
          ws.on("open", () => {
            ws.send(new Blob(["foo"]));
            ws.send(new Blob(["bar"]));
            ws.close();
          });
          ws.on("message", (message, isBinary) => {
            assert.ok(isBinary);
            messages.push(String(message));
            if (messages.length === 2) {
              assert.deepEqual(messages, ["foo", "bar"]);
              wss.close(done);
            }
          });
        }).on("connection", (ws) => ws.on("message", (message) => ws.send(message as Buffer)));
      }),
    );

    it(
      "calls the callbacks if the socket is forcibly closed while a Blob is read",
      withDone((done) => {
        const called: number[] = [];
        server({}, (_wss, url) => {
          const ws = new WebSocket(url);
          ws.on("open", () => {
            ws.send(new Blob(["foo"]), (err) => {
              called.push(1);
              assert.equal(ws.readyState, WebSocket.CLOSING);
              assert.ok(err instanceof Error);
              assert.equal(err.message, "The socket was closed while the blob was being read");
            });
            ws.send("bar");
            ws.send("baz", (err) => {
              called.push(2);
              assert.equal(ws.readyState, WebSocket.CLOSING);
              assert.ok(err instanceof Error);
              assert.equal(err.message, "The socket was closed while the blob was being read");
            });
            ws.terminate();
          });
        }).on("connection", function (this: WebSocketServer, ws) {
          ws.on("close", () => {
            setImmediate(() => {
              assert.deepEqual(called, [1, 2]);
              this.close(done);
            });
          });
        });
      }),
    );

    it(
      "increases `bufferedAmount` for a Blob if `readyState` is 2 or 3",
      withDone((done) => {
        const ws = new WebSocket("ws://localhost", { lookup() {} });
        ws.on("error", () => {
          ws.on("close", () => {
            ws.send(new Blob(["hi"]));
            assert.equal(ws.bufferedAmount, 2);
            done();
          });
        });
        ws.close();
      }),
    );
  });

  describe("WHATWG API emulation", () => {
    it("a non-function `on<event>` value removes the attribute's listener", () => {
      const ws = new WebSocket("ws://localhost", { agent: new CustomAgent() });
      ws.onmessage = NOOP;
      (ws as unknown as { onmessage: unknown }).onmessage = "foo";
      assert.equal(ws.onmessage, null);
      assert.equal(ws.listenerCount("message"), 0);
    });

    it("supports the `addEventListener` method (handleEvent objects, once, duplicates)", () => {
      const events: string[] = [];
      const ws = new WebSocket("ws://localhost", { agent: new CustomAgent() });
      ws.addEventListener("foo", () => {});
      assert.equal(ws.listenerCount("foo"), 0);
      function onOpen(): void {
        events.push("open");
        assert.equal(ws.listenerCount("open"), 1);
      }
      ws.addEventListener("open", onOpen);
      ws.addEventListener("open", onOpen);
      assert.equal(ws.listenerCount("open"), 1);
      const listener = {
        handleEvent(this: unknown) {
          events.push("message");
          assert.equal(this, listener);
          assert.equal(ws.listenerCount("message"), 0);
        },
      };
      ws.addEventListener("message", listener, { once: true });
      ws.addEventListener("message", listener);
      assert.equal(ws.listenerCount("message"), 1);
      ws.addEventListener("close", NOOP);
      ws.onclose = NOOP;
      assert.equal(ws.listeners("close").length, 2);
      ws.onerror = NOOP;
      ws.addEventListener("error", NOOP);
      assert.equal(ws.listeners("error").length, 2);
      ws.emit("open");
      ws.emit("message", EMPTY, false);
      assert.deepEqual(events, ["open", "message"]);
    });
  });
});
