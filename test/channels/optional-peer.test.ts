import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadPeer, MissingPeerError, providePeer } from "../../src/channels/brokers/optional-peer.js";
import { MissingPeerError as Exported } from "../../src/channels/index.js";

describe("optional peers", () => {
  it("a peer that is not installed: MissingPeerError thrown at once, naming the package to install", () => {
    assert.throws(
      () => loadPeer("wirecable-no-such-peer", "SomeBroker"),
      (error: unknown) => {
        assert.ok(error instanceof MissingPeerError);
        assert.equal(error.code, "ERR_WIRECABLE_MISSING_PEER");
        assert.equal(error.peer, "wirecable-no-such-peer");
        assert.equal(error.feature, "SomeBroker");
        assert.equal(
          error.message,
          'SomeBroker needs the optional peer dependency "wirecable-no-such-peer": npm install wirecable-no-such-peer',
        );
        assert.ok(error.cause instanceof Error);
        return true;
      },
    );
    assert.equal(Exported, MissingPeerError);
  });

  it("an installed peer loads through import()", async () => {
    const mod = await loadPeer<typeof import("ioredis")>("ioredis", "RedisBroker");
    assert.equal(typeof mod.Redis, "function");
  });

  it("a provided loader (a bundle's own copy) takes precedence and skips resolution", async () => {
    const fake = { answer: 42 };
    providePeer("wirecable-bundled-peer", async () => fake);
    assert.equal(await loadPeer("wirecable-bundled-peer", "Bundle"), fake);
  });
});
