/**
 * A plain server connection's engine at rest after a heartbeat: dropped, and made again by the next input or output
 * (Connection#rest); the heartbeat of a connection without an engine is written without making one.
 */
import assert from "node:assert/strict";
import { Duplex } from "node:stream";
import { after, describe, it } from "node:test";
import { ConnectionOutput } from "../../src/node/connection-output.js";
import { createHybiEngine } from "../../src/node/engines.js";
import { Connection as ConnectionClass } from "../../src/node/index.js";
import { resolveConnectionOptions } from "../../src/node/options.js";
import type { EngineEvent, EngineFactory } from "../../src/protocol/types.js";
import { concat, hex } from "../helpers/bytes.js";
import { cframe } from "../helpers/frames.js";

const cleanups: Array<() => void> = [];
after(() => {
  for (const fn of cleanups) fn();
});

/** The write path each output goes through (ConnectionOutput#queue, recorded by instance). */
const outputs: ConnectionOutput[] = [];
const queue = ConnectionOutput.prototype.queue;
ConnectionOutput.prototype.queue = function (this: ConnectionOutput) {
  if (outputs.at(-1) !== this) outputs.push(this);
  return queue.call(this);
};
cleanups.push(() => {
  ConnectionOutput.prototype.queue = queue;
});

/** The transport's side the connection calls (read-path.ts's listeners would; here the test does). */
interface Internals {
  lastReceived: number;
  dispatch(event: EngineEvent): void;
  onTimer(): void;
  transportData(chunk: Uint8Array): void;
  transportLent(bytes: Uint8Array, length: number): void;
}

/** A plain server connection on an in-memory transport, counting the engines made for it. */
function restingConnection(options: Record<string, unknown> = {}, writes: "complete" | "hold" = "complete") {
  const written: Buffer[] = [];
  const held: Array<() => void> = [];
  const socket = new Duplex({
    read() {},
    write(chunk: Buffer, _encoding, cb) {
      written.push(Buffer.from(chunk));
      if (writes === "complete") cb();
      else held.push(cb);
    },
  });
  let made = 0;
  const createEngine: EngineFactory = (host, engineOptions) => {
    made++;
    return createHybiEngine(host, engineOptions);
  };
  const conn = new ConnectionClass({
    role: "server",
    socket,
    createEngine,
    options: resolveConnectionOptions({ pingInterval: 1000, pongTimeout: 1000, idleTimeout: 0, ...options }),
    protocol: "chat",
    extensions: [],
    extensionsHeader: "",
  });
  cleanups.push(() => socket.destroy());
  const events: string[] = [];
  conn.on("message", (data, isBinary) => events.push(`message ${isBinary ? hex(data as Buffer) : String(data)}`));
  conn.on("ping", (data) => events.push(`ping ${String(data)}`));
  conn.on("pong", (data) => events.push(`pong ${String(data)}`));
  const internals = conn as unknown as Internals;
  return {
    conn,
    events,
    made: () => made,
    /** Complete every held write ("hold"), also those the completions start, until none is left (bounded). */
    release: async () => {
      for (let i = 0; i < 100 && held.length > 0; i++) {
        for (const cb of held.splice(0)) cb();
        await new Promise((r) => setImmediate(r));
      }
    },
    /** Everything written so far, as hex, once this turn's output is flushed. */
    output: async () => {
      await new Promise((r) => setImmediate(r));
      return hex(concat(written.splice(0)));
    },
    /** The heartbeat's moment: pingInterval of silence has passed. */
    heartbeat: () => {
      internals.lastReceived = -1_000_000; // long ago on the wheel's clock (ms since it was made)
      internals.onTimer();
    },
    data: (bytes: Uint8Array) => internals.transportData(Uint8Array.prototype.slice.call(bytes)),
    /** As the shared read buffer lends bytes: its first bytes.length, stale bytes after them, scribbled over once the call returns. */
    lent: (bytes: Uint8Array) => {
      const buffer = new Uint8Array(bytes.length + 64).fill(0x81);
      buffer.set(bytes, 0);
      internals.transportLent(buffer, bytes.length);
      buffer.fill(0xee);
    },
    internals,
  };
}

const PONG = cframe(0xa, "");
const NEXT = concat([cframe(0x1, "hi"), cframe(0x9, "x")]);

describe("a plain server connection at rest after a heartbeat", () => {
  it("writes the heartbeat of a connection without an engine without making one", async () => {
    const c = restingConnection();
    c.heartbeat();
    assert.equal(c.made(), 0);
    assert.equal(await c.output(), "8900");
    assert.equal(c.conn.readyState, ConnectionClass.OPEN);
    assert.equal(c.conn.protocol, "chat");
  });

  for (const path of ["data", "lent"] as const) {
    it(`(${path}) drops the engine once the pong is read, at every split of the input after the heartbeat`, async () => {
      const stream = concat([PONG, NEXT]);
      for (let i = 1; i < stream.length; i++) {
        const c = restingConnection();
        c.heartbeat();
        await c.output();
        c[path](stream.subarray(0, i));
        assert.equal(c.made(), 1, `split ${i}: the first input makes an engine`);
        c[path](stream.subarray(i));
        // At rest after the first piece only when it ends between frames: then the second makes a new engine.
        const restedEarly = i === PONG.length || i === PONG.length + cframe(0x1, "hi").length;
        assert.equal(c.made(), restedEarly ? 2 : 1, `split ${i}`);
        assert.deepEqual(c.events, ["pong ", "message hi", "ping x"], `split ${i}`);
        assert.equal(await c.output(), "8a0178", `split ${i}: the ping is answered`);
        // Dropped after the second piece unless the first one rested already (a heartbeat drops at most once).
        c[path](cframe(0x1, "again"));
        assert.equal(c.made(), 2, `split ${i}`);
        assert.deepEqual(c.events.at(-1), "message again");
      }
    });

    it(`(${path}) makes a new engine for the next input at every split of it, which reads it whole`, async () => {
      for (let i = 1; i < NEXT.length; i++) {
        const c = restingConnection();
        c.heartbeat();
        c[path](PONG);
        assert.equal(c.made(), 1);
        c[path](NEXT.subarray(0, i));
        assert.equal(c.made(), 2, `split ${i}`);
        c[path](NEXT.subarray(i));
        assert.equal(c.made(), 2, `split ${i}`);
        assert.deepEqual(c.events, ["pong ", "message hi", "ping x"], `split ${i}`);
        assert.equal(await c.output(), "89008a0178", `split ${i}`);
      }
    });
  }

  it("drops the write path too when it holds nothing: the next output makes a new one", async () => {
    const c = restingConnection();
    c.data(cframe(0x1, "hello"));
    c.conn.send("before");
    await c.output();
    const before = outputs.at(-1);
    c.heartbeat();
    assert.equal(outputs.at(-1), before, "the heartbeat goes through the write path the connection has");
    await c.output();
    c.data(PONG);
    c.conn.send("after");
    assert.notEqual(outputs.at(-1), before, "a new write path");
    assert.equal(await c.output(), hex(Buffer.from([0x81, 5, ...Buffer.from("after")])));
  });

  it("keeps the engine while a ping of the application awaits its pong, and drops it once answered", async () => {
    const c = restingConnection();
    let answered = 0;
    c.conn.ping("u", () => answered++);
    assert.equal(c.made(), 1);
    c.heartbeat();
    c.data(PONG);
    c.data(cframe(0x1, "busy"));
    assert.equal(c.made(), 1, "not at rest: kept");
    c.data(cframe(0xa, "u"));
    assert.equal(answered, 1);
    c.data(cframe(0x1, "later"));
    assert.equal(c.made(), 2, "dropped once the ping was answered");
    assert.equal(await c.output(), "8901758900", "the ping of the application, then the heartbeat");
  });

  it("keeps the engine while the transport is backed up (pongs held), and a write path with a count of drops", async () => {
    const c = restingConnection({ maxBufferedAmount: 10, backpressure: "drop" }, "hold");
    c.conn.send("0123456789ab"); // stays in the transport until released
    await c.output();
    assert.equal(c.conn.send("more"), "dropped");
    c.heartbeat();
    c.data(PONG);
    c.data(cframe(0x1, "x"));
    assert.equal(c.made(), 1, "pongs are held while backed up: not at rest");
    const backedUp = outputs.at(-1);
    const drained = new Promise<void>((r) => c.conn.once("drain", () => r()));
    await c.release();
    await drained;
    c.heartbeat();
    c.data(PONG);
    c.data(cframe(0x1, "y"));
    assert.equal(c.made(), 2, "drained: at rest after the next heartbeat");
    assert.equal(c.conn.droppedCount, 1, "the write path that counted the drop is kept");
    c.conn.send("z");
    assert.equal(outputs.at(-1), backedUp, "the same write path");
    assert.deepEqual(c.events, ["pong ", "message x", "pong ", "message y"]);
  });

  it("times out a heartbeat without an engine that gets no pong: error, then close 1006", async () => {
    const c = restingConnection({ pongTimeout: 50 });
    const errors: string[] = [];
    c.conn.on("error", (e) => errors.push(e.message));
    const closed = c.conn.closed;
    c.heartbeat();
    assert.equal(c.made(), 0);
    c.internals.lastReceived = -1_000_000; // the ping's time while its pong is awaited
    c.internals.onTimer();
    assert.deepEqual(errors, ["pong timeout: terminating"]);
    assert.equal((await closed).code, 1006);
  });

  it("a pong event delivered late (after the next ping left) does not end the wait for that ping's pong", async () => {
    const c = restingConnection({ pongTimeout: 50 });
    const errors: string[] = [];
    c.conn.on("error", (e) => errors.push(e.message));
    const closed = c.conn.closed;
    c.heartbeat();
    // The previous pong's event, queued behind an extension's transform: its bytes were read long ago.
    c.internals.dispatch({ type: "pong", data: new Uint8Array(0) });
    c.internals.lastReceived -= 50; // the ping left pongTimeout ago, unanswered
    c.internals.onTimer();
    assert.deepEqual(errors, ["pong timeout: terminating"]);
    assert.equal((await closed).code, 1006);
  });

  it("closes from rest as from anywhere: the close makes an engine, which sends the close frame", async () => {
    const c = restingConnection();
    c.heartbeat();
    c.data(PONG);
    c.conn.close(1000, "bye");
    assert.equal(c.made(), 2);
    assert.equal(await c.output(), `8900${hex(Buffer.from([0x88, 5, 0x03, 0xe8]))}${hex(Buffer.from("bye"))}`);
    assert.equal(c.conn.readyState, ConnectionClass.CLOSING);
  });
});
