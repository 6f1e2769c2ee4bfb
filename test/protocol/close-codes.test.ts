import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  encodeClosePayload,
  failureClose,
  isValidCloseCode,
  parseClosePayload,
  truncateReason,
} from "../../src/protocol/close-codes.js";
import { ProtocolError } from "../../src/protocol/errors.js";
import { fromHex } from "../helpers/bytes.js";
import { closeBody } from "../helpers/frames.js";

describe("close codes (RFC 6455 7.4)", () => {
  it("accepts 1000-1003, 1007-1014, 3000-4999", () => {
    for (const c of [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999]) {
      assert.equal(isValidCloseCode(c), true, String(c));
    }
  });
  it("rejects 0-999, 1004-1006, 1015, 1016-2999, >= 5000", () => {
    for (const c of [0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]) {
      assert.equal(isValidCloseCode(c), false, String(c));
    }
  });
  it("parses an empty body as 1005 and a 1-byte body as a 1002 error", () => {
    assert.deepEqual(parseClosePayload(new Uint8Array(0)), { code: 1005, reason: "" });
    const e = parseClosePayload(Uint8Array.of(3));
    assert.ok(e instanceof ProtocolError);
    assert.equal(e.closeCode, 1002);
  });
  it("rejects invalid codes with 1002 and invalid UTF-8 reasons with 1007", () => {
    const bad = parseClosePayload(closeBody(1005));
    assert.ok(bad instanceof ProtocolError && bad.code === "INVALID_CLOSE_CODE" && bad.closeCode === 1002);
    const utf = parseClosePayload(fromHex("03e8 ce ba e1 bd b9 cf 83 ce bc ce b5 ed a0 80 65 64 69 74 65 64"));
    assert.ok(utf instanceof ProtocolError && utf.closeCode === 1007);
    assert.deepEqual(parseClosePayload(closeBody(4000, "bye ü")), { code: 4000, reason: "bye ü" });
  });
  it("encodes code + reason and cuts long reasons at a character boundary", () => {
    assert.deepEqual(encodeClosePayload(1000, "ok"), Uint8Array.of(0x03, 0xe8, 0x6f, 0x6b));
    assert.equal(encodeClosePayload(1005).length, 0);
    const cut = truncateReason("é".repeat(100));
    assert.equal(cut.length, 122);
    assert.equal(new TextDecoder("utf-8", { fatal: true }).decode(cut), "é".repeat(61));
  });
});

describe("failureClose (RFC 6455 7.1.7)", () => {
  it("a ProtocolError closes with its own code and message", () => {
    const error = new ProtocolError("INVALID_UTF8", "bad text");
    assert.deepEqual(failureClose(error, undefined), { code: 1007, reason: "bad text" });
  });
  it("the host's closeReason chooses the reason, or the code and reason", () => {
    const error = new ProtocolError("INVALID_UTF8", "bad text");
    assert.deepEqual(
      failureClose(error, () => ""),
      { code: 1007, reason: "" },
    );
    assert.deepEqual(
      failureClose(error, () => ({ code: 1002, reason: "x" })),
      { code: 1002, reason: "x" },
    );
  });
  it("anything else is internal: 1011 and an empty reason, whatever closeReason says", () => {
    assert.deepEqual(
      failureClose(new Error("secret detail"), () => "leak"),
      { code: 1011, reason: "" },
    );
  });
});
