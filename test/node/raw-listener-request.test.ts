/**
 * The IncomingMessage of the standalone listener's upgrade requests (src/node/raw-listener.ts)
 * against node:http's own for the same bytes: the same fields, keys and printout, and the same
 * behaviour under every use of its stream and emitter a program could make, in the turn the
 * request arrived and later.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer as createHttpServer, IncomingMessage } from "node:http";
import { connect as netConnect, type Socket } from "node:net";
import { PassThrough, Readable } from "node:stream";
import { finished } from "node:stream/promises";
import { after, describe, it } from "node:test";
import { inspect } from "node:util";
import { RawListener } from "../../src/node/raw-listener.js";
import { portOf } from "../helpers/raw-client.js";
import { event, within } from "../helpers/time.js";

const REQUEST =
  "GET /chat?x=1 HTTP/1.1\r\nHost: example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nX-Twice: a\r\nx-twice: b\r\n\r\n";

type Log = unknown[];
/** A use of a request: runs, logs what it sees, resolves when it is over. */
type Use = (req: IncomingMessage, log: Log) => Promise<void>;
type Taker = (req: IncomingMessage, socket: Socket) => void;

const cleanups: Array<() => unknown> = [];
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

/** node:http's server and the raw listener, each handing its next upgrade to `take`. */
async function servers(): Promise<{ node: number; raw: number; takers: { node?: Taker; raw?: Taker } }> {
  const takers: { node?: Taker; raw?: Taker } = {};
  const http = createHttpServer();
  http.on("upgrade", (req: IncomingMessage, socket: Socket) => takers.node?.(req, socket));
  http.listen(0, "127.0.0.1");
  await event(http, "listening");
  const listener = new RawListener({
    maxHeaderBytes: 16 * 1024,
    maxHeaderCount: 100,
    handshakeTimeout: 0,
    onUpgrade: (req, socket) => takers.raw?.(req, socket),
    onError: () => {},
  });
  listener.listen(0, "127.0.0.1");
  await event(listener.server, "listening");
  cleanups.push(
    () => new Promise((resolve) => http.close(resolve)),
    () => listener.close(),
  );
  return { node: portOf(http.address()), raw: portOf(listener.address()), takers };
}

const ports = await servers();

/** The request `port`'s server makes of REQUEST, handed to `take` in its turn. */
function request(port: number, which: "node" | "raw", take: Taker): void {
  ports.takers[which] = (req, socket) => {
    ports.takers[which] = undefined;
    cleanups.push(() => socket.destroy());
    take(req, socket);
  };
  const client = netConnect({ host: "127.0.0.1", port }, () => client.write(REQUEST));
  client.on("error", () => {});
  cleanups.push(() => client.destroy());
}

/** What `use` logs on a request of `which` server, used in its turn ("now") or after it ("later"). */
async function run(which: "node" | "raw", when: "now" | "later", use: Use): Promise<Log> {
  const log: Log = [];
  const done = new Promise<void>((resolve, reject) => {
    request(which === "node" ? ports.node : ports.raw, which, (req) => {
      // The server reads the headers of every request (its checks, the handshake): node's object then.
      void req.headers;
      // Every event the request emits, with the state it is in then.
      const emit = req.emit;
      req.emit = function (this: IncomingMessage, name: string | symbol, ...args: unknown[]) {
        log.push(["event", String(name), this.readableEnded, this.readableFlowing, this.destroyed, this.closed]);
        return emit.call(this, name, ...args);
      } as IncomingMessage["emit"];
      const start = () => use(req, log).then(resolve, reject);
      if (when === "now") start();
      else setImmediate(start);
    });
  });
  await within(done, undefined, `${which} ${when}`);
  // What follows the use (autoDestroy's 'close' after 'end'): two turns are enough for it to land.
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
  return log;
}

const state = (req: IncomingMessage) => [
  req.readable,
  req.readableEnded,
  req.readableFlowing,
  req.readableLength,
  req.readableHighWaterMark,
  req.readableObjectMode,
  req.readableEncoding,
  req.readableAborted,
  req.readableDidRead,
  req.destroyed,
  req.closed,
  req.errored,
  req.isPaused(),
  Readable.isDisturbed(req),
  req.complete,
  req.aborted,
];

const USES: Record<string, Use> = {
  "'end' after resume()": async (req, log) => {
    req.on("end", () => log.push("end", state(req)));
    req.resume();
    await once(req, "close");
  },
  "'readable' and read()": async (req, log) => {
    req.on("readable", () => {
      let chunk: unknown;
      while ((chunk = req.read()) !== null) log.push(chunk);
      log.push("read null", state(req));
    });
    await once(req, "end");
  },
  "for await": async (req, log) => {
    for await (const chunk of req) log.push(chunk);
    log.push("done", state(req));
  },
  "events.once after resume": async (req, log) => {
    req.resume();
    await once(req, "end");
    log.push(state(req));
  },
  "stream.finished": async (req, log) => {
    const end = finished(req);
    req.resume();
    await end;
    log.push(state(req));
  },
  "toArray with an encoding": async (req, log) => {
    req.setEncoding("utf8");
    log.push(await req.toArray(), state(req));
  },
  pipe: async (req, log) => {
    const sink = new PassThrough();
    sink.on("data", (d) => log.push("data", d));
    req.pipe(sink);
    await once(sink, "end");
    log.push(state(req));
  },
  "destroy()": async (req, log) => {
    req.destroy();
    log.push(state(req));
    await once(req, "close");
    log.push(state(req), req.socket.destroyed);
  },
  "getters, listeners, max listeners": async (req, log) => {
    log.push(state(req), req.listenerCount("end"), req.eventNames(), req.getMaxListeners());
    const listener = () => {};
    req.on("x", listener).prependListener("x", listener);
    log.push(req.listenerCount("x"), req.listeners("x").length, req.rawListeners("x").length, req.eventNames());
    req.setMaxListeners(3);
    log.push(req.getMaxListeners(), req.emit("x"), req.removeAllListeners("x").eventNames());
  },
  "setMaxListeners first": async (req, log) => {
    req.setMaxListeners(7);
    log.push(req.getMaxListeners(), state(req));
  },
  "pause and resume": async (req, log) => {
    req.pause();
    log.push(state(req));
    req.resume();
    log.push(state(req));
    await once(req, "end");
  },
  "setTimeout(0)": async (req, log) => {
    const same = req.setTimeout(0, () => {}) === req;
    log.push(same, req.listenerCount("timeout"));
  },
  "_readableState and _events read directly": async (req, log) => {
    const r = req as unknown as { _readableState: { ended: boolean; endEmitted: boolean }; _events: object };
    log.push(r._readableState.ended, r._readableState.endEmitted, Object.keys(r._events));
  },
  "fields and keys after a use": async (req, log) => {
    req.listenerCount("end");
    const keys = Reflect.ownKeys(req).map((k) => (typeof k === "symbol" ? `@${k.description}` : k));
    const plain = keys.filter((k) => !["socket", "client", "_readableState", "_events", "emit"].includes(k));
    log.push(
      keys,
      plain.map((k) => (k.startsWith("@") ? typeof k : (req as unknown as Record<string, unknown>)[k])),
    );
    log.push(Object.getPrototypeOf(req) === IncomingMessage.prototype, req.constructor === IncomingMessage);
  },
  "util.inspect": async (req, log) => {
    log.push(inspect(req, { depth: 0 }).replace(/\[Socket\]/g, "S"));
    log.push(Object.getPrototypeOf(req) === IncomingMessage.prototype);
  },
  "Readable.toWeb": async (req, log) => {
    const chunks: unknown[] = [];
    for await (const chunk of Readable.toWeb(req)) chunks.push(chunk);
    log.push(chunks, state(req));
  },
};

describe("upgrade requests: node:http's, used any way", () => {
  for (const [name, use] of Object.entries(USES)) {
    for (const when of ["now", "later"] as const) {
      it(`${name} (${when === "now" ? "in the turn it arrived" : "in a later turn"})`, async () => {
        const expected = await run("node", when, use);
        const actual = await run("raw", when, use);
        assert.deepEqual(actual, expected);
      });
    }
  }

  it("has node's fields before any use, headersDistinct included", async () => {
    const [expected, actual] = await Promise.all(
      (["node", "raw"] as const).map(
        (which) =>
          new Promise<IncomingMessage>((resolve) =>
            request(which === "node" ? ports.node : ports.raw, which, (req) => resolve(req)),
          ),
      ),
    );
    assert.ok(actual instanceof IncomingMessage && actual instanceof Readable);
    assert.equal(actual.constructor, IncomingMessage);
    for (const field of [
      "method",
      "url",
      "httpVersion",
      "httpVersionMajor",
      "httpVersionMinor",
      "complete",
      "aborted",
      "statusCode",
      "statusMessage",
    ] as const) {
      assert.equal(actual[field], expected[field], field);
    }
    assert.deepEqual(actual.rawHeaders, expected.rawHeaders);
    assert.deepEqual(actual.headers, expected.headers);
    assert.deepEqual(actual.headersDistinct, expected.headersDistinct);
    assert.deepEqual(actual.trailers, expected.trailers);
    assert.deepEqual(actual.trailersDistinct, expected.trailersDistinct);
    assert.deepEqual(actual.rawTrailers, expected.rawTrailers);
    const fields = (req: IncomingMessage) => {
      const r = req as unknown as Record<string, unknown>;
      return [r.upgrade, r.joinDuplicateHeaders, r.parser, r._consuming, r._dumped, req.connection === req.socket];
    };
    assert.deepEqual(fields(actual), fields(expected));
    const keys = (req: IncomingMessage) =>
      Reflect.ownKeys(req).map((k) => (typeof k === "symbol" ? `@${k.description}` : k));
    assert.deepEqual(keys(actual), keys(expected));
  });
});
