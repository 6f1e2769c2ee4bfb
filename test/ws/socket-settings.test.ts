/**
 * A ws socket's settings (ws's defaults where an option is absent) and the masking keys of
 * `generateMask`. The Connection they make, over real sockets: websocket.test.ts and ws's ported
 * suites (websocket-ws8.test.ts).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CLOSE_TIMEOUT, defaultSettings, maskFiller, settingsFrom } from "../../src/ws/socket-settings.js";

describe("ws socket settings", () => {
  it("takes ws's defaults where an option is absent", () => {
    assert.deepEqual(settingsFrom({}), { ...defaultSettings(), generateMask: undefined });
    assert.equal(defaultSettings().closeTimeout, CLOSE_TIMEOUT);
    assert.equal(defaultSettings().maxPayload, 100 * 1024 * 1024);
    assert.equal(defaultSettings().unhandledErrors, "throw");
  });

  it("reads every option; only 'ignore' changes the unhandledErrors policy", () => {
    const generateMask = (mask: Buffer): void => {
      mask.fill(1);
    };
    const options = {
      allowSynchronousEvents: false,
      autoPong: false,
      closeTimeout: 5,
      maxPayload: 10,
      skipUTF8Validation: true,
      unhandledErrors: "ignore" as const,
      generateMask,
    };
    assert.deepEqual(settingsFrom(options), options);
    assert.equal(settingsFrom({ unhandledErrors: "nonsense" as "throw" }).unhandledErrors, "throw");
    assert.equal(settingsFrom({ generateMask: "not a function" }).generateMask, undefined);
  });

  it("maskFiller gives every 4-byte slot its own generateMask key, a short tail included", () => {
    let n = 0;
    const fill = maskFiller((mask) => {
      n++;
      mask.fill(n);
    });
    const block = new Uint8Array(10);
    fill(block);
    assert.deepEqual([...block], [1, 1, 1, 1, 2, 2, 2, 2, 3, 3]);
    assert.equal(n, 3);
  });

  it("maskFiller: a key generateMask leaves alone is zeros, not the previous key", () => {
    let first = true;
    const fill = maskFiller((mask) => {
      if (first) mask.fill(9);
      first = false;
    });
    const block = new Uint8Array(8);
    fill(block);
    assert.deepEqual([...block], [9, 9, 9, 9, 0, 0, 0, 0]);
  });
});
