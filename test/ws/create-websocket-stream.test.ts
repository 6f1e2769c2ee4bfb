/**
 * ws's test/create-websocket-stream.test.js, ported to TypeScript and node:test and run against
 * `wirecable/ws`. Scenarios and assertions follow ws's suite (MIT License, Copyright (c) 2011
 * Einar Otto Stangvik, 2013 Arnout Kazemier and contributors, 2016 Luigi Pinca and
 * contributors). Where ws's tests reach into `_socket`/`_receiver`, these use wirecable's public
 * `ws.connection` (its `socket` and `closing` event). Not ported: "handles backpressure (2/3)"
 * and "(3/3)", which assert on ws's Receiver's writable state (no such object here).
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { EventEmitter } from "node:events";
import { createServer } from "node:http";
import { Duplex } from "node:stream";
import { describe, it } from "node:test";
import { deflateRawSync } from "node:zlib";
import WebSocket, { createWebSocketStream, WebSocketServer } from "../../src/ws/index.js";
import { port, withDone } from "./helpers.js";

const HOST = "127.0.0.1";

describe("createWebSocketStream (ws's suite)", { timeout: 60_000 }, () => {
  it("is exposed as a property of the `WebSocket` class", () => {
    assert.equal(WebSocket.createWebSocketStream, createWebSocketStream);
  });

  it("returns a `Duplex` stream", () => {
    const duplex = createWebSocketStream(new EventEmitter() as unknown as Parameters<typeof createWebSocketStream>[0]);
    assert.ok(duplex instanceof Duplex);
  });

  it(
    "passes the options object to the `Duplex` constructor",
    withDone((done) => {
      const wss = new WebSocketServer({ port: 0, host: HOST }, () => {
        const ws = new WebSocket(`ws://${HOST}:${port(wss)}`);
        const duplex = createWebSocketStream(ws, { allowHalfOpen: false, encoding: "utf8" });
        duplex.on("data", (chunk) => {
          assert.equal(chunk, "hi");
          duplex.on("close", () => wss.close(done));
        });
      });
      wss.on("connection", (ws) => {
        ws.send(Buffer.from("hi"));
        ws.close();
      });
    }),
  );

  describe("The returned stream", () => {
    it(
      "buffers writes if `readyState` is `CONNECTING`",
      withDone((done) => {
        const chunk = randomBytes(1024);
        const wss = new WebSocketServer({ port: 0, host: HOST }, () => {
          const ws = new WebSocket(`ws://${HOST}:${port(wss)}`);
          assert.equal(ws.readyState, WebSocket.CONNECTING);
          const duplex = createWebSocketStream(ws);
          duplex.write(chunk);
        });
        wss.on("connection", (ws) => {
          ws.on("message", (message) => {
            ws.on("close", (code, reason) => {
              assert.ok((message as Buffer).equals(chunk));
              assert.equal(code, 1005);
              assert.equal(reason.toString(), "");
              wss.close(done);
            });
          });
          ws.close();
        });
      }),
    );

    it(
      "errors if a write occurs when `readyState` is `CLOSING`",
      withDone((done) => {
        const wss = new WebSocketServer({ port: 0, host: HOST }, () => {
          const ws = new WebSocket(`ws://${HOST}:${port(wss)}`);
          const duplex = createWebSocketStream(ws);
          duplex.on("error", (err) => {
            assert.ok(duplex.destroyed);
            assert.ok(err instanceof Error);
            assert.equal(err.message, "WebSocket is not open: readyState 2 (CLOSING)");
            duplex.on("close", () => wss.close(done));
          });
          ws.on("open", () => {
            ws.connection!.on("closing", () => duplex.write("hi"));
          });
        });
        wss.on("connection", (ws) => ws.close());
      }),
    );

    it(
      "errors if a write occurs when `readyState` is `CLOSED`",
      withDone((done) => {
        const wss = new WebSocketServer({ port: 0, host: HOST }, () => {
          const ws = new WebSocket(`ws://${HOST}:${port(wss)}`);
          const duplex = createWebSocketStream(ws);
          duplex.on("error", (err) => {
            assert.ok(duplex.destroyed);
            assert.ok(err instanceof Error);
            assert.equal(err.message, "WebSocket is not open: readyState 3 (CLOSED)");
            duplex.on("close", () => wss.close(done));
          });
          ws.on("close", () => duplex.write("hi"));
        });
        wss.on("connection", (ws) => ws.close());
      }),
    );

    it(
      "does not error if `_final()` is called while connecting",
      withDone((done) => {
        const wss = new WebSocketServer({ port: 0, host: HOST }, () => {
          const ws = new WebSocket(`ws://${HOST}:${port(wss)}`);
          assert.equal(ws.readyState, WebSocket.CONNECTING);
          const duplex = createWebSocketStream(ws);
          duplex.on("close", () => wss.close(done));
          duplex.resume();
          duplex.end();
        });
      }),
    );

    it(
      "makes `_final()` a noop if no socket is assigned",
      withDone((done) => {
        const server = createServer();
        server.on("upgrade", (_request, socket) => {
          socket.on("end", socket.end);
          const headers = [
            "HTTP/1.1 101 Switching Protocols",
            "Upgrade: websocket",
            "Connection: Upgrade",
            "Sec-WebSocket-Accept: foo",
          ];
          socket.write(headers.concat("\r\n").join("\r\n"));
        });
        server.listen(0, HOST, () => {
          const called: string[] = [];
          const ws = new WebSocket(`ws://${HOST}:${port(server)}`);
          const duplex = WebSocket.createWebSocketStream(ws);
          const final = duplex._final!;
          duplex._final = (callback) => {
            called.push("final");
            assert.equal(ws.readyState, WebSocket.CLOSING);
            assert.equal(ws.connection, null);
            final(callback);
          };
          duplex.on("error", (err) => {
            called.push("error");
            assert.ok(err instanceof Error);
            assert.equal(err.message, "Invalid Sec-WebSocket-Accept header");
          });
          duplex.on("finish", () => called.push("finish"));
          duplex.on("close", () => {
            assert.deepEqual(called, ["final", "error"]);
            server.close(done);
          });
          ws.on("upgrade", () => process.nextTick(() => duplex.end()));
        });
      }),
    );

    it(
      "reemits errors",
      withDone((done) => {
        let duplexCloseEventEmitted = false;
        const wss = new WebSocketServer({ port: 0, host: HOST }, () => {
          const ws = new WebSocket(`ws://${HOST}:${port(wss)}`);
          const duplex = createWebSocketStream(ws);
          duplex.on("error", (err) => {
            assert.ok(err instanceof RangeError);
            assert.equal(err.message, "Invalid WebSocket frame: invalid opcode 5");
            duplex.on("close", () => {
              duplexCloseEventEmitted = true;
            });
          });
        });
        wss.on("connection", (ws) => {
          ws.connection!.socket.write(Buffer.from([0x85, 0x00]));
          ws.on("close", (code, reason) => {
            assert.ok(duplexCloseEventEmitted);
            assert.equal(code, 1002);
            assert.equal(reason.toString(), "");
            wss.close(done);
          });
        });
      }),
    );

    it(
      "does not swallow errors that may occur while destroying",
      withDone((done) => {
        // A compressed binary frame (RSV1) whose payload is not valid DEFLATE data.
        const frame = Buffer.from([0xc2, 0x04, 0x22, 0xfa, 0xec, 0x78]);
        const wss = new WebSocketServer({ perMessageDeflate: true, port: 0, host: HOST }, () => {
          const ws = new WebSocket(`ws://${HOST}:${port(wss)}`);
          const duplex = createWebSocketStream(ws);
          duplex.on("error", (err: Error & { code?: string; errno?: number }) => {
            assert.ok(err instanceof Error);
            assert.equal(err.code, "Z_DATA_ERROR");
            assert.equal(err.errno, -3);
            duplex.on("close", () => wss.close(done));
          });
          let bytesRead = 0;
          ws.on("open", () => {
            ws.connection!.socket.on("data", (chunk: Buffer) => {
              bytesRead += chunk.length;
              if (bytesRead === frame.length) duplex.destroy();
            });
          });
        });
        wss.on("connection", (ws) => ws.connection!.socket.write(frame));
        assert.ok(deflateRawSync); // zlib is what produces the error the test expects
      }),
    );

    it("does not suppress the throwing behavior of 'error' events", async () => {
      const listeners = process.listeners("uncaughtException");
      process.removeAllListeners("uncaughtException");
      try {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error("no uncaught exception")), 10_000);
          const wss = new WebSocketServer({ port: 0, host: HOST }, () => {
            const ws = new WebSocket(`ws://${HOST}:${port(wss)}`);
            createWebSocketStream(ws);
          });
          wss.on("connection", (ws) => ws.connection!.socket.write(Buffer.from([0x85, 0x00])));
          process.once("uncaughtException", (err) => {
            clearTimeout(timer);
            try {
              assert.ok(err instanceof Error);
              assert.equal(err.message, "Invalid WebSocket frame: invalid opcode 5");
              wss.close(() => resolve());
            } catch (error) {
              reject(error);
            }
          });
        });
      } finally {
        for (const listener of listeners) process.on("uncaughtException", listener);
      }
    });

    it(
      "is destroyed after 'end' and 'finish' are emitted (1/2)",
      withDone((done) => {
        const wss = new WebSocketServer({ port: 0, host: HOST }, () => {
          const events: string[] = [];
          const ws = new WebSocket(`ws://${HOST}:${port(wss)}`);
          const duplex = createWebSocketStream(ws);
          duplex.on("end", () => {
            events.push("end");
            assert.ok(duplex.destroyed);
          });
          duplex.on("close", () => {
            assert.deepEqual(events, ["finish", "end"]);
            wss.close(done);
          });
          duplex.on("finish", () => {
            events.push("finish");
            assert.ok(!duplex.destroyed);
            assert.ok(duplex.readable);
            duplex.resume();
          });
          ws.on("close", () => duplex.end());
        });
        wss.on("connection", (ws) => {
          ws.send("foo");
          ws.close();
        });
      }),
    );

    it(
      "is destroyed after 'end' and 'finish' are emitted (2/2)",
      withDone((done) => {
        const wss = new WebSocketServer({ port: 0, host: HOST }, () => {
          const events: string[] = [];
          const ws = new WebSocket(`ws://${HOST}:${port(wss)}`);
          const duplex = createWebSocketStream(ws);
          duplex.on("end", () => {
            events.push("end");
            assert.ok(!duplex.destroyed);
            assert.ok(duplex.writable);
            duplex.end();
          });
          duplex.on("close", () => {
            assert.deepEqual(events, ["end", "finish"]);
            wss.close(done);
          });
          duplex.on("finish", () => events.push("finish"));
          duplex.resume();
        });
        wss.on("connection", (ws) => ws.close());
      }),
    );

    it(
      "handles backpressure (1/3)",
      withDone((done) => {
        const wss = new WebSocketServer({ port: 0, host: HOST }, () => {
          new WebSocket(`ws://${HOST}:${port(wss)}`);
        });
        wss.on("connection", (ws) => {
          const duplex = createWebSocketStream(ws);
          duplex.resume();
          duplex.on("drain", () => {
            duplex.on("close", () => wss.close(done));
            duplex.end();
          });
          const chunk = randomBytes(1024);
          let ret: boolean;
          do {
            ret = duplex.write(chunk);
          } while (ret !== false);
        });
      }),
    );

    it(
      "can be destroyed (1/2)",
      withDone((done) => {
        const wss = new WebSocketServer({ port: 0, host: HOST }, () => {
          const error = new Error("Oops");
          const ws = new WebSocket(`ws://${HOST}:${port(wss)}`);
          const duplex = createWebSocketStream(ws);
          duplex.on("error", (err) => {
            assert.equal(err, error);
            duplex.on("close", () => wss.close(done));
          });
          ws.on("open", () => duplex.destroy(error));
        });
      }),
    );

    it(
      "can be destroyed (2/2)",
      withDone((done) => {
        const wss = new WebSocketServer({ port: 0, host: HOST }, () => {
          const ws = new WebSocket(`ws://${HOST}:${port(wss)}`);
          const duplex = createWebSocketStream(ws);
          duplex.on("close", () => wss.close(done));
          ws.on("open", () => duplex.destroy());
        });
      }),
    );
  });
});
