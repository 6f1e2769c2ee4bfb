/** OutputQueue: a turn's chunks and arena ranges leave in order, in one write (one writev above 64 KiB). */
import assert from "node:assert/strict";
import type { Socket } from "node:net";
import { describe, it } from "node:test";
import { outputArena, slabAlloc } from "../../src/node/output-buffers.js";
import { OutputQueue } from "../../src/node/output-queue.js";

/** A socket stand-in recording writes and cork/uncork. */
function recorder() {
  const calls: Array<string | Buffer> = [];
  const socket = {
    write(chunk: Uint8Array) {
      calls.push(Buffer.from(chunk));
      return true;
    },
    cork() {
      calls.push("cork");
    },
    uncork() {
      calls.push("uncork");
    },
  } as unknown as Socket;
  return { calls, socket };
}

const text = (b: Uint8Array) => Buffer.from(b).toString();

describe("OutputQueue", () => {
  it("writes adjacent ranges of one slab as one view, without copying them", () => {
    const slab = Buffer.from("aaabbbccc");
    const q = new OutputQueue();
    q.pushRange(slab, 0, 3);
    q.pushRange(slab, 3, 6);
    q.pushRange(slab, 6, 9);
    assert.equal(q.size, 9);
    let written: Uint8Array | undefined;
    q.writeTo({
      write(chunk: Uint8Array) {
        written = chunk;
        return true;
      },
    } as unknown as Socket);
    assert.equal(text(written!), "aaabbbccc");
    assert.equal(written!.buffer, slab.buffer, "a view of the slab");
    assert.equal(q.size, 0);
  });

  it("keeps the order of chunks and ranges (also across slabs) in one write", () => {
    const slab1 = Buffer.from("1122");
    const slab2 = Buffer.from("33");
    const q = new OutputQueue();
    q.pushRange(slab1, 0, 2);
    q.push(Buffer.from("chunk"));
    q.pushRange(slab1, 2, 4);
    q.pushRange(slab2, 0, 2);
    const { calls, socket } = recorder();
    q.writeTo(socket);
    assert.deepEqual(calls.map(String), ["11chunk2233"]);
  });

  it("writes more than 64 KiB as one corked batch (writev), in order", () => {
    const q = new OutputQueue();
    q.push(Buffer.alloc(40_000, 1));
    q.pushRange(Buffer.from("xy"), 0, 2);
    q.push(Buffer.alloc(40_000, 2));
    const { calls, socket } = recorder();
    q.writeTo(socket);
    assert.equal(calls[0], "cork");
    assert.equal(calls.at(-1), "uncork");
    const parts = calls.slice(1, -1) as Buffer[];
    assert.deepEqual(
      parts.map((p) => p.length),
      [40_000, 2, 40_000],
    );
    assert.equal(q.size, 0);
  });

  it("writes nothing when empty, and nothing after clear()", () => {
    const q = new OutputQueue();
    const { calls, socket } = recorder();
    q.writeTo(socket);
    q.push(Buffer.from("dropped"));
    q.clear();
    q.writeTo(socket);
    assert.deepEqual(calls, []);
    assert.equal(q.size, 0);
  });

  it("writeTo(socket, done): done rides on the last write of every branch, run once after it", () => {
    const cases: Array<[string, (q: OutputQueue) => void, number]> = [
      ["empty", () => {}, 1],
      ["one run", (q) => q.pushRange(Buffer.from("abc"), 0, 3), 1],
      ["one chunk", (q) => q.push(Buffer.from("chunk")), 1],
      [
        "concatenated",
        (q) => {
          q.push(Buffer.from("a"));
          q.pushRange(Buffer.from("bc"), 0, 2);
        },
        1,
      ],
      [
        "writev",
        (q) => {
          q.push(Buffer.alloc(40_000, 1));
          q.push(Buffer.alloc(40_000, 2));
        },
        2,
      ],
      [
        "writev ending in slab frames",
        (q) => {
          q.push(Buffer.alloc(40_000, 1));
          q.push(Buffer.alloc(40_000, 2));
          const start = outputArena.reserve(2);
          q.pushRange(outputArena.bytes, start, start + 2);
        },
        3,
      ],
    ];
    for (const [name, fill, writes] of cases) {
      const q = new OutputQueue();
      fill(q);
      const written: Array<{ bytes: number; cb: ((error?: Error | null) => void) | undefined }> = [];
      const socket = {
        write(chunk: Uint8Array, cb?: (error?: Error | null) => void) {
          written.push({ bytes: chunk.byteLength, cb });
          return true;
        },
        cork() {},
        uncork() {},
      } as unknown as Socket;
      const order: string[] = [];
      q.writeTo(socket, () => order.push("done"));
      assert.equal(written.length, writes, name);
      assert.deepEqual(order, [], `${name}: not before the write completes`);
      assert.ok(
        written.slice(0, -1).every((w) => w.cb === undefined),
        `${name}: only the last write has a callback`,
      );
      for (const w of written) w.cb?.(null); // the socket completes its writes, in order
      assert.deepEqual(order, ["done"], `${name}: once, after the last write`);
    }
  });

  it("a backed-up socket gets slab views as copies of their own; other chunks as they are", () => {
    /** Frames in the output slab, as the engine writes them (a range, and a slab allocation). */
    const slabRange = (text: string): [Buffer, number, number] => {
      const start = outputArena.reserve(text.length);
      const bytes = outputArena.bytes;
      bytes.write(text, start, "latin1");
      return [bytes, start, start + text.length];
    };
    const isSlabView = (b: Uint8Array) => b.buffer.byteLength === 64 * 1024 && b.buffer.byteLength !== b.byteLength;
    const user = Buffer.from("user bytes");
    const big: Uint8Array[] = [Buffer.alloc(40_000, 1), Buffer.alloc(40_000, 2)];
    const cases: Array<[string, (q: OutputQueue) => void, string[]]> = [
      ["one run", (q) => q.pushRange(...slabRange("run")), ["run"]],
      ["one slab chunk", (q) => q.push(slabAlloc(4).fill("slab")), ["slab"]],
      ["one user chunk", (q) => q.push(user), ["user bytes"]],
      [
        "adjacent chunks",
        (q) => {
          const [bytes, start, end] = slabRange("abcdef");
          q.push(bytes.subarray(start, start + 3));
          q.push(bytes.subarray(start + 3, end));
        },
        ["abcdef"],
      ],
      [
        "writev stretches",
        (q) => {
          q.pushRange(...slabRange("a"));
          slabRange("-"); // not adjacent: two chunks
          q.pushRange(...slabRange("b"));
          q.push(big[0]!);
          q.push(big[1]!);
          q.pushRange(...slabRange("c"));
        },
        ["ab", "big", "big", "c"],
      ],
      [
        "a join",
        (q) => {
          q.push(Buffer.from("user "));
          q.pushRange(...slabRange("frame"));
        },
        ["user frame"],
      ],
      [
        "writev",
        (q) => {
          q.pushRange(...slabRange("head"));
          q.push(big[0]!);
          q.push(big[1]!);
        },
        ["head", "big", "big"],
      ],
    ];
    for (const [name, fill, expected] of cases) {
      for (const backedUp of [false, true]) {
        const q = new OutputQueue();
        fill(q);
        const written: Uint8Array[] = [];
        const socket = {
          write(chunk: Uint8Array) {
            written.push(chunk);
            return true;
          },
          cork() {},
          uncork() {},
        } as unknown as Socket;
        q.writeTo(socket, undefined, backedUp);
        const label = `${name}, backedUp ${backedUp}`;
        assert.deepEqual(
          written.map((c) => (c.byteLength === 40_000 ? "big" : text(c))),
          expected,
          label,
        );
        for (const chunk of written) {
          if (chunk === user || big.includes(chunk)) continue; // passed through, never copied
          // a writev copies what is short in it either way (a partial writev may keep many slabs);
          // a join is a copy of its own
          const view = !backedUp && !name.startsWith("writev") && name !== "a join";
          assert.equal(isSlabView(chunk), view, `${label}: ${text(chunk).slice(0, 8)} a slab view`);
        }
        assert.ok(written.includes(user) === (name === "one user chunk"), `${label}: the user's chunk itself`);
        if (name === "writev") assert.ok(written.includes(big[0]!) && written.includes(big[1]!), label);
        if (name === "writev stretches") assert.ok(written.includes(big[0]!) && written.includes(big[1]!), label);
        if (name === "a join")
          assert.equal(written[0]!.buffer.byteLength, 10, `${label}: memory of its own, no pool slice`);
      }
    }
  });

  it("a chunk that shrank after it was queued leaves zeros in the join, never other memory", () => {
    type Resizable = ArrayBuffer & { resize(length: number): void };
    const Resizable = ArrayBuffer as unknown as new (length: number, options: { maxByteLength: number }) => Resizable;
    const memory = new Resizable(5000, { maxByteLength: 5000 }); // above V8's on-heap size: malloc'd
    const tracking = new Uint8Array(memory).fill(0x41); // length-tracking: shrinks with its memory
    const q = new OutputQueue();
    q.push(tracking);
    const start = outputArena.reserve(4);
    outputArena.bytes.write("slab", start, "latin1");
    q.pushRange(outputArena.bytes, start, start + 4);
    q.push(Buffer.from("tail"));
    memory.resize(2); // the application changes its buffer after sending it: 4,998 bytes fewer
    const { calls, socket } = recorder();
    q.writeTo(socket);
    assert.deepEqual(calls, [Buffer.concat([Buffer.from("AAslabtail"), Buffer.alloc(4998)])]);
  });
});
