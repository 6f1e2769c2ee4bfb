import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { describe, it } from "node:test";
import { compileOrigins } from "../../src/node/origin.js";

const req = {} as IncomingMessage;

describe("origins", () => {
  it("matches exact origins case-insensitively, default ports normalised", () => {
    const check = compileOrigins(["https://Example.com", /^https:\/\/[a-z]+\.example\.org$/]);
    assert.equal(check("https://example.com", req), true);
    assert.equal(check("https://example.com:443", req), true);
    assert.equal(check("https://a.example.org", req), true);
    assert.equal(check("https://evil.com", req), false);
    assert.equal(check("https://example.com.evil.com", req), false);
    assert.equal(check(undefined, req), false);
  });
  it('"*" allows everything, a function decides alone', () => {
    assert.equal(compileOrigins(["*"])(undefined, req), true);
    assert.equal(compileOrigins((o) => o === "x")("x", req), true);
    assert.equal(compileOrigins((o) => o === "x")("y", req), false);
  });
});
