/**
 * Properties of RFC 7692 negotiation over every configuration: whatever our client offers, our
 * server's answer is accepted by our client and both ends agree on compatible windows and
 * takeover; arbitrary parameter lists never make either side throw anything but HandshakeError.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { HandshakeError } from "../../../src/protocol/errors.js";
import {
  acceptAsClient,
  clientOfferParams,
  negotiateAsServer,
  parseDeflateParams,
} from "../../../src/protocol/extensions/index.js";
import { ClientPerMessageDeflate } from "../../../src/protocol/extensions/permessage-deflate.js";
import { recordingFactory } from "./helpers.js";

const bits = fc.option(fc.integer({ min: 8, max: 15 }), { nil: undefined });
const flag = fc.option(fc.boolean(), { nil: undefined });
const config = fc.record({
  serverNoContextTakeover: flag,
  clientNoContextTakeover: flag,
  serverMaxWindowBits: bits,
  clientMaxWindowBits: bits,
});
const asOffer = (params: Record<string, string | true>) => ({
  name: "permessage-deflate",
  params,
  rawParams: Object.entries(params),
});

describe("permessage-deflate negotiation properties", () => {
  it("our server always accepts our client's offer, and our client always accepts the answer", () => {
    fc.assert(
      fc.property(config, config, (clientConfig, serverConfig) => {
        const result = negotiateAsServer([asOffer(clientOfferParams(clientConfig))], serverConfig);
        assert.ok(result, "declined");
        const agreement = acceptAsClient(asOffer(result.params), clientConfig);
        assert.equal(typeof agreement, "object", String(agreement));
        if (typeof agreement === "string") return;
        const server = result.agreement;
        // The client compresses within what the server inflates with, and vice versa.
        assert.ok(agreement.clientMaxWindowBits <= server.clientMaxWindowBits);
        assert.ok(server.serverMaxWindowBits <= agreement.serverMaxWindowBits);
        // Whoever resets per message, the other side knows it.
        assert.equal(agreement.serverNoContextTakeover, server.serverNoContextTakeover);
        if (server.clientNoContextTakeover) assert.equal(agreement.clientNoContextTakeover, true);
        // Each side's own limits hold.
        if (serverConfig.serverMaxWindowBits !== undefined) {
          assert.ok(server.serverMaxWindowBits <= serverConfig.serverMaxWindowBits);
        }
        if (clientConfig.serverMaxWindowBits !== undefined) {
          assert.ok(server.serverMaxWindowBits <= clientConfig.serverMaxWindowBits);
        }
        if (clientConfig.clientMaxWindowBits !== undefined) {
          assert.ok(agreement.clientMaxWindowBits <= clientConfig.clientMaxWindowBits);
        }
        if (clientConfig.serverNoContextTakeover) assert.equal(server.serverNoContextTakeover, true);
      }),
      { numRuns: 2000 },
    );
  });

  const name = fc.oneof(
    fc.constantFrom(
      "server_no_context_takeover",
      "client_no_context_takeover",
      "server_max_window_bits",
      "client_max_window_bits",
    ),
    fc.string({ minLength: 1, maxLength: 12 }),
  );
  const value = fc.oneof(
    fc.constant(true as const),
    fc.integer({ min: -1, max: 20 }).map(String),
    fc.string({ maxLength: 4 }),
  );
  const rawParams = fc.array(fc.tuple(name, value), { maxLength: 6 });

  it("arbitrary parameter lists: the server returns null or a response; the client throws only HandshakeError", () => {
    fc.assert(
      fc.property(rawParams, fc.array(rawParams, { maxLength: 3 }), config, (params, more, serverConfig) => {
        const offers = [params, ...more].map((raw) => ({
          name: "permessage-deflate",
          params: Object.fromEntries(raw),
          rawParams: raw,
        }));
        const result = negotiateAsServer(offers, serverConfig);
        const firstValid = offers.find((o) => typeof parseDeflateParams(o, true) === "object");
        assert.equal(result === null, firstValid === undefined);
        const client = new ClientPerMessageDeflate(recordingFactory);
        try {
          client.accept(offers[0]!);
          assert.equal(typeof parseDeflateParams(offers[0]!, false), "object");
        } catch (error) {
          assert.ok(error instanceof HandshakeError, String(error));
        }
      }),
      { numRuns: 2000 },
    );
  });
});
