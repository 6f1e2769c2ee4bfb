import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { buildFrame, prepareMessage } from "../../src/node/prepared-message.js";

describe("prepared messages", () => {
  it("frames once with the RFC 6455 5.2 length encodings", () => {
    assert.deepEqual([...buildFrame(1, Buffer.from("Hello"))], [0x81, 5, 72, 101, 108, 108, 111]);
    const f126 = buildFrame(2, new Uint8Array(256));
    assert.deepEqual([...f126.subarray(0, 4)], [0x82, 126, 1, 0]);
    const f127 = buildFrame(2, new Uint8Array(65536));
    assert.deepEqual([...f127.subarray(0, 10)], [0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0]);
    const p = prepareMessage("hi");
    assert.equal(p.frame, p.frame); // cached
    assert.equal(p.binary, false);
    assert.equal(prepareMessage(new Uint8Array(2)).binary, true);
  });
});
