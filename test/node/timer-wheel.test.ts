import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TimerWheel } from "../../src/node/timer-wheel.js";
import { sleep } from "../helpers/time.js";

describe("TimerWheel", () => {
  it("fires entries in deadline order, never early, and stops when empty", async () => {
    const wheel = new TimerWheel(10);
    const fired: Array<[string, number]> = [];
    const start = Date.now();
    const mk = (name: string) => ({
      deadline: -1,
      slot: -1,
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
      onTimer() {
        count++;
        throw new Error("boom");
      },
    };
    const other = {
      deadline: -1,
      slot: -1,
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
        onTimer() {
          at = Date.now() - start;
        },
      },
      600,
    );
    await sleep(800);
    assert.ok(at >= 599, `fired at ${at}`);
  });
});
