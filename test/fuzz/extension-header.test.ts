/**
 * Fuzzing the `Sec-WebSocket-Extensions` parser (src/protocol/extensions/extension-header.ts)
 * and the permessage-deflate parameter rules behind it, differentially against
 * websocket-extensions (the parser of faye-websocket and websocket-driver, whose ReDoS was
 * CVE-2020-7662; 0.1.4+ is the fixed regular expression grammar):
 * - random and near-valid header values: both parsers accept or both refuse, and when both
 *   accept they see the same extensions with the same parameters, or the difference is one of
 *   DIFFERENCES below, each justified;
 * - every accepted offer goes through parseDeflateParams and, when valid, the server's answer
 *   to it is accepted by our client (the negotiation never throws and always closes the loop).
 * Run length: fuzz-config.ts.
 */
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { describe, it } from "node:test";
import fc from "fast-check";
import { parseExtensions, renderExtension } from "../../src/protocol/extensions/extension-header.js";
import {
  acceptAsClient,
  negotiateAsServer,
  PERMESSAGE_DEFLATE,
  parseDeflateParams,
} from "../../src/protocol/extensions/permessage-deflate-params.js";
import { isToken } from "../../src/protocol/handshake/header-tokens.js";
import { fuzzParams } from "./fuzz-config.js";

const require = createRequire(import.meta.url);
const reference = require("websocket-extensions/lib/parser.js") as {
  parseHeader(header: string): { _inOrder: Array<{ name: string; params: Record<string, unknown> }> };
};

type Parsed = Array<{ name: string; params: Record<string, string[]> }>;

/** Theirs, normalised: a parameter's values as strings (they turn numeric values into numbers). */
function theirs(header: string): Parsed | null {
  try {
    return reference.parseHeader(header)._inOrder.map(({ name, params }) => ({
      name,
      params: Object.fromEntries(
        Object.entries(params).map(([k, v]) => [
          k,
          ([] as unknown[]).concat(v).map((x) => (x === true ? "" : String(x))),
        ]),
      ),
    }));
  } catch {
    return null;
  }
}

/** Ours, in the same shape (numeric values as parseFloat prints them, to compare like with like). */
function ours(header: string): Parsed | null {
  const offers = parseExtensions(header);
  if (offers === null) return null;
  const number = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?$/;
  return offers.map((o) => {
    const params: Record<string, string[]> = {};
    for (const [k, v] of o.rawParams) {
      const s = v === true ? "" : number.test(v) ? String(Number.parseFloat(v)) : v;
      if (!Object.hasOwn(params, k)) Object.defineProperty(params, k, { value: [], enumerable: true });
      params[k]!.push(s);
    }
    return { name: o.name, params };
  });
}

/** Where the two parsers may disagree, and why ours is right. */
const DIFFERENCES: Array<{
  why: string;
  applies: (header: string, our: Parsed | null, their: Parsed | null) => boolean;
}> = [
  {
    why: "empty list elements (`a, , b`, a leading or trailing comma): RFC 7230 7 requires recipients to accept and ignore them; websocket-extensions refuses",
    applies: (h, our, their) => our !== null && their === null && /(^|,)[ \t]*(,|$)/.test(h),
  },
  {
    why: "OWS before the first or after the last element: a field value excludes it (RFC 7230 3.2.4), so it is not part of the list; websocket-extensions refuses",
    applies: (h, our, their) => our !== null && their === null && /^[ \t]|[ \t]$/.test(h),
  },
  {
    why: "a quoted value that is not a token once unescaped: RFC 6455 9.1 says it MUST be one; websocket-extensions accepts any quoted text (and drops every backslash)",
    applies: (h, our, their) =>
      our === null &&
      their !== null &&
      [...h.matchAll(/"((?:\\.|[^"\\])*)"/g)].some((m) => !isToken(m[1]!.replace(/\\(.)/g, "$1"))),
  },
  {
    why: "an empty header or only whitespace: no extension either way (they answer an empty list, we null)",
    applies: (h, our, their) => our === null && their !== null && their.length === 0 && h.trim() === "",
  },
];

const TOKEN_CHARS = "abcxyz019_-.!#$%&'*+^`|~";
const SEPARATORS = ',;=" \t\\()/:<>?@[]{}';
const headerChar = fc.constantFrom(...(TOKEN_CHARS + SEPARATORS).split(""), "\u00e9", "\u0000", "\u007f");

/** Near-valid values: extension elements with parameters, some of them broken. */
const token = fc.stringMatching(/^[a-z0-9_.!#$%&'*+^`|~-]{1,6}$/);
const ows = fc.constantFrom("", " ", "\t", "  ");
const paramValue = fc.oneof(
  fc.constant(""),
  token.map((t) => `=${t}`),
  token.map((t) => `="${t}"`),
  fc.constantFrom('="a b"', '="\\a"', '="\\\\"', '="', "=", '=""', "=1.5", "=08", "=15", "=-1"),
);
const element = fc
  .tuple(token, fc.array(fc.tuple(ows, token, ows, paramValue), { maxLength: 4 }))
  .map(([name, params]) => name + params.map(([a, p, b, v]) => `${a};${b}${p}${v}`).join(""));
const nearValid = fc
  .tuple(fc.array(fc.tuple(element, ows, ows), { minLength: 1, maxLength: 3 }), fc.boolean())
  .map(([els, deflate]) => {
    const list = els.map(([e, a, b]) => `${a}${e}${b}`).join(",");
    return deflate ? `permessage-deflate; client_max_window_bits, ${list}` : list;
  });
const deflateOffer = fc
  .array(
    fc.constantFrom(
      "client_max_window_bits",
      "client_max_window_bits=10",
      "server_max_window_bits=8",
      "server_max_window_bits=15",
      "server_max_window_bits=16",
      "server_no_context_takeover",
      "client_no_context_takeover",
      'client_max_window_bits="12"',
      "server_no_context_takeover=1",
      "x=1",
    ),
    { maxLength: 4 },
  )
  .map((params) => [PERMESSAGE_DEFLATE, ...params].join("; "));

const header = fc.oneof(fc.string({ unit: headerChar, maxLength: 40 }), nearValid, deflateOffer);

describe("fuzz: Sec-WebSocket-Extensions against websocket-extensions", () => {
  it("the same verdict and the same offers, or a listed difference", () => {
    const seen = new Map<string, number>();
    let bothAccept = 0;
    let bothRefuse = 0;
    fc.assert(
      fc.property(header, (h) => {
        const our = ours(h);
        const their = theirs(h);
        if (JSON.stringify(our) === JSON.stringify(their)) {
          if (our === null) bothRefuse++;
          else bothAccept++;
          return;
        }
        if (our !== null && their !== null && our.length === their.length) {
          // Both accept: they must agree on everything compared here.
          assert.deepEqual(our, their, `both accept ${JSON.stringify(h)} but disagree`);
        }
        const difference = DIFFERENCES.find((d) => d.applies(h, our, their));
        assert.ok(
          difference,
          `unexplained: ${JSON.stringify(h)}: ours ${JSON.stringify(our)}, websocket-extensions ${JSON.stringify(their)}`,
        );
        seen.set(difference.why, (seen.get(difference.why) ?? 0) + 1);
      }),
      fuzzParams(5000),
    );
    console.log(`agreed: ${bothAccept} accepted, ${bothRefuse} refused; listed differences:`, Object.fromEntries(seen));
    // The generators reach both verdicts (a fuzzer that only produced garbage would prove little).
    assert.ok(bothAccept > 0 && bothRefuse > 0);
  });

  it("every deflate offer we accept negotiates to an answer its client accepts; nothing throws", () => {
    const bits = fc.option(fc.integer({ min: 8, max: 15 }), { nil: undefined });
    const serverConfig = fc.record({
      serverNoContextTakeover: fc.boolean(),
      clientNoContextTakeover: fc.boolean(),
      serverMaxWindowBits: bits,
      clientMaxWindowBits: bits,
    });
    fc.assert(
      fc.property(fc.oneof(deflateOffer, nearValid), serverConfig, (h, config) => {
        const offers = (parseExtensions(h) ?? []).filter((o) => o.name === PERMESSAGE_DEFLATE);
        const valid = offers.map((o) => parseDeflateParams(o, true)).filter((p) => typeof p !== "string");
        const answer = negotiateAsServer(offers, config);
        assert.equal(answer === null, valid.length === 0, "the server declines only when no offer is valid");
        if (answer === null) return;
        // The client that sent the first valid offer (the one the server takes, RFC 7692 5).
        const offered = valid[0]!;
        const rendered = renderExtension(PERMESSAGE_DEFLATE, answer.params);
        const [response] = parseExtensions(rendered) ?? [];
        assert.ok(response, `the server's answer does not parse: ${rendered}`);
        const agreed = acceptAsClient(response, {
          serverNoContextTakeover: offered.serverNoContextTakeover,
          clientNoContextTakeover: offered.clientNoContextTakeover,
          serverMaxWindowBits: offered.serverMaxWindowBits,
          clientMaxWindowBits:
            typeof offered.clientMaxWindowBits === "number" ? offered.clientMaxWindowBits : undefined,
        });
        assert.equal(typeof agreed, "object", `the client refuses the answer ${rendered} to ${h}: ${String(agreed)}`);
        assert.deepEqual(agreed, answer.agreement);
      }),
      fuzzParams(3000),
    );
  });
});
