/**
 * RFC 7692 section 7.2.3 examples, byte-exact, through negotiated sessions on the zlib codec.
 * (The frame bytes `c1 07 f2 48 ...` of 7.2.3.1 are checked through the engine in
 * engine.test.ts; here the payloads.)
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fromHex, hex } from "../../helpers/bytes.js";
import { msg, sessionPair } from "./helpers.js";

const HELLO = "f248cdc9c90700"; // RFC 7692 7.2.3.1
const decode = (b: Uint8Array) => new TextDecoder().decode(b);

describe("RFC 7692 7.2.3 examples", () => {
  it('7.2.3.1: "Hello" compresses to f2 48 cd c9 c9 07 00', async () => {
    const p = sessionPair({ preset: "dedicated", threshold: 0 });
    try {
      const out = await p.server.processOutgoing(msg("Hello"));
      assert.equal(out.rsv1, true);
      assert.equal(hex(out.data), HELLO);
      const back = await p.client.processIncoming(out, 0);
      assert.equal(decode(back.data), "Hello");
    } finally {
      p.close();
    }
  });

  it('7.2.3.2: with context takeover the second "Hello" is f2 00 11 00 00 (sharing the window)', async () => {
    const p = sessionPair({ preset: "dedicated", threshold: 0 });
    try {
      const first = await p.server.processOutgoing(msg("Hello"));
      const second = await p.server.processOutgoing(msg("Hello"));
      assert.equal(hex(first.data), HELLO);
      assert.equal(hex(second.data), "f200110000");
      assert.equal(decode((await p.client.processIncoming(first, 0)).data), "Hello");
      assert.equal(decode((await p.client.processIncoming(second, 0)).data), "Hello");
    } finally {
      p.close();
    }
  });

  it("7.2.3.2: without context takeover both messages are f2 48 cd c9 c9 07 00", async () => {
    const p = sessionPair({ preset: "shared", threshold: 0 });
    try {
      assert.deepEqual(p.response, { server_no_context_takeover: true, client_no_context_takeover: true });
      const first = await p.server.processOutgoing(msg("Hello"));
      const second = await p.server.processOutgoing(msg("Hello"));
      assert.equal(hex(first.data), HELLO);
      assert.equal(hex(second.data), HELLO);
      assert.equal(decode((await p.client.processIncoming(second, 0)).data), "Hello");
    } finally {
      p.close();
    }
  });

  it("7.2.3.2: the receiver inflates the shared-window pair sent by a peer", async () => {
    const p = sessionPair({ preset: "dedicated" });
    try {
      const a = await p.server.processIncoming(msg(fromHex(HELLO), { rsv1: true }), 0);
      const b = await p.server.processIncoming(msg(fromHex("f200110000"), { rsv1: true }), 0);
      assert.equal(decode(a.data), "Hello");
      assert.equal(decode(b.data), "Hello");
    } finally {
      p.close();
    }
  });

  it("7.2.3.3: a DEFLATE block with no compression", async () => {
    const p = sessionPair({ preset: "dedicated" });
    try {
      const out = await p.server.processIncoming(msg(fromHex("000500faff48656c6c6f00"), { rsv1: true }), 0);
      assert.equal(decode(out.data), "Hello");
    } finally {
      p.close();
    }
  });

  it("7.2.3.4: a DEFLATE block with BFINAL set, then a next message on a new stream", async () => {
    for (const preset of ["dedicated", "shared"] as const) {
      const p = sessionPair({ preset }, { preset });
      try {
        const out = await p.server.processIncoming(msg(fromHex("f348cdc9c90700"), { rsv1: true }), 0);
        assert.equal(decode(out.data), "Hello");
        // The DEFLATE stream ended: the next message starts a new one.
        const next = await p.server.processIncoming(msg(fromHex(HELLO), { rsv1: true }), 0);
        assert.equal(decode(next.data), "Hello");
      } finally {
        p.close();
      }
    }
  });

  it("7.2.3.5: two DEFLATE blocks in one message", async () => {
    const p = sessionPair({ preset: "dedicated" });
    try {
      const out = await p.server.processIncoming(msg(fromHex("f24805000000ffffcac9c90700"), { rsv1: true }), 0);
      assert.equal(decode(out.data), "Hello");
    } finally {
      p.close();
    }
  });

  it("7.2.3.6: an empty message compresses to the single byte 00, and inflates back", async () => {
    const p = sessionPair({ preset: "dedicated", threshold: 0 });
    try {
      const out = await p.server.processOutgoing(msg(new Uint8Array(0), { compress: true }));
      assert.equal(hex(out.data), "00");
      assert.equal(out.rsv1, true);
      const back = await p.client.processIncoming(out, 0);
      assert.equal(back.data.byteLength, 0);
    } finally {
      p.close();
    }
  });
});
