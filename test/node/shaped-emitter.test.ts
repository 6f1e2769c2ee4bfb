/** ShapedEmitter: an EventEmitter in Node's shape mode; every EventEmitter behaviour kept. */
import assert from "node:assert/strict";
import { EventEmitter, once } from "node:events";
import { describe, it } from "node:test";
import { inspect } from "node:util";
import { Connection } from "../../src/node/connection.js";
import { emitSafe, emitTwo, ShapedEmitter } from "../../src/node/shaped-emitter.js";

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

  it("keeps no own copy of the prototype's max listeners, capture and shape-mode flags; all still apply", () => {
    const t = new Thing();
    assert.equal(Object.hasOwn(t, "_maxListeners"), false);
    assert.deepEqual(Object.getOwnPropertySymbols(t), []);
    const table = (t as unknown as { _events: object })._events;
    assert.deepEqual(Object.keys(table), ["error", "message", "close"]);
    assert.match(inspect(table), /^Object <\[Object: null prototype\] \{\}>/, "shown as Object.create's objects are");
    assert.equal(t.getMaxListeners(), EventEmitter.defaultMaxListeners);
    t.setMaxListeners(1);
    assert.equal(t.getMaxListeners(), 1);
    assert.equal(new Thing().getMaxListeners(), EventEmitter.defaultMaxListeners, "per instance");
    const f = () => {};
    t.on("message", f);
    t.off("message", f);
    assert.ok("message" in (t as unknown as { _events: object })._events, "shape mode: the slot stays");
    // removeAllListeners() leaves shape mode for that emitter only (Node sets an own false flag).
    const left = new Thing();
    left.removeAllListeners();
    const kept = new Thing();
    for (const e of [left, kept]) {
      e.on("x", f);
      e.on("y", f);
      e.off("x", f);
    }
    assert.equal("x" in (left as unknown as { _events: object })._events, false, "deleted");
    assert.ok("x" in (kept as unknown as { _events: object })._events, "the others stay in shape mode");
  });

  it("is the base of Connection", () => {
    assert.ok(Connection.prototype instanceof ShapedEmitter);
  });

  it("emitTwo calls like emit: this and both arguments; none, several and once listeners too", () => {
    const t = new Thing();
    assert.equal(emitTwo(t, "message", "a", false), false);
    const calls: unknown[] = [];
    t.on("message", function (this: unknown, a: unknown, b: unknown) {
      calls.push([this === t, a, b]);
    });
    assert.equal(emitTwo(t, "message", "a", false), true);
    t.on("message", (a: unknown) => calls.push(["second", a]));
    emitTwo(t, "message", "b", true);
    t.removeAllListeners("message");
    t.once("message", (a: unknown, b: unknown) => calls.push(["once", a, b]));
    emitTwo(t, "message", "c", 1);
    emitTwo(t, "message", "d", 2);
    assert.deepEqual(calls, [
      [true, "a", false],
      [true, "b", true],
      ["second", "b"],
      ["once", "c", 1],
    ]);
    const plain = new EventEmitter();
    const plainCalls: unknown[] = [];
    plain.on("x", (a: unknown, b: unknown) => plainCalls.push([a, b]));
    emitTwo(plain, "x", 1, 2);
    assert.deepEqual(plainCalls, [[1, 2]]);
  });

  it("emitTwo leaves a throwing listener's exception to the caller, as emit does", () => {
    const t = new Thing();
    t.on("message", () => {
      throw new Error("handler");
    });
    assert.throws(() => emitTwo(t, "message", 1, 2), /handler/);
  });

  it("emitTwo goes through emit when captureRejections is on (rejected promises become 'error')", async () => {
    const previous = EventEmitter.captureRejections;
    EventEmitter.captureRejections = true;
    try {
      const t = new Thing();
      const errors: unknown[] = [];
      t.on("error", (e) => errors.push(e));
      t.on("message", async () => {
        throw new Error("async handler");
      });
      emitTwo(t, "message", 1, 2);
      await new Promise((r) => setImmediate(r));
      assert.equal(errors.length, 1);
    } finally {
      EventEmitter.captureRejections = previous;
    }
  });

  it("emitSafe turns a throwing listener into an 'error' event, and never throws itself", () => {
    const t = new Thing();
    const errors: unknown[] = [];
    t.on("error", (e) => {
      errors.push(e);
      throw new Error("error listener throws too");
    });
    t.on("drain", () => {
      throw new Error("drain listener");
    });
    emitSafe(t, "drain");
    assert.deepEqual(
      errors.map((e) => (e as Error).message),
      ["drain listener"],
    );
    emitSafe(t, "error", new Error("direct")); // a throwing 'error' listener is swallowed
    assert.equal(errors.length, 2);
  });
});

describe("ShapedEmitter: the removeListener event", () => {
  /** The 'removeListener' events `e` emits under the same uses (Node's shape mode skips some). */
  function removals(e: EventEmitter): unknown[] {
    const log: unknown[] = [];
    const onRemove = (name: unknown, fn: unknown) => log.push([name, fn === f ? "f" : fn === g ? "g" : "?"]);
    const f = () => {};
    const g = () => {};
    e.on("removeListener", onRemove);
    e.on("message", f);
    e.off("message", f); // the only listener
    e.on("custom", f);
    e.on("custom", g);
    e.removeListener("custom", f); // one of two
    e.removeListener("custom", g); // the last
    e.once("close", g);
    e.emit("close"); // a once wrapper removes itself
    e.on("error", f);
    e.removeAllListeners("error");
    e.off("message", f); // not there: no event
    e.off("removeListener", onRemove); // gone before it could hear itself
    e.on("message", f);
    e.off("message", f);
    return log;
  }

  it("is emitted as a plain EventEmitter emits it", () => {
    const expected = removals(new EventEmitter());
    assert.deepEqual(expected, [
      ["message", "f"],
      ["custom", "f"],
      ["custom", "g"],
      ["close", "g"],
      ["error", "f"],
    ]);
    assert.deepEqual(removals(new Thing()), expected);
  });

  it("is emitted once, not twice, once removeAllListeners() has left shape mode", () => {
    const t = new Thing();
    t.removeAllListeners();
    assert.deepEqual(removals(t), removals(new EventEmitter()));
  });

  it("is what a Connection inherits (removeListener and off)", () => {
    const seen: unknown[] = [];
    const proto = Connection.prototype as unknown as EventEmitter;
    assert.equal(proto.removeListener, ShapedEmitter.prototype.removeListener);
    assert.equal(proto.off, ShapedEmitter.prototype.removeListener);
    const t = new Thing();
    t.on("removeListener", (name) => seen.push(name));
    const h = () => {};
    t.on("message", h);
    t.off("message", h);
    assert.deepEqual(seen, ["message"]);
  });
});

describe("ShapedEmitter: the removed listener reported", () => {
  it("is the function itself when its `listener` property is falsy, as EventEmitter reports it", () => {
    const report = (e: EventEmitter): unknown[] => {
      const seen: unknown[] = [];
      const f = Object.assign(() => {}, { listener: 0 });
      e.on("removeListener", (_name, fn) => seen.push(fn === f ? "f" : fn));
      e.on("message", f);
      e.off("message", f);
      return seen;
    };
    assert.deepEqual(report(new Thing()), report(new EventEmitter()));
    assert.deepEqual(report(new Thing()), ["f"]);
  });
});
