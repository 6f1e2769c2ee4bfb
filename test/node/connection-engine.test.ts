/**
 * pendingEngine: one object shared by the plain connections of an options object, factory and
 * subprotocol, bounded; madeEngine: what a connection whose engine is made keeps (its options).
 */
import assert from "node:assert/strict";
import { Duplex } from "node:stream";
import { describe, it } from "node:test";
import { madeEngine, pendingEngine } from "../../src/node/connection-engine.js";
import type { ConnectionInit } from "../../src/node/connection-types.js";
import { createHybiEngine } from "../../src/node/engines.js";
import { Connection } from "../../src/node/index.js";
import { resolveConnectionOptions } from "../../src/node/options.js";
import { survivors } from "../helpers/gc.js";

const options = resolveConnectionOptions({});
const init = (o: Partial<ConnectionInit>) =>
  ({
    createEngine: createHybiEngine,
    extensions: [],
    protocol: "",
    extensionsHeader: "",
    options,
    ...o,
  }) as ConnectionInit;

describe("pendingEngine", () => {
  it("shares one object per options, engine factory and subprotocol, keeping the protocol and options", () => {
    const a = pendingEngine(init({ protocol: "chat" }));
    assert.equal(pendingEngine(init({ protocol: "chat" })), a);
    assert.equal(a.protocol, "chat");
    assert.equal(a.options, options);
    const plain = pendingEngine(init({}));
    assert.notEqual(plain, a);
    assert.equal(plain.protocol, "");
    assert.equal(pendingEngine(init({})), plain);
    const other = resolveConnectionOptions({ maxPayload: 1024 });
    const mine = pendingEngine(init({ options: other }));
    assert.notEqual(mine, plain, "another server's options: its own");
    assert.equal(mine.options, other);
    assert.equal(pendingEngine(init({ options: other })), mine);
  });

  it("gives connections with engine options or extensions their own", () => {
    const withOptions = init({ engine: { autoPong: false } });
    assert.notEqual(pendingEngine(withOptions), pendingEngine(withOptions));
    assert.equal(pendingEngine(withOptions).options, options);
    const withHeader = pendingEngine(init({ extensionsHeader: "x-test" }));
    assert.equal(withHeader.extensionsHeader, "x-test");
  });

  it("shares a bounded number of subprotocols: what peers offer cannot grow it", () => {
    const factory: ConnectionInit["createEngine"] = (host, options) => createHybiEngine(host, options);
    for (let i = 0; i < 100; i++) pendingEngine(init({ createEngine: factory, protocol: `p${i}` }));
    assert.equal(pendingEngine(init({ createEngine: factory, protocol: "p0" })).protocol, "p0");
    const late = init({ createEngine: factory, protocol: "p99" });
    assert.notEqual(pendingEngine(late), pendingEngine(late), "beyond the bound: one each");
    assert.equal(pendingEngine(late).protocol, "p99");
  });
});

describe("madeEngine", () => {
  it("is one object per options, carrying them, that makes no engine", () => {
    const made = madeEngine(options);
    assert.equal(madeEngine(options), made);
    assert.equal(made.options, options);
    assert.throws(() => made.createEngine({} as never, {} as never), /made already/);
  });

  it("is what a connection made with its engine keeps: not its init (socket, request, head...)", async () => {
    const socket = new Duplex({ read() {}, write: (_c, _e, cb) => cb() });
    let given: ConnectionInit | undefined = init({ role: "client", socket, url: "ws://h/" });
    const ref = new WeakRef(given);
    const conn = new Connection(given);
    given = undefined;
    assert.equal(conn.readyState, Connection.OPEN);
    assert.deepEqual(await survivors([ref]), [undefined]);
    conn.terminate();
    socket.destroy();
  });
});
