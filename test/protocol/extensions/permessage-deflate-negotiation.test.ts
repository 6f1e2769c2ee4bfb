/**
 * RFC 7692 section 7.1 negotiation, both halves: every parameter with and without value, every
 * invalid form, duplicates, several offers, and the offers real browsers send.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HandshakeError } from "../../../src/protocol/errors.js";
import { parseExtensions } from "../../../src/protocol/extensions/extension-header.js";
import {
  ClientPerMessageDeflate,
  negotiateAsServer,
  PerMessageDeflateSession,
  parseDeflateParams,
  ServerPerMessageDeflate,
} from "../../../src/protocol/extensions/index.js";
import { offer, RecordingCodec, recordingFactory } from "./helpers.js";

const INVALID_OFFERS: Array<[string, ReturnType<typeof offer>]> = [
  ["unknown parameter", offer("foo")],
  ["unknown parameter with value", offer(["x_max_window_bits", "10"])],
  ["server_max_window_bits without value", offer("server_max_window_bits")],
  ["server_max_window_bits=7", offer(["server_max_window_bits", "7"])],
  ["server_max_window_bits=16", offer(["server_max_window_bits", "16"])],
  ["server_max_window_bits=0", offer(["server_max_window_bits", "0"])],
  ["server_max_window_bits=08 (leading zero)", offer(["server_max_window_bits", "08"])],
  ["server_max_window_bits=010", offer(["server_max_window_bits", "010"])],
  ["server_max_window_bits=0x9", offer(["server_max_window_bits", "0x9"])],
  ["server_max_window_bits=9.0", offer(["server_max_window_bits", "9.0"])],
  ["server_max_window_bits=+9", offer(["server_max_window_bits", "+9"])],
  ["server_max_window_bits=1e1", offer(["server_max_window_bits", "1e1"])],
  ["server_max_window_bits=empty", offer(["server_max_window_bits", ""])],
  ["client_max_window_bits=abc", offer(["client_max_window_bits", "abc"])],
  ["client_max_window_bits=7", offer(["client_max_window_bits", "7"])],
  ["client_max_window_bits=16", offer(["client_max_window_bits", "16"])],
  ["server_no_context_takeover with a value", offer(["server_no_context_takeover", "1"])],
  ["client_no_context_takeover with a value", offer(["client_no_context_takeover", "true"])],
  ["duplicate server_no_context_takeover", offer("server_no_context_takeover", "server_no_context_takeover")],
  ["duplicate client_no_context_takeover", offer("client_no_context_takeover", "client_no_context_takeover")],
  ["duplicate server_max_window_bits", offer(["server_max_window_bits", "10"], ["server_max_window_bits", "10"])],
  ["duplicate client_max_window_bits", offer("client_max_window_bits", ["client_max_window_bits", "10"])],
];

describe("parseDeflateParams", () => {
  it("accepts every window size 8-15, with and without value where allowed", () => {
    for (let bits = 8; bits <= 15; bits++) {
      const p = parseDeflateParams(
        offer(["server_max_window_bits", String(bits)], ["client_max_window_bits", String(bits)]),
        true,
      );
      assert.deepEqual(p, {
        serverNoContextTakeover: false,
        clientNoContextTakeover: false,
        serverMaxWindowBits: bits,
        clientMaxWindowBits: bits,
      });
    }
    const bare = parseDeflateParams(offer("client_max_window_bits"), true);
    assert.equal(typeof bare === "object" && bare.clientMaxWindowBits, true);
  });

  it("refuses client_max_window_bits without value in a response only", () => {
    assert.equal(typeof parseDeflateParams(offer("client_max_window_bits"), true), "object");
    assert.equal(typeof parseDeflateParams(offer("client_max_window_bits"), false), "string");
  });

  for (const [name, o] of INVALID_OFFERS) {
    it(`reports ${name} as invalid, in offers and responses`, () => {
      assert.equal(typeof parseDeflateParams(o, true), "string");
      assert.equal(typeof parseDeflateParams(o, false), "string");
    });
  }
});

describe("server negotiation (RFC 7692 7.1)", () => {
  it("accepts a bare offer with an empty response and context takeover both ways", () => {
    const r = negotiateAsServer([offer()], {});
    assert.deepEqual(r?.params, {});
    assert.deepEqual(r?.agreement, {
      serverNoContextTakeover: false,
      clientNoContextTakeover: false,
      serverMaxWindowBits: 15,
      clientMaxWindowBits: 15,
    });
  });

  it("accepts Chromium's offer `permessage-deflate; client_max_window_bits`", () => {
    const offers = parseExtensions("permessage-deflate; client_max_window_bits");
    assert.ok(offers);
    const r = negotiateAsServer(offers, {});
    assert.deepEqual(r?.params, {});
    assert.equal(r?.agreement.clientMaxWindowBits, 15);
    const limited = negotiateAsServer(offers, { clientMaxWindowBits: 10 });
    assert.deepEqual(limited?.params, { client_max_window_bits: "10" });
    assert.equal(limited?.agreement.clientMaxWindowBits, 10);
  });

  it("accepts Firefox's and ws's offers", () => {
    assert.ok(negotiateAsServer(parseExtensions("permessage-deflate")!, {}));
    assert.ok(negotiateAsServer(parseExtensions("permessage-deflate; client_max_window_bits=15")!, {}));
  });

  it("honours and echoes server_no_context_takeover (7.1.1.1)", () => {
    const r = negotiateAsServer([offer("server_no_context_takeover")], {});
    assert.deepEqual(r?.params, { server_no_context_takeover: true });
    assert.equal(r?.agreement.serverNoContextTakeover, true);
  });

  it("adds server_no_context_takeover on its own when configured", () => {
    const r = negotiateAsServer([offer()], { serverNoContextTakeover: true });
    assert.deepEqual(r?.params, { server_no_context_takeover: true });
  });

  it("echoes an offered client_no_context_takeover, and asks for it when configured (7.1.1.2)", () => {
    const offered = negotiateAsServer([offer("client_no_context_takeover")], {});
    assert.deepEqual(offered?.params, { client_no_context_takeover: true });
    assert.equal(offered?.agreement.clientNoContextTakeover, true);
    const asked = negotiateAsServer([offer()], { clientNoContextTakeover: true });
    assert.deepEqual(asked?.params, { client_no_context_takeover: true });
    assert.equal(asked?.agreement.clientNoContextTakeover, true);
  });

  it("answers server_max_window_bits with the same or a smaller value (7.1.2.1)", () => {
    for (let bits = 8; bits <= 15; bits++) {
      const r = negotiateAsServer([offer(["server_max_window_bits", String(bits)])], {});
      assert.deepEqual(r?.params, { server_max_window_bits: String(bits) });
      assert.equal(r?.agreement.serverMaxWindowBits, bits);
    }
    const smaller = negotiateAsServer([offer(["server_max_window_bits", "12"])], { serverMaxWindowBits: 10 });
    assert.deepEqual(smaller?.params, { server_max_window_bits: "10" });
    const bigConfig = negotiateAsServer([offer(["server_max_window_bits", "10"])], { serverMaxWindowBits: 12 });
    assert.deepEqual(bigConfig?.params, { server_max_window_bits: "10" });
  });

  it("may announce server_max_window_bits unasked", () => {
    const r = negotiateAsServer([offer()], { serverMaxWindowBits: 11 });
    assert.deepEqual(r?.params, { server_max_window_bits: "11" });
    assert.equal(r?.agreement.serverMaxWindowBits, 11);
  });

  it("answers client_max_window_bits only when offered (7.1.2.2)", () => {
    const notOffered = negotiateAsServer([offer()], { clientMaxWindowBits: 10 });
    assert.deepEqual(notOffered?.params, {});
    assert.equal(notOffered?.agreement.clientMaxWindowBits, 15);
    const bare = negotiateAsServer([offer("client_max_window_bits")], { clientMaxWindowBits: 10 });
    assert.deepEqual(bare?.params, { client_max_window_bits: "10" });
    const hint = negotiateAsServer([offer(["client_max_window_bits", "9"])], {});
    assert.deepEqual(hint?.params, { client_max_window_bits: "9" });
    assert.equal(hint?.agreement.clientMaxWindowBits, 9);
    const both = negotiateAsServer([offer(["client_max_window_bits", "12"])], { clientMaxWindowBits: 10 });
    assert.deepEqual(both?.params, { client_max_window_bits: "10" });
    const hintSmaller = negotiateAsServer([offer(["client_max_window_bits", "9"])], { clientMaxWindowBits: 10 });
    assert.deepEqual(hintSmaller?.params, { client_max_window_bits: "9" });
  });

  it("combines every parameter", () => {
    const r = negotiateAsServer(
      [
        offer(
          "server_no_context_takeover",
          "client_no_context_takeover",
          ["server_max_window_bits", "10"],
          ["client_max_window_bits", "11"],
        ),
      ],
      {},
    );
    assert.deepEqual(r?.params, {
      server_no_context_takeover: true,
      client_no_context_takeover: true,
      server_max_window_bits: "10",
      client_max_window_bits: "11",
    });
  });

  for (const [name, o] of INVALID_OFFERS) {
    it(`declines an offer with ${name} (RFC 7692 section 5), and takes the next valid one`, () => {
      assert.equal(negotiateAsServer([o], {}), null);
      const r = negotiateAsServer([o, offer("server_no_context_takeover"), offer()], {});
      assert.deepEqual(r?.params, { server_no_context_takeover: true });
    });
  }

  it("picks the first acceptable of several offers, in the client's order", () => {
    const offers = parseExtensions(
      "permessage-deflate; server_max_window_bits=10; client_max_window_bits, permessage-deflate; client_max_window_bits",
    );
    assert.ok(offers);
    assert.deepEqual(negotiateAsServer(offers, {})?.params, { server_max_window_bits: "10" });
    const firstInvalid = parseExtensions(
      "permessage-deflate; server_max_window_bits, permessage-deflate; server_max_window_bits=09, permessage-deflate; server_max_window_bits=11",
    );
    assert.ok(firstInvalid);
    assert.deepEqual(negotiateAsServer(firstInvalid, {})?.params, { server_max_window_bits: "11" });
  });

  it("ServerPerMessageDeflate returns a session on an RSV1-claiming codec with the server's view", () => {
    const ext = new ServerPerMessageDeflate(recordingFactory, { threshold: 10 });
    assert.equal(ext.name, "permessage-deflate");
    const r = ext.negotiate([offer(["server_max_window_bits", "10"], ["client_max_window_bits", "9"])]);
    assert.ok(r);
    assert.ok(r.session instanceof PerMessageDeflateSession);
    assert.equal(r.session.rsv1, true);
    assert.equal(r.session.name, "permessage-deflate");
    assert.deepEqual(RecordingCodec.last?.options, {
      deflateWindowBits: 10,
      deflateNoContextTakeover: false,
      inflateWindowBits: 9,
      inflateNoContextTakeover: false,
    });
    assert.equal(ext.negotiate([offer("bogus")]), null);
  });
});

describe("client negotiation (RFC 7692 7.1)", () => {
  const response = (header: string) => parseExtensions(header)![0]!;

  it("offers `client_max_window_bits` bare by default, like browsers", () => {
    assert.deepEqual(new ClientPerMessageDeflate(recordingFactory).offers(), [{ client_max_window_bits: true }]);
  });

  it("puts every configured parameter in the offer", () => {
    const ext = new ClientPerMessageDeflate(recordingFactory, {
      serverNoContextTakeover: true,
      clientNoContextTakeover: true,
      serverMaxWindowBits: 10,
      clientMaxWindowBits: 11,
    });
    assert.deepEqual(ext.offers(), [
      {
        server_no_context_takeover: true,
        client_no_context_takeover: true,
        server_max_window_bits: "10",
        client_max_window_bits: "11",
      },
    ]);
  });

  it("accepts a bare response: context takeover, 15-bit windows", () => {
    const s = new ClientPerMessageDeflate(recordingFactory).accept(response("permessage-deflate"));
    assert.ok(s instanceof PerMessageDeflateSession);
    assert.deepEqual(RecordingCodec.last?.options, {
      deflateWindowBits: 15,
      deflateNoContextTakeover: false,
      inflateWindowBits: 15,
      inflateNoContextTakeover: false,
    });
  });

  it("accepts server_no_context_takeover and server_max_window_bits the server adds unasked", () => {
    new ClientPerMessageDeflate(recordingFactory).accept(
      response("permessage-deflate; server_no_context_takeover; server_max_window_bits=9"),
    );
    assert.equal(RecordingCodec.last?.options.inflateNoContextTakeover, true);
    assert.equal(RecordingCodec.last?.options.inflateWindowBits, 9);
  });

  it("obeys client_no_context_takeover and client_max_window_bits from the server", () => {
    new ClientPerMessageDeflate(recordingFactory).accept(
      response("permessage-deflate; client_no_context_takeover; client_max_window_bits=8"),
    );
    assert.equal(RecordingCodec.last?.options.deflateNoContextTakeover, true);
    assert.equal(RecordingCodec.last?.options.deflateWindowBits, 8);
  });

  it("keeps its own client_max_window_bits and client_no_context_takeover when the server is silent", () => {
    new ClientPerMessageDeflate(recordingFactory, { clientMaxWindowBits: 10, clientNoContextTakeover: true }).accept(
      response("permessage-deflate"),
    );
    assert.equal(RecordingCodec.last?.options.deflateWindowBits, 10);
    assert.equal(RecordingCodec.last?.options.deflateNoContextTakeover, true);
  });

  const failures: Array<[string, ConstructorParameters<typeof ClientPerMessageDeflate>[1], string]> = [
    ["an unknown parameter", {}, "permessage-deflate; foo"],
    ["client_max_window_bits without value", {}, "permessage-deflate; client_max_window_bits"],
    ["server_max_window_bits without value", {}, "permessage-deflate; server_max_window_bits"],
    ["a window of 16", {}, "permessage-deflate; server_max_window_bits=16"],
    ["a window with a leading zero", {}, 'permessage-deflate; client_max_window_bits="010"'],
    ["a duplicate parameter", {}, "permessage-deflate; server_no_context_takeover; server_no_context_takeover"],
    ["a no_context_takeover with a value", {}, "permessage-deflate; client_no_context_takeover=1"],
    [
      "server_max_window_bits above the offer",
      { serverMaxWindowBits: 10 },
      "permessage-deflate; server_max_window_bits=11",
    ],
    ["server_max_window_bits missing after asking", { serverMaxWindowBits: 10 }, "permessage-deflate"],
    ["server_no_context_takeover missing after asking", { serverNoContextTakeover: true }, "permessage-deflate"],
    [
      "client_max_window_bits above the offer",
      { clientMaxWindowBits: 10 },
      "permessage-deflate; client_max_window_bits=12",
    ],
  ];
  for (const [name, options, header] of failures) {
    it(`fails the connection on ${name} (throws HandshakeError)`, () => {
      const ext = new ClientPerMessageDeflate(recordingFactory, options);
      assert.throws(() => ext.accept(response(header)), HandshakeError);
    });
  }

  it("accepts the quoted form of a valid value", () => {
    new ClientPerMessageDeflate(recordingFactory).accept(response('permessage-deflate; server_max_window_bits="12"'));
    assert.equal(RecordingCodec.last?.options.inflateWindowBits, 12);
  });
});
