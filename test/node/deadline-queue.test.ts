// DeadlineQueue (src/node/deadline-queue.ts): entries sharing one timeout expire in the order they
// were added, never early, with one wheel entry for all; removed entries never expire; an
// expiry that throws does not stop the others; clear() forgets everything.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DeadlineQueue, type QueuedEntry } from "../../src/node/deadline-queue.js";
import { wheel } from "../../src/node/timer-wheel.js";
import { sleep, UNIT, until } from "../helpers/time.js";

interface Item extends QueuedEntry {
  name: string;
  added: number;
}
const item = (name: string): Item => ({ name, added: 0, expires: 0, older: null, newer: null, queued: false });

describe("DeadlineQueue", () => {
  it("counts a deadline from the time of add, not from the running wheel's cached clock", () => {
    const queue = new DeadlineQueue<Item>(10_000, () => {});
    const other = new DeadlineQueue<Item>(10_000, () => {});
    other.add(item("keeps the wheel running (its clock cached between ticks)"));
    const start = Date.now();
    while (Date.now() - start < 20) {} // the wall clock moves on; the wheel's cached one does not
    const e = item("e");
    const before = wheel.clock();
    queue.add(e);
    assert.ok(e.expires >= before + 10_000, `expires ${e.expires - before} ms after add`);
    queue.clear();
    other.clear();
  });

  it("expires in order, each not before its own deadline, with one wheel entry", async () => {
    const expired: Array<[string, number]> = [];
    const queue = new DeadlineQueue<Item>(2 * UNIT, (e) => expired.push([e.name, Date.now() - e.added]));
    const entries = wheel.size;
    const [a, b, c] = [item("a"), item("b"), item("c")];
    for (const e of [a, b]) {
      e.added = Date.now();
      queue.add(e);
    }
    await sleep(UNIT / 2);
    c.added = Date.now();
    queue.add(c);
    assert.equal(wheel.size - entries, 1, "one wheel entry for three");
    assert.equal(a.queued && b.queued && c.queued, true);
    await until(() => expired.length === 3, "all three expired", 20 * UNIT);
    assert.deepEqual(
      expired.map(([n]) => n),
      ["a", "b", "c"],
    );
    for (const [name, waited] of expired) assert.ok(waited >= 2 * UNIT - 5, `${name} waited ${waited} ms`);
    assert.equal(a.queued || b.queued || c.queued, false);
    assert.equal(wheel.size, entries, "the wheel entry left once the queue was empty");
  });

  it("waits for the oldest again after an expiry added an entry (a listener handling another request)", async () => {
    let armedAt = -1;
    const [a, b, c] = [item("a"), item("b"), item("c")];
    const queue: DeadlineQueue<Item> = new DeadlineQueue<Item>(2 * UNIT, (e) => {
      if (e !== a) return;
      queue.add(c); // re-entrant: the wheel entry is unscheduled while the queue fires
      queueMicrotask(() => (armedAt = queue.deadline)); // after the wheel's call returned
    });
    queue.add(a);
    await sleep(UNIT);
    queue.add(b);
    await until(() => armedAt !== -1, "a expired", 20 * UNIT);
    assert.equal(b.queued && c.queued, true);
    assert.equal(armedAt, b.expires, "armed for b, the oldest, not for c");
    queue.clear();
  });

  it("never expires a removed entry, from any place in the queue; remove twice is harmless", async () => {
    const expired: string[] = [];
    const queue = new DeadlineQueue<Item>(UNIT, (e) => expired.push(e.name));
    const all = ["a", "b", "c", "d"].map(item);
    for (const e of all) queue.add(e);
    queue.remove(all[0]); // the oldest
    queue.remove(all[2]); // the middle
    queue.remove(all[3]); // the newest
    queue.remove(all[3]);
    assert.equal(all[3].older, null);
    await until(() => expired.length === 1, "b expired", 20 * UNIT);
    await sleep(UNIT);
    assert.deepEqual(expired, ["b"]);
  });

  it("goes on after an expiry that throws, and clear() forgets every entry", async () => {
    const expired: string[] = [];
    const queue = new DeadlineQueue<Item>(UNIT, (e) => {
      expired.push(e.name);
      if (e.name === "a") throw new Error("expiry failed");
    });
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on("warning", onWarning);
    try {
      queue.add(item("a"));
      queue.add(item("b"));
      await until(() => expired.length === 2, "both expired", 20 * UNIT);
      assert.deepEqual(expired, ["a", "b"]);
      await until(() => warnings.some((m) => m.includes("expiry failed")), "the wheel's warning");
    } finally {
      process.off("warning", onWarning);
    }
    const late = item("late");
    queue.add(late);
    queue.clear();
    assert.equal(late.queued, false);
    await sleep(2 * UNIT);
    assert.deepEqual(expired, ["a", "b"]);
  });
});
