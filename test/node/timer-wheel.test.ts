import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type TimerEntry, TimerWheel } from "../../src/node/timer-wheel.js";
import { event, sleep, UNIT, until } from "../helpers/time.js";

/** An entry that records when it fired (ms since `start`) and then runs `act`. */
interface Probe extends TimerEntry {
  name: string;
  fired: number[];
  act: (self: Probe) => void;
}
function probe(name: string, start: number, act: (self: Probe) => void = () => {}): Probe {
  return {
    name,
    deadline: -1,
    slot: -1,
    wheelNext: null,
    wheelPrev: null,
    fired: [],
    act,
    onTimer() {
      this.fired.push(Date.now() - start);
      this.act(this);
    },
  };
}
/** True when `entry` is in no list (what the wheel leaves after a firing or a cancel). */
function detached(entry: TimerEntry): boolean {
  return entry.slot === -1 && entry.deadline === -1 && entry.wheelNext === null && entry.wheelPrev === null;
}

describe("TimerWheel", () => {
  it("counts its clock from its epoch (default 0: Date.now()), in small integers, and fires on that clock", async () => {
    assert.ok(Math.abs(new TimerWheel(50).now - Date.now()) <= 1);
    const epoch = Date.now() - 5000;
    const wheel = new TimerWheel(10, epoch);
    assert.equal(wheel.epoch, epoch);
    const now = wheel.now;
    assert.ok(Number.isInteger(now) && now >= 5000 && now < 5000 + 10 * UNIT, `now ${now}`);
    assert.ok(wheel.clock() >= now);
    const start = Date.now();
    const p = probe("at", start);
    wheel.schedule(p, wheel.clock() + UNIT);
    assert.ok(p.deadline < 2 ** 31, "a deadline on this clock is a small integer");
    await until(() => p.fired.length === 1, "fired");
    assert.ok(p.fired[0]! >= UNIT - 1, `fired after ${p.fired[0]} ms`);
  });

  it("counts scheduleIn's delay from the time of the call, not from the running wheel's cached clock", () => {
    const wheel = new TimerWheel(50);
    const other = { deadline: -1, slot: -1, onTimer() {} };
    wheel.scheduleIn(other, 10_000); // the wheel runs: its clock is cached between ticks
    const start = Date.now();
    while (Date.now() - start < 20) {} // the wall clock moves on
    const e = { deadline: -1, slot: -1, onTimer() {} };
    const before = Date.now();
    wheel.scheduleIn(e, 1000);
    assert.ok(e.deadline >= before + 1000, `due ${e.deadline - before} ms after the call`);
    wheel.cancel(e);
    wheel.cancel(other);
  });

  it("takes entries written without the link fields (deadline, slot, onTimer only)", async () => {
    const wheel = new TimerWheel(10);
    const fired: string[] = [];
    const bare = (name: string): TimerEntry => ({ deadline: -1, slot: -1, onTimer: () => fired.push(name) });
    const [a, b, c] = [bare("a"), bare("b"), bare("c")];
    wheel.scheduleIn(a, 10);
    wheel.scheduleIn(b, 10);
    wheel.scheduleIn(c, 10);
    wheel.cancel(b);
    await until(() => fired.length === 2, "a and c fired", 100 * UNIT);
    assert.deepEqual(fired.sort(), ["a", "c"]);
    assert.equal(wheel.size, 0);
  });

  it("fires entries in deadline order, never early, and stops when empty", async () => {
    const wheel = new TimerWheel(10);
    const fired: Array<[string, number]> = [];
    const start = Date.now();
    const mk = (name: string) => ({
      deadline: -1,
      slot: -1,
      wheelNext: null,
      wheelPrev: null,
      onTimer() {
        fired.push([name, Date.now() - start]);
      },
    });
    const a = mk("a");
    const b = mk("b");
    const c = mk("c");
    wheel.scheduleIn(b, 60);
    wheel.scheduleIn(a, 20);
    wheel.scheduleIn(c, 40);
    wheel.cancel(c);
    assert.equal(wheel.size, 2);
    await sleep(150);
    assert.deepEqual(
      fired.map(([n]) => n),
      ["a", "b"],
    );
    assert.ok(fired[0]![1] >= 19 && fired[1]![1] >= 59, `fired too early: ${JSON.stringify(fired)}`);
    assert.equal(wheel.size, 0);
  });

  it("reschedules an entry (one bucket at a time) and survives a throwing callback", async () => {
    const wheel = new TimerWheel(10);
    let count = 0;
    const entry = {
      deadline: -1,
      slot: -1,
      wheelNext: null,
      wheelPrev: null,
      onTimer() {
        count++;
        throw new Error("boom");
      },
    };
    const other = {
      deadline: -1,
      slot: -1,
      wheelNext: null,
      wheelPrev: null,
      fired: false,
      onTimer() {
        this.fired = true;
      },
    };
    wheel.scheduleIn(entry, 10);
    wheel.scheduleIn(entry, 30);
    wheel.scheduleIn(other, 30);
    assert.equal(wheel.size, 2);
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on("warning", onWarning);
    await sleep(100);
    process.off("warning", onWarning);
    assert.equal(count, 1);
    assert.equal(other.fired, true);
  });

  it("handles deadlines beyond one turn of the wheel", async () => {
    const wheel = new TimerWheel(1); // 512 slots of 1 ms: 600 ms is more than a turn
    let at = 0;
    const start = Date.now();
    wheel.scheduleIn(
      {
        deadline: -1,
        slot: -1,
        wheelNext: null,
        wheelPrev: null,
        onTimer() {
          at = Date.now() - start;
        },
      },
      600,
    );
    await sleep(800);
    assert.ok(at >= 599, `fired at ${at}`);
  });

  it("counts entries: a reschedule keeps the count, a second cancel or an unscheduled one is a no-op", async () => {
    const wheel = new TimerWheel(10);
    const start = Date.now();
    const a = probe("a", start);
    const b = probe("b", start);
    wheel.cancel(a);
    assert.equal(wheel.size, 0);
    wheel.scheduleIn(a, 5 * UNIT);
    wheel.scheduleIn(b, 5 * UNIT);
    wheel.scheduleIn(a, 6 * UNIT); // another bucket
    wheel.scheduleIn(a, 5 * UNIT); // back: the same bucket as b
    assert.equal(wheel.size, 2);
    wheel.cancel(b);
    wheel.cancel(b);
    assert.equal(wheel.size, 1);
    assert.ok(detached(b));
    let sizeInside = -1;
    a.act = () => {
      sizeInside = wheel.size;
    };
    wheel.scheduleIn(a, 2);
    assert.equal(wheel.size, 1);
    await until(() => a.fired.length === 1, "a fired");
    assert.equal(sizeInside, 0, "an entry has left the wheel when its callback runs");
    assert.ok(detached(a));
    assert.equal(wheel.size, 0);
    assert.equal(b.fired.length, 0);
  });

  it("lets a callback cancel the next entry of its bucket, due in the same tick", async () => {
    const wheel = new TimerWheel(10);
    const start = Date.now();
    const at = wheel.now + 3;
    // Pairs share one bucket and one deadline: whichever of a pair fires first cancels the other.
    const pairs: Array<[Probe, Probe]> = [];
    for (let i = 0; i < 4; i++) {
      const x = probe(`x${i}`, start);
      const y = probe(`y${i}`, start);
      x.act = () => wheel.cancel(y);
      y.act = () => wheel.cancel(x);
      pairs.push([x, y]);
    }
    for (const [x, y] of pairs) {
      wheel.schedule(x, at);
      wheel.schedule(y, at);
    }
    const last = probe("last", start);
    wheel.schedule(last, at + 3 * UNIT);
    await until(() => last.fired.length === 1, "the last entry fired");
    for (const [x, y] of pairs) {
      assert.equal(x.fired.length + y.fired.length, 1, `exactly one of ${x.name}/${y.name} fired`);
      assert.ok(detached(x) && detached(y));
    }
    assert.equal(wheel.size, 0);
  });

  it("lets a callback reschedule itself and a same-bucket entry, later or already due", async () => {
    const wheel = new TimerWheel(10);
    const start = Date.now();
    // Already due (in the past): it joins the tick being walked, not the next turn of the wheel.
    const self = probe("self", start, (e) => {
      if (e.fired.length < 3) wheel.schedule(e, wheel.now - 1000);
    });
    // Later: once more, 2 units after its first firing.
    let movedAt = 0;
    const later = probe("later", start, (e) => {
      if (e.fired.length === 1) {
        movedAt = Date.now() - start;
        wheel.scheduleIn(e, 2 * UNIT);
      }
    });
    // Two entries of one bucket: the first to fire moves the other 2 units on.
    let moved: Probe | undefined;
    const p = probe("p", start);
    const q = probe("q", start);
    const moveOther = (e: Probe): void => {
      if (moved !== undefined) return;
      moved = e === p ? q : p;
      wheel.scheduleIn(moved, 2 * UNIT);
    };
    p.act = moveOther;
    q.act = moveOther;
    const at = wheel.now + 3;
    for (const e of [self, later, p, q]) wheel.schedule(e, at);
    await until(() => later.fired.length === 2 && p.fired.length + q.fired.length === 2, "every firing");
    assert.equal(self.fired.length, 3);
    assert.ok(self.fired[2]! - self.fired[0]! < 10 * UNIT, `self fired at ${self.fired.join(", ")} ms`);
    assert.ok(later.fired[1]! >= movedAt + 2 * UNIT - 1, `later fired at ${later.fired.join(", ")} ms`);
    assert.equal(p.fired.length, 1);
    assert.equal(q.fired.length, 1);
    const first = moved === p ? q : p;
    assert.ok(moved!.fired[0]! >= first.fired[0]! + 2 * UNIT - 1, `${moved!.name} moved but fired early`);
    assert.equal(wheel.size, 0);
  });

  it("keeps entries of a later turn in their bucket, and lets a callback move them", async () => {
    const wheel = new TimerWheel(1); // 512 slots of 1 ms
    const start = Date.now();
    const now = wheel.now;
    // 88 and 600 ms from now: the same bucket, one turn apart.
    const late = probe("late", start);
    const lateMoved = probe("lateMoved", start);
    const soon = probe("soon", start, () => wheel.scheduleIn(lateMoved, 20));
    wheel.schedule(late, now + 600);
    wheel.schedule(lateMoved, now + 600);
    wheel.schedule(soon, now + 88);
    await until(() => late.fired.length === 1, "the later-turn entry fired", 30 * UNIT);
    assert.equal(soon.fired.length, 1);
    assert.equal(lateMoved.fired.length, 1);
    assert.ok(late.fired[0]! >= now + 600 - start, `late fired at ${late.fired[0]} ms`);
    assert.ok(lateMoved.fired[0]! >= soon.fired[0]! + 20 - 1, `moved fired at ${lateMoved.fired[0]} ms`);
    assert.ok(lateMoved.fired[0]! < late.fired[0]!, "the moved entry did not wait for its old turn");
    assert.equal(wheel.size, 0);
  });

  it("fires many entries of one bucket, cancelled ones excepted, each once", async () => {
    const wheel = new TimerWheel(10);
    const start = Date.now();
    const at = wheel.now + 3;
    const entries = Array.from({ length: 2000 }, (_, i) => probe(`e${i}`, start));
    for (const e of entries) wheel.schedule(e, at);
    for (let i = 0; i < entries.length; i += 4) wheel.cancel(entries[i]!);
    assert.equal(wheel.size, 1500);
    await until(() => wheel.size === 0, "the bucket emptied");
    entries.forEach((e, i) => {
      assert.equal(e.fired.length, i % 4 === 0 ? 0 : 1, e.name);
      assert.ok(detached(e));
    });
  });

  it("reports a throwing callback as a warning and runs the rest of the bucket", async () => {
    const wheel = new TimerWheel(10);
    const start = Date.now();
    const at = wheel.now + 3;
    const before = probe("before", start);
    const thrower = probe("thrower", start, () => {
      throw new Error("boom");
    });
    const after = probe("after", start);
    for (const e of [before, thrower, after]) wheel.schedule(e, at);
    const warning = event<[Error]>(process, "warning");
    const [w] = await warning;
    assert.match(w.message, /timer callback threw: Error: boom/);
    await until(() => before.fired.length === 1 && after.fired.length === 1, "the others fired");
    assert.equal(thrower.fired.length, 1);
    assert.equal(wheel.size, 0);
  });

  it("refuses an epoch in the future (its clock would start below zero): a RangeError naming it", () => {
    assert.throws(
      () => new TimerWheel(10, Date.now() + 100_000),
      (e: unknown) => e instanceof RangeError && /epoch/.test(String(e)),
    );
    const past = new TimerWheel(10, Date.now() - 5);
    assert.ok(past.clock() >= 5);
  });
});
