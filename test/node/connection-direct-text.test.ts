/**
 * A server connection takes its text messages from the engine as strings (`dispatchText`, the
 * engine's `directText`): no event object per message. What a listener sees is unchanged: the
 * string (or, with `textAsBuffer`, a Buffer of the bytes, through `dispatch`), the idle clock,
 * the rate limit, a throwing listener's 1011, and an echo of the received bytes. A connection
 * with a rate limit takes text events (the limit is checked before the string is decoded).
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import type { ConnectionInit } from "../../src/node/connection-types.js";
import { createHybiEngine } from "../../src/node/engines.js";
import type { Connection } from "../../src/node/index.js";
import { wheel } from "../../src/node/timer-wheel.js";
import type { EngineEvent } from "../../src/protocol/types.js";
import { concat } from "../helpers/bytes.js";
import { destroyDuplexes, duplexConnection } from "../helpers/duplex-connection.js";
import { cframe, decodeFrames } from "../helpers/frames.js";

after(destroyDuplexes);

type Internal = Connection & {
  dispatch(event: EngineEvent): void;
  transportLent(bytes: Uint8Array, length: number): void;
  lastMessage: number;
};

/** A server connection on a Duplex that records what is written; `events` lists what reached `dispatch`. */
function connection(extra: Partial<ConnectionInit> = {}, options: Record<string, unknown> = {}) {
  const made = duplexConnection(extra, options);
  const conn = made.conn as Internal;
  const events: string[] = [];
  const dispatch = conn.dispatch;
  conn.dispatch = (event: EngineEvent) => {
    events.push(event.type);
    dispatch.call(conn, event);
  };
  return { conn, written: made.written, events };
}

/** `bytes` as a plain TCP read hands them over: in a reused buffer, lent for the call, scribbled after. */
const READ = new Uint8Array(4096);
function read(conn: Internal, bytes: Uint8Array): void {
  READ.set(bytes, 0);
  conn.transportLent(READ, bytes.length);
  READ.fill(0x5a);
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe("a connection's text messages as strings", () => {
  it("come to the listener as strings without a text event; echoes carry the received bytes", async () => {
    const { conn, written, events } = connection();
    const got: Array<[unknown, boolean]> = [];
    conn.on("message", (data, isBinary) => {
      got.push([data, isBinary]);
      conn.send(data as string);
    });
    read(conn, concat([cframe(1, "one"), cframe(1, "héllo ✓"), cframe(2, "bin"), cframe(1, "x".repeat(200))]));
    assert.deepEqual(
      got.map(([d, b]) => [typeof d === "string" ? d : Buffer.from(d as Uint8Array).toString(), b]),
      [
        ["one", false],
        ["héllo ✓", false],
        ["bin", true],
        ["x".repeat(200), false],
      ],
    );
    assert.deepEqual(events, ["binary"], "only the binary message came as an event");
    await turn();
    const frames = decodeFrames(concat(written));
    assert.deepEqual(
      frames.map((f) => [f.opcode, Buffer.from(f.payload).toString()]),
      [
        [1, "one"],
        [1, "héllo ✓"],
        [2, "bin"],
        [1, "x".repeat(200)],
      ],
    );
  });

  it("textAsBuffer: text still comes as a text event, a Buffer of its bytes", () => {
    const { conn, events } = connection({ textAsBuffer: true });
    const got: unknown[] = [];
    conn.on("message", (data) => got.push(data));
    read(conn, cframe(1, "abc"));
    assert.deepEqual(events, ["text"]);
    assert.ok(Buffer.isBuffer(got[0]));
    assert.equal((got[0] as Buffer).toString(), "abc");
  });

  it("a text message is the connection's last activity (idle timeout)", () => {
    const { conn } = connection({}, { idleTimeout: 60_000 });
    conn.on("message", () => {});
    conn.lastMessage = -1;
    read(conn, cframe(1, "alive"));
    assert.equal(conn.lastMessage, wheel.now);
  });

  it("the rate limit counts text messages: the excess one closes with 1008 and is not delivered", async () => {
    const { conn, written } = connection({}, { rateLimit: { messages: 2, interval: 60_000 } });
    const got: unknown[] = [];
    conn.on("message", (data) => got.push(data));
    read(conn, concat([cframe(1, "a"), cframe(1, "b"), cframe(1, "c")]));
    assert.deepEqual(got, ["a", "b"]);
    await turn();
    const close = decodeFrames(concat(written)).find((f) => f.opcode === 8);
    assert.ok(close !== undefined);
    assert.equal((close.payload[0] << 8) | close.payload[1], 1008);
  });

  it("the rate limit comes before the decode: a refused message is not decoded, and closes 1008 even if its decode throws", async () => {
    // Decoders that record what they decode, and throw as V8 does for a string over its limit.
    const decoded: string[] = [];
    const decode = (bytes: Uint8Array, start: number, end: number): string => {
      const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8", start, end);
      decoded.push(text);
      if (text.startsWith("too long")) throw new RangeError("Invalid string length");
      return text;
    };
    const createEngine: ConnectionInit["createEngine"] = (host, options) =>
      createHybiEngine(host, { ...options, decodeUtf8: decode, decodeAscii: decode });
    const { conn, written } = connection({ createEngine }, { rateLimit: { messages: 1, interval: 60_000 } });
    const got: unknown[] = [];
    const errors: unknown[] = [];
    conn.on("message", (data) => got.push(data));
    conn.on("error", (error) => errors.push(error));
    read(conn, concat([cframe(1, "a"), cframe(1, "too long: ünïcode")]));
    assert.deepEqual(got, ["a"]);
    assert.deepEqual(decoded, ["a"], "the refused message is not decoded");
    await turn();
    const close = decodeFrames(concat(written)).find((f) => f.opcode === 8);
    assert.ok(close !== undefined);
    assert.equal((close.payload[0] << 8) | close.payload[1], 1008);
    assert.ok(!errors.some((e) => e instanceof RangeError), "no decode failure reported");
  });

  it("a throwing listener is reported as 'error' and closes the connection with 1011", async () => {
    const { conn, written } = connection();
    const errors: unknown[] = [];
    const boom = new Error("boom");
    conn.on("error", (e) => errors.push(e));
    conn.on("message", () => {
      throw boom;
    });
    read(conn, cframe(1, "x"));
    assert.deepEqual(errors, [boom]);
    await turn();
    const close = decodeFrames(concat(written)).find((f) => f.opcode === 8);
    assert.ok(close !== undefined);
    assert.equal((close.payload[0] << 8) | close.payload[1], 1011);
  });
});
