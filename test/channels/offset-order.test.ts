import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { OffsetOrder } from "../../src/channels/brokers/offset-order.js";

function recorder(wait = 60_000) {
  const got: string[] = [];
  const order = new OffsetOrder(
    (payload, position) => got.push(`${position.epoch}:${position.offset}:${payload}`),
    wait,
  );
  return { got, order };
}

describe("OffsetOrder", () => {
  it("delivers in offset order what arrives out of it, at once when the gap fills", () => {
    const { got, order } = recorder();
    order.accept({ epoch: "e", offset: 1 }, "a");
    order.accept({ epoch: "e", offset: 3 }, "c");
    order.accept({ epoch: "e", offset: 4 }, "d");
    assert.deepEqual(got, ["e:1:a"]);
    order.accept({ epoch: "e", offset: 2 }, "b");
    assert.deepEqual(got, ["e:1:a", "e:2:b", "e:3:c", "e:4:d"]);
    order.accept({ epoch: "e", offset: 5 }, "e");
    assert.deepEqual(got.at(-1), "e:5:e");
    order.clear();
  });

  it("every permutation of a window comes out in order", () => {
    const perms = (xs: number[]): number[][] =>
      xs.length <= 1
        ? [xs]
        : xs.flatMap((x, i) => perms([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p]));
    for (const p of perms([2, 3, 4, 5])) {
      const { got, order } = recorder();
      order.accept({ epoch: "e", offset: 1 }, "1");
      for (const n of p) order.accept({ epoch: "e", offset: n }, String(n));
      assert.deepEqual(got, ["e:1:1", "e:2:2", "e:3:3", "e:4:4", "e:5:5"], `arrival ${p.join(",")}`);
      order.clear();
    }
  });

  it("a gap never filled is given up after `wait`: the held go on in order, a late one still arrives", async () => {
    const { got, order } = recorder(20);
    order.accept({ epoch: "e", offset: 1 }, "a");
    order.accept({ epoch: "e", offset: 4 }, "d");
    order.accept({ epoch: "e", offset: 3 }, "c");
    const deadline = Date.now() + 5000;
    while (got.length < 3) {
      if (Date.now() > deadline) throw new Error("held messages never went on");
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.deepEqual(got, ["e:1:a", "e:3:c", "e:4:d"]);
    order.accept({ epoch: "e", offset: 2 }, "b"); // late: delivered, not dropped
    order.accept({ epoch: "e", offset: 5 }, "e"); // the one after the last given up
    assert.deepEqual(got.slice(3), ["e:2:b", "e:5:e"]);
  });

  it("a new epoch starts over from its first offset, after what the old one held", () => {
    const { got, order } = recorder();
    order.accept({ epoch: "e", offset: 7 }, "a");
    order.accept({ epoch: "e", offset: 9 }, "c");
    order.accept({ epoch: "f", offset: 1 }, "x");
    order.accept({ epoch: "f", offset: 2 }, "y");
    assert.deepEqual(got, ["e:7:a", "e:9:c", "f:1:x", "f:2:y"]);
  });

  it("clear() drops what is held and delivers nothing later", async () => {
    const { got, order } = recorder(10);
    order.accept({ epoch: "e", offset: 1 }, "a");
    order.accept({ epoch: "e", offset: 3 }, "c");
    order.clear();
    await new Promise((r) => setTimeout(r, 40));
    assert.deepEqual(got, ["e:1:a"]);
  });
});
