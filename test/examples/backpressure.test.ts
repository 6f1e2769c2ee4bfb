// examples/backpressure: a client that stops reading makes the server keep at most `capacity`
// ticks for it, dropping the oldest; when it reads again it catches up with recent ticks.
import assert from "node:assert/strict";
import { once } from "node:events";
import type { Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import WS from "ws";
import { DropOldestBuffer, type Stats, start } from "../../examples/backpressure/server.js";
import type { WebSocketServer } from "../../src/node/index.js";
import { sleep } from "../helpers/time.js";

describe("DropOldestBuffer", () => {
  it("keeps the newest `capacity` items in order", () => {
    const b = new DropOldestBuffer<number>(3);
    for (let i = 1; i <= 5; i++) b.push(i);
    assert.equal(b.dropped, 2);
    assert.deepEqual([b.shift(), b.shift(), b.shift(), b.shift()], [3, 4, 5, undefined]);
    assert.throws(() => new DropOldestBuffer(0), RangeError);
  });
});

describe("backpressure server", () => {
  let wss: WebSocketServer;
  let stats: Stats;
  before(async () => {
    ({ wss, stats } = await start({ port: 0, capacity: 200, highWater: 16 * 1024, batch: 50 }));
  });
  after(() => wss.close());

  it("bounds the buffer of a client that stops reading, then it catches up", async () => {
    const ws = new WS(wss.url!);
    const seqs: number[] = [];
    ws.on("message", (d) => seqs.push((JSON.parse(String(d)) as { seq: number }).seq));
    await once(ws, "open");
    const socket = (ws as unknown as { _socket: Socket })._socket;
    socket.pause(); // stop reading: the kernel buffers fill, then the server's
    const droppedBefore = stats.dropped;
    const deadline = Date.now() + 10_000;
    while (stats.dropped - droppedBefore < 1000 && Date.now() < deadline) await sleep(50);
    assert.ok(stats.dropped - droppedBefore >= 1000, `dropped ${stats.dropped - droppedBefore}`);
    assert.ok(stats.maxBuffered <= 200, `buffered ${stats.maxBuffered}`);
    const producedAtResume = stats.produced;
    const countAtResume = seqs.length;
    socket.resume();
    while (seqs.length === countAtResume || seqs.at(-1)! < producedAtResume) await sleep(20);
    const after = seqs.slice(countAtResume);
    const gaps = after.some((s, i) => i > 0 && s !== after[i - 1]! + 1);
    assert.ok(gaps, "old ticks were skipped");
    assert.ok(
      after.every((s, i) => i === 0 || s > after[i - 1]!),
      "still in order",
    );
    ws.close();
  });
});
