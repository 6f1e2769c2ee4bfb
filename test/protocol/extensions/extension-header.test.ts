// Sec-WebSocket-Extensions (RFC 6455 9.1): parsing (quoted strings, duplicates in rawParams,
// several offers, empty list elements, OWS), invalid syntax rejected, rendering, linearity.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  parseExtensions,
  renderExtension,
  renderExtensions,
} from "../../../src/protocol/extensions/extension-header.js";

describe("parseExtensions", () => {
  it("parses several offers with bare, token and quoted parameters", () => {
    const offers = parseExtensions(
      'permessage-deflate; client_max_window_bits; server_max_window_bits="10", permessage-deflate, x-foo;a=1',
    );
    assert.deepEqual(offers, [
      {
        name: "permessage-deflate",
        params: { client_max_window_bits: true, server_max_window_bits: "10" },
        rawParams: [
          ["client_max_window_bits", true],
          ["server_max_window_bits", "10"],
        ],
      },
      { name: "permessage-deflate", params: {}, rawParams: [] },
      { name: "x-foo", params: { a: "1" }, rawParams: [["a", "1"]] },
    ]);
  });

  it("keeps duplicate parameters in rawParams (params holds the first)", () => {
    const [offer] = parseExtensions("e; a=1; a=2; a") ?? [];
    assert.deepEqual(offer.rawParams, [
      ["a", "1"],
      ["a", "2"],
      ["a", true],
    ]);
    assert.deepEqual(offer.params, { a: "1" });
  });

  it("unescapes quoted-pairs and allows OWS around separators and empty list elements", () => {
    assert.deepEqual(
      parseExtensions(' ,  e ;\ta = "1\\0" ;b\t,, f ,')?.map((o) => [o.name, o.rawParams]),
      [
        [
          "e",
          [
            ["a", "10"],
            ["b", true],
          ],
        ],
        ["f", []],
      ],
    );
  });

  it("keeps a parameter named __proto__ as a plain own key", () => {
    const [offer] = parseExtensions("e; __proto__=x; constructor") ?? [];
    assert.equal(Object.getPrototypeOf(offer.params), Object.prototype);
    assert.deepEqual(Object.keys(offer.params), ["__proto__", "constructor"]);
    assert.equal(Object.getOwnPropertyDescriptor(offer.params, "__proto__")?.value, "x");
  });

  it("rejects invalid syntax with null", () => {
    const bad = [
      "",
      " , ",
      "e;",
      "e; ;a",
      "e; =1",
      "e; a=",
      'e; a="1',
      'e; a="1 2"', // unescaped value must be a token (RFC 6455 9.1)
      'e; a=""',
      'e; a="\\',
      "e f",
      "e; a b",
      "e; a=1=2",
      "e(x)",
      "e; a=(1)",
      'e; a="1"x',
      "é",
      "e; a=1;",
    ];
    for (const s of bad) assert.equal(parseExtensions(s), null, JSON.stringify(s));
  });

  it("never throws, and accepts what renderExtensions produces", () => {
    const token = fc.stringMatching(/^[a-z0-9_~!#$%&'*+.^`|-]{1,8}$/);
    const element = fc.record({
      name: token,
      params: fc.dictionary(token, fc.oneof(fc.constant<true>(true), token), { maxKeys: 4 }),
    });
    fc.assert(
      fc.property(fc.array(element, { minLength: 1, maxLength: 4 }), (elements) => {
        const parsed = parseExtensions(renderExtensions(elements));
        assert.deepEqual(
          parsed?.map((o) => [o.name, Object.entries(o.params)]),
          elements.map((e) => [e.name, Object.entries(e.params)]),
        );
      }),
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (s) => {
        const r = parseExtensions(s);
        assert.ok(r === null || r.length > 0);
      }),
    );
  });

  it("is linear on 16 KiB of adversarial input", () => {
    // The inputs behind CVE-2020-7662-style blowups: long runs of separators, quotes, escapes.
    const n = 16 * 1024;
    const inputs = [
      `e; a="${"\\a".repeat(n / 2)}`,
      `e; a="${"a".repeat(n)}`,
      `e${"; a".repeat(n / 3)}`,
      `e${" ".repeat(n)}x`,
      ",".repeat(n),
      `e; a=${'"'.repeat(n)}`,
      `e; a${"=".repeat(n)}`,
    ];
    for (const s of inputs) {
      const r = parseExtensions(s);
      assert.ok(r === null || r.length > 0);
    }
    // A valid 16 KiB header with many parameters is parsed completely.
    const many = parseExtensions(`e${"; a=1".repeat(n / 6)}`);
    assert.equal(many?.[0].rawParams.length, Math.floor(n / 6));
  });
});

describe("renderExtension", () => {
  it("renders bare and valued parameters", () => {
    assert.equal(renderExtension("permessage-deflate"), "permessage-deflate");
    assert.equal(
      renderExtension("permessage-deflate", { server_no_context_takeover: true, client_max_window_bits: "12" }),
      "permessage-deflate; server_no_context_takeover; client_max_window_bits=12",
    );
    assert.equal(renderExtensions([{ name: "a" }, { name: "b", params: { x: true } }]), "a, b; x");
  });

  it("throws a TypeError on names and values that are not tokens", () => {
    assert.throws(() => renderExtension("a b"), TypeError);
    assert.throws(() => renderExtension("a", { "b c": true }), TypeError);
    assert.throws(() => renderExtension("a", { b: "1 2" }), TypeError);
    assert.throws(() => renderExtension("a", { b: "x\r\nInjected: 1" }), TypeError);
  });
});
