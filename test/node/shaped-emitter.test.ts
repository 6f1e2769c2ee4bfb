/** ShapedEmitter: an EventEmitter in Node's shape mode; every EventEmitter behaviour kept. */
import assert from "node:assert/strict";
import { EventEmitter, once } from "node:events";
import { describe, it } from "node:test";
import { Connection } from "../../src/node/connection.js";
import { ShapedEmitter } from "../../src/node/shaped-emitter.js";

class Thing extends ShapedEmitter {
  readonly name = "thing";
}

describe("ShapedEmitter", () => {
  it("is an EventEmitter: on, once, emit with arguments, listener order, prepend, off", async () => {
    const t = new Thing();
    assert.ok(t instanceof EventEmitter);
    assert.equal(t.name, "thing");
    const calls: unknown[] = [];
    t.on("message", (a, b) => calls.push(["m1", a, b]));
    t.on("message", (a) => calls.push(["m2", a]));
    t.prependListener("message", () => calls.push(["m0"]));
    t.once("close", (code) => calls.push(["close", code]));
    assert.equal(t.emit("message", "x", true), true);
    t.emit("close", 1000);
    t.emit("close", 1001); // once: gone
    assert.equal(t.emit("ping"), false);
    assert.deepEqual(calls, [["m0"], ["m1", "x", true], ["m2", "x"], ["close", 1000]]);
    const later = once(t, "open");
    t.emit("open", 1);
    assert.deepEqual(await later, [1]);
  });

  it("eventNames lists only events with listeners (the preset slots are not events)", () => {
    const t = new Thing();
    assert.deepEqual(t.eventNames(), []);
    const f = () => {};
    t.on("message", f);
    t.on("custom", f);
    const sym = Symbol("s");
    t.on(sym, f);
    assert.deepEqual(t.eventNames(), ["message", "custom", sym]);
    t.off("message", f);
    assert.deepEqual(t.eventNames(), ["custom", sym]);
    assert.equal(t.listenerCount("message"), 0);
    t.removeAllListeners();
    assert.deepEqual(t.eventNames(), []);
  });

  it("an unheard 'error' still throws, as with any EventEmitter", () => {
    const t = new Thing();
    assert.throws(() => t.emit("error", new Error("unheard")), /unheard/);
    t.on("error", () => {});
    assert.equal(t.emit("error", new Error("heard")), true);
  });

  it("listeners removed and added again keep working; instances do not share listeners", () => {
    const a = new Thing();
    const b = new Thing();
    let n = 0;
    const f = () => n++;
    a.on("message", f);
    a.off("message", f);
    a.on("message", f);
    a.emit("message");
    b.emit("message");
    assert.equal(n, 1);
    assert.equal(b.listenerCount("message"), 0);
  });

  it("is the base of Connection", () => {
    assert.ok(Connection.prototype instanceof ShapedEmitter);
  });
});
