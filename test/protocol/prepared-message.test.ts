import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PreparedMessage, prepareMessage } from "../../src/protocol/prepared-message.js";

describe("prepared messages", () => {
  it("frames once with the RFC 6455 5.2 length encodings", () => {
    assert.deepEqual([...prepareMessage("Hello").frame], [0x81, 5, 72, 101, 108, 108, 111]);
    const f126 = new PreparedMessage(new Uint8Array(256), true).frame;
    assert.deepEqual([...f126.subarray(0, 4)], [0x82, 126, 1, 0]);
    const f127 = new PreparedMessage(new Uint8Array(65536), true).frame;
    assert.deepEqual([...f127.subarray(0, 10)], [0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0]);
    const p = prepareMessage("hi");
    assert.equal(p.frame, p.frame); // built once
  });

  it("strings are text unless `binary`, bytes binary unless `binary: false`; the payload is kept as given", () => {
    assert.equal(prepareMessage("hi").binary, false);
    assert.equal(prepareMessage("hi", { binary: true }).opcode, 2);
    const bytes = new Uint8Array([104, 105]);
    const b = prepareMessage(bytes);
    assert.equal(b.binary, true);
    assert.equal(b.payload, bytes);
    assert.equal(prepareMessage(bytes, { binary: false }).opcode, 1);
    assert.deepEqual([...prepareMessage(new Uint8Array([1, 2]).buffer).payload], [1, 2]);
  });
});
