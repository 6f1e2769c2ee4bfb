/**
 * The session's own rules, on a recording codec (no zlib): when to compress (threshold,
 * `compress: false|true`), the RFC 7692 7.2.1 tail strip, 7.2.2 tail append, RSV1 handling and
 * error mapping.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ProtocolError } from "../../../src/protocol/errors.js";
import type { DeflateCodec } from "../../../src/protocol/extensions/deflate-codec.js";
import type { ExtensionMessage } from "../../../src/protocol/extensions/extension.js";
import { DEFLATE_TAIL, PerMessageDeflateSession } from "../../../src/protocol/extensions/index.js";
import { RecordingCodec } from "./helpers.js";

const agreement = {
  serverNoContextTakeover: false,
  clientNoContextTakeover: false,
  serverMaxWindowBits: 15,
  clientMaxWindowBits: 15,
};
const codecOptions = {
  deflateWindowBits: 15,
  deflateNoContextTakeover: false,
  inflateWindowBits: 15,
  inflateNoContextTakeover: false,
};

function message(size: number, extra: Partial<ExtensionMessage> = {}): ExtensionMessage {
  return { opcode: 2, rsv1: false, rsv2: false, rsv3: false, data: new Uint8Array(size).fill(7), ...extra };
}

describe("PerMessageDeflateSession", () => {
  it("compresses, sets RSV1 and strips 00 00 ff ff (RFC 7692 7.2.1)", async () => {
    const codec = new RecordingCodec(codecOptions);
    const s = new PerMessageDeflateSession(codec, agreement);
    const out = await s.processOutgoing(message(3));
    assert.equal(out.rsv1, true);
    assert.deepEqual(out.data, new Uint8Array([7, 7, 7]));
    assert.equal(out.opcode, 2);
  });

  it("keeps output that does not end with the tail", async () => {
    const codec: DeflateCodec = {
      deflate: async () => Uint8Array.of(1, 2, 3, 4, 5),
      inflate: async () => new Uint8Array(0),
      close() {},
    };
    const out = await new PerMessageDeflateSession(codec, agreement).processOutgoing(message(10));
    assert.deepEqual(out.data, Uint8Array.of(1, 2, 3, 4, 5));
  });

  it("sends messages below the threshold uncompressed, unless compress: true", async () => {
    const codec = new RecordingCodec(codecOptions);
    const s = new PerMessageDeflateSession(codec, agreement, { threshold: 100 });
    const small = message(99);
    assert.equal(await s.processOutgoing(small), small);
    assert.equal((await s.processOutgoing(message(100))).rsv1, true);
    assert.equal((await s.processOutgoing(message(5, { compress: true }))).rsv1, true);
    assert.equal(codec.deflated.length, 2);
  });

  it("never compresses a message sent with compress: false (CRIME/BREACH)", async () => {
    const codec = new RecordingCodec(codecOptions);
    const s = new PerMessageDeflateSession(codec, agreement);
    const secret = message(10_000, { compress: false });
    const out = await s.processOutgoing(secret);
    assert.equal(out, secret);
    assert.equal(out.rsv1, false);
    assert.equal(codec.deflated.length, 0);
  });

  it("passes messages without RSV1 through untouched (RFC 7692 6.1)", async () => {
    const codec = new RecordingCodec(codecOptions);
    const s = new PerMessageDeflateSession(codec, agreement);
    const plain = message(10);
    assert.equal(await s.processIncoming(plain, 0), plain);
    assert.equal(codec.inflated.length, 0);
  });

  it("inflates RSV1 messages with the tail appended (RFC 7692 7.2.2) and clears RSV1", async () => {
    const codec = new RecordingCodec(codecOptions);
    const s = new PerMessageDeflateSession(codec, agreement);
    const out = await s.processIncoming(message(4, { rsv1: true, opcode: 1 }), 0);
    assert.equal(out.rsv1, false);
    assert.equal(out.opcode, 1);
    assert.deepEqual(codec.inflated[0]?.[1], DEFLATE_TAIL);
  });

  it("passes MESSAGE_TOO_BIG on and maps other codec failures to EXTENSION_ERROR 1007", async () => {
    const tooBig = new ProtocolError("MESSAGE_TOO_BIG", "too big");
    const failing = (error: unknown): DeflateCodec => ({
      deflate: async () => new Uint8Array(0),
      inflate: async () => {
        throw error;
      },
      close() {},
    });
    await assert.rejects(
      Promise.resolve(
        new PerMessageDeflateSession(failing(tooBig), agreement).processIncoming(message(1, { rsv1: true }), 10),
      ),
      (e) => e === tooBig,
    );
    await assert.rejects(
      Promise.resolve(
        new PerMessageDeflateSession(failing(new Error("invalid stored block lengths")), agreement).processIncoming(
          message(1, { rsv1: true }),
          10,
        ),
      ),
      (e) => e instanceof ProtocolError && e.code === "EXTENSION_ERROR" && e.closeCode === 1007,
    );
  });

  it("closes its codec once", () => {
    const codec = new RecordingCodec(codecOptions);
    const s = new PerMessageDeflateSession(codec, agreement);
    s.close();
    s.close();
    assert.equal(codec.closed, 1);
  });
});
