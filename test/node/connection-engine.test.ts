/** pendingEngine: one object shared by the plain connections of a factory and subprotocol, bounded. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { pendingEngine } from "../../src/node/connection-engine.js";
import type { ConnectionInit } from "../../src/node/connection-types.js";
import { createHybiEngine } from "../../src/node/engines.js";

const init = (o: Partial<ConnectionInit>) =>
  ({ createEngine: createHybiEngine, extensions: [], protocol: "", extensionsHeader: "", ...o }) as ConnectionInit;

describe("pendingEngine", () => {
  it("shares one object per engine factory and subprotocol, keeping the protocol", () => {
    const a = pendingEngine(init({ protocol: "chat" }));
    assert.equal(pendingEngine(init({ protocol: "chat" })), a);
    assert.equal(a.protocol, "chat");
    const plain = pendingEngine(init({}));
    assert.notEqual(plain, a);
    assert.equal(plain.protocol, "");
    assert.equal(pendingEngine(init({})), plain);
  });

  it("gives connections with engine options or extensions their own", () => {
    const withOptions = init({ engine: { autoPong: false } });
    assert.notEqual(pendingEngine(withOptions), pendingEngine(withOptions));
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
