import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TokenBucket } from "../../src/node/rate-limiter.js";

describe("TokenBucket", () => {
  it("allows a burst of `messages`, then refills at messages/interval", () => {
    const bucket = new TokenBucket(3, 1000, 0);
    assert.equal(bucket.take(0), true);
    assert.equal(bucket.take(0), true);
    assert.equal(bucket.take(0), true);
    assert.equal(bucket.take(0), false);
    assert.equal(bucket.take(200), false); // 0.6 tokens
    assert.equal(bucket.take(340), true); // 1.02 tokens
    assert.equal(bucket.take(10_000), true); // capped at 3
    assert.equal(bucket.take(10_000), true);
    assert.equal(bucket.take(10_000), true);
    assert.equal(bucket.take(10_000), false);
  });
});
