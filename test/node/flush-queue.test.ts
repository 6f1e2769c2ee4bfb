/**
 * The flush queue: one flush per dirty target per turn, one join per pass for the same chunks,
 * and targets marked early flushed at the end of the read that marked them.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setImmediate as nextTurn } from "node:timers/promises";
import * as queue from "../../src/node/flush-queue.js";
import { type Flushable, flushEarly, joinChunks, markDirty, markEarly } from "../../src/node/flush-queue.js";

/** A target recording its flushes as `<name>` (the turn's) or `<name>!` (an early one). */
function target(name: string, flushed: string[]): Flushable {
  return { flushNow: () => flushed.push(`${name}!`), flushTurn: () => flushed.push(name) };
}

/** A target whose turn's flush runs `flush`. */
function onTurn(flush: () => unknown): Flushable {
  return {
    flushNow: () => assert.fail("an early flush of a target never marked early"),
    flushTurn: () => void flush(),
  };
}

describe("flush queue", () => {
  it("flushes every target marked in a turn once, at the end of the turn", async () => {
    const flushed: string[] = [];
    markDirty(target("a", flushed));
    markDirty(target("b", flushed));
    assert.deepEqual(flushed, [], "nothing before the turn ends");
    await nextTurn();
    assert.deepEqual(flushed, ["a", "b"]);
  });

  it("targets of one pass writing the same chunks share one join; other chunks get their own", async () => {
    const f1 = Buffer.from("frame-1");
    const f2 = Buffer.from("frame-2");
    const joins: Buffer[] = [];
    const write = (chunks: Uint8Array[]) =>
      onTurn(() =>
        joins.push(
          joinChunks(
            chunks,
            chunks.reduce((n, c) => n + c.byteLength, 0),
          ),
        ),
      );
    markDirty(write([f1, f2]));
    markDirty(write([f1, f2]));
    markDirty(write([f2, f1]));
    markDirty(write([f1]));
    markDirty(write([f1, f2]));
    await nextTurn();
    assert.deepEqual(joins.map(String), [
      "frame-1frame-2",
      "frame-1frame-2",
      "frame-2frame-1",
      "frame-1",
      "frame-1frame-2",
    ]);
    assert.equal(joins[1], joins[0], "the same chunks in the same order: the same Buffer");
    assert.notEqual(joins[2], joins[0]);
    assert.notEqual(joins[4], joins[0], "only the previous join is kept");
  });

  it("never reuses a join outside its pass: chunks may change between passes", async () => {
    const chunk = Buffer.from("aaaa");
    const other = Buffer.from("bb");
    let first: Buffer | undefined;
    markDirty(onTurn(() => (first = joinChunks([chunk, other], 6))));
    await nextTurn();
    chunk.write("cccc"); // the owner reuses its buffer for its next message
    let second: Buffer | undefined;
    markDirty(onTurn(() => (second = joinChunks([chunk, other], 6))));
    await nextTurn();
    assert.equal(String(first), "aaaabb");
    assert.equal(String(second), "ccccbb");
    // Outside a pass (a direct flush) nothing is shared either.
    const a = joinChunks([chunk, other], 6);
    const b = joinChunks([chunk, other], 6);
    assert.notEqual(a, b);
    assert.equal(String(b), "ccccbb");
  });

  it("targets marked early are flushed by flushEarly at once, each once", () => {
    const flushed: string[] = [];
    markEarly(target("a", flushed));
    markEarly(target("b", flushed));
    assert.equal(queue.earlyCount, 2);
    flushEarly();
    assert.deepEqual(flushed, ["a!", "b!"]);
    assert.equal(queue.earlyCount, 0);
    flushEarly();
    assert.deepEqual(flushed, ["a!", "b!"], "nothing twice");
    // The list is reused: marks after a flush are flushed by the next one, marks during a flush too.
    const c = target("c", flushed);
    markEarly({
      flushNow: () => {
        flushed.push("d!");
        markEarly(c);
      },
      flushTurn: () => assert.fail(),
    });
    flushEarly();
    assert.deepEqual(flushed, ["a!", "b!", "d!"]);
    assert.equal(queue.earlyCount, 1, "marked during the flush: left for the next");
    flushEarly();
    assert.deepEqual(flushed, ["a!", "b!", "d!", "c!"]);
  });

  it("early marks left at the end of the turn are dropped: the turn's flush wrote those targets", async () => {
    const flushed: string[] = [];
    const t = target("t", flushed);
    markDirty(t);
    markEarly(t); // marked outside a read (no flushEarly follows)
    await nextTurn();
    assert.deepEqual(flushed, ["t"]);
    assert.equal(queue.earlyCount, 0);
    flushEarly();
    assert.deepEqual(flushed, ["t"]);
  });

  it("a target whose flush throws strands none after it; the queue goes on", async () => {
    const flushed: string[] = [];
    const thrown: unknown[] = [];
    process.setUncaughtExceptionCaptureCallback((error) => thrown.push(error));
    try {
      markDirty(
        onTurn(() => {
          throw new Error("a transport's write threw");
        }),
      );
      markDirty(target("b", flushed));
      await nextTurn();
      assert.equal(thrown.length, 1);
      assert.match(String(thrown[0]), /transport's write threw/);
      await nextTurn();
      assert.deepEqual(flushed, ["b"], "the target after the throw is written by the next turn");
      // Marks made during a pass still wait for the next pass (the spare list is not the live one).
      markDirty(onTurn(() => markDirty(target("c", flushed))));
      await nextTurn();
      assert.deepEqual(flushed, ["b"]);
      await nextTurn();
      assert.deepEqual(flushed, ["b", "c"]);
    } finally {
      process.setUncaughtExceptionCaptureCallback(null);
    }
  });
});
