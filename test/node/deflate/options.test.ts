/** The `perMessageDeflate` option: presets, overrides, validation (OptionError naming the option), the limiter. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  createClientDeflate,
  createServerDeflate,
  DEFLATE_PRESETS,
  resolveDeflateOptions,
  ZlibLimiter,
} from "../../../src/node/deflate/index.js";
import { OptionError } from "../../../src/protocol/errors.js";
import { asOffer } from "./helpers.js";

describe("perMessageDeflate options", () => {
  it("true means the shared preset", () => {
    const r = resolveDeflateOptions(true);
    assert.equal(r.preset, "shared");
    assert.equal(r.serverNoContextTakeover, true);
    assert.equal(r.clientNoContextTakeover, true);
    assert.equal(r.threshold, DEFLATE_PRESETS.shared.threshold);
    assert.equal(r.level, 6);
    assert.equal(r.concurrency, undefined);
  });

  it("explicit options override the preset", () => {
    const r = resolveDeflateOptions({ preset: "small", memLevel: 9, serverMaxWindowBits: 13, threshold: 0, level: 1 });
    assert.equal(r.memLevel, 9);
    assert.equal(r.serverMaxWindowBits, 13);
    assert.equal(r.clientMaxWindowBits, 11);
    assert.equal(r.threshold, 0);
    assert.equal(r.level, 1);
    const off = resolveDeflateOptions({ preset: "shared", serverNoContextTakeover: false });
    assert.equal(off.serverNoContextTakeover, false);
    assert.equal(off.clientNoContextTakeover, true);
  });

  const bad: Array<[string, unknown]> = [
    ["perMessageDeflate.preset", { preset: "huge" }],
    ["perMessageDeflate.level", { level: 10 }],
    ["perMessageDeflate.level", { level: 1.5 }],
    ["perMessageDeflate.memLevel", { memLevel: 0 }],
    ["perMessageDeflate.threshold", { threshold: -1 }],
    ["perMessageDeflate.serverMaxWindowBits", { serverMaxWindowBits: 7 }],
    ["perMessageDeflate.clientMaxWindowBits", { clientMaxWindowBits: 16 }],
    ["perMessageDeflate.clientMaxWindowBits", { clientMaxWindowBits: "15" }],
    ["perMessageDeflate.serverNoContextTakeover", { serverNoContextTakeover: 1 }],
    ["perMessageDeflate.clientNoContextTakeover", { clientNoContextTakeover: "yes" }],
    ["perMessageDeflate.concurrency", { concurrency: 0 }],
    ["perMessageDeflate.windowBits", { windowBits: 10 }],
    ["perMessageDeflate", null],
    ["perMessageDeflate", [1]],
  ];
  for (const [option, value] of bad) {
    it(`refuses ${JSON.stringify(value)} with an OptionError naming ${option}`, () => {
      for (const create of [createServerDeflate, createClientDeflate]) {
        assert.throws(
          () => create(value as never),
          (e: unknown) => e instanceof OptionError && e.option === option,
        );
      }
    });
  }

  it("server presets answer Chromium's offer as documented", () => {
    const chromium = [asOffer({ client_max_window_bits: true })];
    const answer = (preset: "shared" | "dedicated" | "small") => {
      const r = createServerDeflate({ preset }).negotiate(chromium);
      r?.session.close?.();
      return r?.params;
    };
    assert.deepEqual(answer("shared"), { server_no_context_takeover: true, client_no_context_takeover: true });
    assert.deepEqual(answer("dedicated"), {});
    assert.deepEqual(answer("small"), { server_max_window_bits: "11", client_max_window_bits: "11" });
  });

  it("client presets make the matching offers", () => {
    assert.deepEqual(createClientDeflate({ preset: "dedicated" }).offers(), [{ client_max_window_bits: true }]);
    assert.deepEqual(createClientDeflate(true).offers(), [
      { server_no_context_takeover: true, client_no_context_takeover: true, client_max_window_bits: true },
    ]);
    assert.deepEqual(createClientDeflate({ preset: "small" }).offers(), [
      { server_max_window_bits: "11", client_max_window_bits: "11" },
    ]);
  });
});

describe("ZlibLimiter", () => {
  it("runs at most `concurrency` jobs, in FIFO order, and passes results and errors through", async () => {
    const limiter = new ZlibLimiter(2);
    const started: number[] = [];
    const gates: Array<() => void> = [];
    const jobs = Array.from({ length: 6 }, (_, i) =>
      limiter.run(
        () =>
          new Promise<number>((resolve, reject) => {
            started.push(i);
            gates[i] = () => (i === 3 ? reject(new Error("job 3")) : resolve(i * 10));
          }),
      ),
    );
    const settled = Promise.allSettled(jobs);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(started, [0, 1]);
    assert.equal(limiter.pending, 4);
    for (let i = 0; i < 6; i++) {
      gates[i]!();
      await new Promise((r) => setImmediate(r));
      assert.ok(limiter.active <= 2);
    }
    const results = await settled;
    assert.deepEqual(started, [0, 1, 2, 3, 4, 5]);
    assert.deepEqual(
      results.map((r) => (r.status === "fulfilled" ? r.value : (r.reason as Error).message)),
      [0, 10, 20, "job 3", 40, 50],
    );
    assert.equal(limiter.active, 0);
  });

  it("turns a job that throws synchronously into a rejection and frees its slot", async () => {
    const limiter = new ZlibLimiter(1);
    await assert.rejects(
      limiter.run(() => {
        throw new Error("sync");
      }),
    );
    assert.equal(await limiter.run(async () => 1), 1);
    assert.equal(limiter.active, 0);
  });

  it("refuses a concurrency below 1", () => {
    assert.throws(() => new ZlibLimiter(0), RangeError);
  });
});
