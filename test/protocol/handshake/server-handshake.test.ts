// acceptHandshake: RFC 6455 4.2.1 validation (every failure with its status), 4.2.2 response,
// subprotocol selection, extension negotiation, custom headers, both header input forms.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { HandshakeError } from "../../../src/protocol/errors.js";
import type { ExtensionOffer, ExtensionSession, ServerExtension } from "../../../src/protocol/extensions/extension.js";
import { decodeBase64 } from "../../../src/protocol/handshake/base64.js";
import { HttpHeadParser } from "../../../src/protocol/handshake/http-head-parser.js";
import {
  acceptHandshake,
  computeAccept,
  type HandshakeRequest,
  isValidHost,
  isValidKey,
  negotiate,
  renderRejection,
  renderResponse,
  SWITCHING_PREFIX,
  toHandshakeRequest,
} from "../../../src/protocol/handshake/server-handshake.js";

const KEY = "dGhlIHNhbXBsZSBub25jZQ==";
const text = (b: Uint8Array) => new TextDecoder().decode(b);

function request(overrides: Record<string, string | string[] | undefined> = {}, base?: Partial<HandshakeRequest>) {
  const headers: Record<string, string | string[] | undefined> = {
    host: "server.example.com",
    upgrade: "websocket",
    connection: "Upgrade",
    "sec-websocket-key": KEY,
    "sec-websocket-version": "13",
    ...overrides,
  };
  for (const k of Object.keys(headers)) if (headers[k] === undefined) delete headers[k];
  return { method: "GET", target: "/chat", httpVersion: "1.1", headers, ...base };
}

function expectReject(req: HandshakeRequest, status: number, options = {}) {
  const r = acceptHandshake(req, options);
  assert.equal(r.ok, false, `expected ${status}`);
  if (r.ok) return "";
  assert.equal(r.error.status, status, r.error.message);
  const res = text(r.response);
  assert.ok(res.startsWith(`HTTP/1.1 ${status} `), res);
  assert.match(res, /\r\nConnection: close\r\n/);
  assert.match(res, /\r\nContent-Type: text\/plain; charset=utf-8\r\n/);
  const body = res.slice(res.indexOf("\r\n\r\n") + 4);
  assert.match(res, new RegExp(`\\r\\nContent-Length: ${Buffer.byteLength(body)}\\r\\n`));
  assert.equal(body, r.error.message);
  return res;
}

describe("computeAccept", () => {
  it("gives the RFC 6455 section 1.3 example", () => {
    assert.equal(computeAccept(KEY), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  });
});

describe("acceptHandshake: valid requests", () => {
  it("answers the RFC 6455 1.3 request with 101 and the accept value", () => {
    const r = acceptHandshake(request());
    assert.ok(r.ok);
    assert.equal(
      text(r.response),
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
    );
    assert.equal(r.protocol, "");
    assert.deepEqual(r.extensions, []);
    assert.equal(r.extensionsHeader, "");
  });

  it("accepts a request parsed by HttpHeadParser, split at every byte index", () => {
    const raw = new TextEncoder().encode(
      "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Key: ${KEY}\r\nOrigin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\n` +
        "Sec-WebSocket-Version: 13\r\n\r\n",
    );
    const expected = text(
      acceptHandshake(request({ "sec-websocket-protocol": "chat, superchat" }), { protocols: ["chat"] }).response,
    );
    for (let i = 0; i <= raw.length; i++) {
      const p = new HttpHeadParser("request");
      let head = p.push(raw.subarray(0, i));
      if (head === null) head = p.push(raw.subarray(i));
      assert.ok(head !== null && !(head instanceof HandshakeError));
      const r = acceptHandshake(toHandshakeRequest(head), { protocols: ["chat"] });
      assert.ok(r.ok);
      assert.equal(r.protocol, "chat");
      assert.equal(text(r.response), expected);
    }
  });

  it("accepts a Map of lowercased headers", () => {
    const headers = new Map(Object.entries(request().headers as Record<string, string>));
    const r = acceptHandshake({ method: "GET", target: "/", httpVersion: "HTTP/1.1", headers });
    assert.ok(r.ok);
  });

  it("accepts token lists and case variations in Upgrade and Connection", () => {
    const r = acceptHandshake(request({ upgrade: "h2c, WebSocket", connection: "keep-alive, UPGRADE" }));
    assert.ok(r.ok);
  });

  it("accepts later HTTP versions, absolute-form targets, IPv6 and ported hosts", () => {
    assert.ok(acceptHandshake(request({}, { httpVersion: "1.2" })).ok);
    assert.ok(acceptHandshake(request({}, { target: "ws://server.example.com/chat" })).ok);
    assert.ok(acceptHandshake(request({ host: "[::1]:8080" })).ok);
    assert.ok(acceptHandshake(request({ host: "127.0.0.1:1" })).ok);
  });

  it("trims OWS around the key and version", () => {
    assert.ok(acceptHandshake(request({ "sec-websocket-key": `  ${KEY}\t`, "sec-websocket-version": " 13 " })).ok);
  });

  it("renders the 101 through renderSwitching when given: the key and the lines after the accept", () => {
    const calls: Array<[string, string]> = [];
    const renderSwitching = (key: string, tail: string) => {
      calls.push([key, tail]);
      return new TextEncoder().encode(`${SWITCHING_PREFIX}${computeAccept(key)}\r\n${tail}\r\n`);
    };
    const offered = request({ "sec-websocket-key": ` ${KEY}`, "sec-websocket-protocol": "chat" });
    const plain = acceptHandshake(offered, { protocols: ["chat"] });
    const hooked = acceptHandshake(offered, { protocols: ["chat"], renderSwitching });
    assert.ok(plain.ok && hooked.ok);
    assert.deepEqual(calls, [[KEY, "Sec-WebSocket-Protocol: chat\r\n"]]); // the key trimmed
    assert.equal(text(hooked.response), text(plain.response));
    // Custom headers take the general path: the hook is not used.
    const custom = acceptHandshake(request(), { headers: { "X-Server": "w" }, renderSwitching });
    assert.ok(custom.ok);
    assert.equal(calls.length, 1);
  });

  it("adds custom headers and validates them", () => {
    const r = acceptHandshake(request(), { headers: { "X-Server": "wirecable", "Set-Cookie": "a=b" } });
    assert.ok(r.ok);
    assert.match(text(r.response), /\r\nX-Server: wirecable\r\nSet-Cookie: a=b\r\n\r\n$/);
    assert.throws(() => acceptHandshake(request(), { headers: { "X-Evil": "a\r\nInjected: 1" } }), /X-Evil/);
    assert.throws(() => acceptHandshake(request(), { headers: { "Bad Name": "x" } }), TypeError);
    assert.throws(() => acceptHandshake(request(), { headers: { "sec-websocket-accept": "x" } }), TypeError);
  });
});

describe("acceptHandshake: rejections", () => {
  it("405 with Allow: GET for other methods", () => {
    const res = expectReject(request({}, { method: "POST" }), 405);
    assert.match(res, /\r\nAllow: GET\r\n/);
  });
  it("400 for HTTP/1.0 and malformed versions", () => {
    expectReject(request({}, { httpVersion: "1.0" }), 400);
    expectReject(request({}, { httpVersion: "HTTP/0.9" }), 400);
    expectReject(request({}, { httpVersion: "x" }), 400);
  });
  it("400 for an invalid request target", () => {
    expectReject(request({}, { target: "" }), 400);
    expectReject(request({}, { target: "*" }), 400);
    expectReject(request({}, { target: "/a b" }), 400);
  });
  it("400 for a missing or malformed Host", () => {
    expectReject(request({ host: undefined }), 400);
    expectReject(request({ host: "" }), 400);
    expectReject(request({ host: "a b" }), 400);
    expectReject(request({ host: "a, b" }), 400);
    expectReject(request({ host: "example.com:99999" }), 400);
    expectReject(request({ host: "[::1" }), 400);
    expectReject(request({ host: "example.com:8a" }), 400);
  });
  it("400 without Upgrade: websocket", () => {
    expectReject(request({ upgrade: undefined }), 400);
    expectReject(request({ upgrade: "h2c" }), 400);
    expectReject(request({ upgrade: "websocket/13" }), 400);
  });
  it("400 without Connection: Upgrade", () => {
    expectReject(request({ connection: undefined }), 400);
    expectReject(request({ connection: "keep-alive" }), 400);
    expectReject(request({ connection: "upgraded" }), 400);
  });
  it("426 with Sec-WebSocket-Version: 13, 8, 7 for other or missing versions", () => {
    for (const v of [undefined, "6", "9", "12", "14", "13, 8", "08", ""]) {
      const res = expectReject(request({ "sec-websocket-version": v }), 426);
      assert.match(res, /\r\nSec-WebSocket-Version: 13, 8, 7\r\n/);
    }
  });
  it("accepts drafts hybi-07 and hybi-08 (versions 7 and 8) with the same 101 as 13", () => {
    const r13 = acceptHandshake(request());
    assert.ok(r13.ok);
    for (const v of ["7", "8", " 8 "]) {
      const r = acceptHandshake(request({ "sec-websocket-version": v, "sec-websocket-origin": "http://example.com" }));
      assert.ok(r.ok, `version ${v}`);
      assert.deepEqual(Buffer.from(r.response).toString("latin1"), Buffer.from(r13.response).toString("latin1"));
    }
  });
  it("400 for a missing key or a key that is not base64 of 16 bytes", () => {
    for (const k of [
      undefined,
      "",
      "abc",
      "dGhlIHNhbXBsZSBub25jZQ",
      "dGhlIHNhbXBsZSBub25jZQ=",
      "dGhlIHNhbXBsZSBub25jZXg=",
      "dGhlIHNhbXBsZSBub25jZ*==",
      `${KEY}, ${KEY}`,
    ]) {
      expectReject(request({ "sec-websocket-key": k }), 400);
    }
  });
  it("400 for a Sec-WebSocket-Protocol that is not a token list", () => {
    expectReject(request({ "sec-websocket-protocol": "chat, sup(er)" }), 400);
    expectReject(request({ "sec-websocket-protocol": "a b" }), 400);
    expectReject(request({ "sec-websocket-protocol": "" }), 400);
  });
  it("400 for invalid Sec-WebSocket-Extensions syntax", () => {
    expectReject(request({ "sec-websocket-extensions": "foo; =1" }), 400);
    expectReject(request({ "sec-websocket-extensions": 'foo; a="unterminated' }), 400);
  });
  it("renders arbitrary rejections (for the I/O layer) with Connection: close", () => {
    const res = text(renderRejection(403, { "X-Reason": "origin" }, "nope"));
    assert.equal(
      res,
      "HTTP/1.1 403 Forbidden\r\nX-Reason: origin\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 4\r\n\r\nnope",
    );
  });
  it("renderResponse adds Content-Length with a body and validates headers", () => {
    assert.equal(text(renderResponse(200, {}, "hé")), "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nhé");
    assert.throws(() => renderResponse(200, { "X-A": "1\n2" }), /X-A/);
  });
});

describe("acceptHandshake: subprotocols", () => {
  it("selects by the server's order of preference", () => {
    const r = acceptHandshake(request({ "sec-websocket-protocol": "chat, superchat" }), {
      protocols: ["superchat", "chat"],
    });
    assert.ok(r.ok);
    assert.equal(r.protocol, "superchat");
    assert.match(text(r.response), /\r\nSec-WebSocket-Protocol: superchat\r\n/);
  });
  it("joins several header lines (string[] form)", () => {
    const r = acceptHandshake(request({ "sec-websocket-protocol": ["a", "b, chat"] }), { protocols: ["chat"] });
    assert.ok(r.ok);
    assert.equal(r.protocol, "chat");
  });
  it("omits the header when nothing matches or nothing is configured", () => {
    const r = acceptHandshake(request({ "sec-websocket-protocol": "x" }), { protocols: ["chat"] });
    assert.ok(r.ok);
    assert.equal(r.protocol, "");
    assert.doesNotMatch(text(r.response), /Sec-WebSocket-Protocol/);
    const r2 = acceptHandshake(request({ "sec-websocket-protocol": "x" }));
    assert.ok(r2.ok && r2.protocol === "");
  });
  it("is case-sensitive", () => {
    const r = acceptHandshake(request({ "sec-websocket-protocol": "Chat" }), { protocols: ["chat"] });
    assert.ok(r.ok && r.protocol === "");
  });
  it("uses a callback with the offered list", () => {
    let seen: string[] = [];
    const r = acceptHandshake(request({ "sec-websocket-protocol": "a, b" }), {
      protocols: (offered) => {
        seen = offered;
        return offered[1];
      },
    });
    assert.deepEqual(seen, ["a", "b"]);
    assert.ok(r.ok && r.protocol === "b");
    const none = acceptHandshake(request({ "sec-websocket-protocol": "a" }), { protocols: () => null });
    assert.ok(none.ok && none.protocol === "");
  });
  it("turns a throwing callback or an unoffered answer into a 500 with the cause", () => {
    const boom = new Error("boom");
    const r = acceptHandshake(request({ "sec-websocket-protocol": "a" }), {
      protocols: () => {
        throw boom;
      },
    });
    assert.ok(!r.ok);
    assert.equal(r.error.status, 500);
    assert.equal(r.error.cause, boom);
    const r2 = acceptHandshake(request({ "sec-websocket-protocol": "a" }), { protocols: () => "z" });
    assert.ok(!r2.ok && r2.error.status === 500);
  });
});

function fakeExtension(
  name: string,
  pick: (offers: readonly ExtensionOffer[]) => Record<string, string | true> | null,
  rsv1 = true,
  log: string[] = [],
): ServerExtension {
  return {
    name,
    negotiate(offers) {
      log.push(`${name}:${offers.length}`);
      const params = pick(offers);
      if (params === null) return null;
      return {
        params,
        session: {
          name,
          rsv1,
          processIncoming: (m) => m,
          processOutgoing: (m) => m,
          close: () => log.push(`close:${name}`),
        },
      };
    },
  };
}

describe("acceptHandshake: extensions", () => {
  it("groups offers per extension and renders the accepted params", () => {
    const offers: ExtensionOffer[][] = [];
    const ext = fakeExtension("permessage-deflate", (o) => {
      offers.push(o.slice());
      return { server_no_context_takeover: true, client_max_window_bits: "10" };
    });
    const r = acceptHandshake(
      request({
        "sec-websocket-extensions": ['permessage-deflate; client_max_window_bits="10", x-other', "permessage-deflate"],
      }),
      { extensions: [ext] },
    );
    assert.ok(r.ok);
    assert.equal(offers.length, 1);
    assert.equal(offers[0].length, 2);
    assert.deepEqual(offers[0][0].params, { client_max_window_bits: "10" });
    assert.deepEqual(offers[0][1].params, {});
    assert.equal(r.extensionsHeader, "permessage-deflate; server_no_context_takeover; client_max_window_bits=10");
    assert.match(
      text(r.response),
      /\r\nSec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_max_window_bits=10\r\n/,
    );
    assert.equal(r.extensions.length, 1);
  });

  it("calls extensions in the client's order and drops an RSV conflict", () => {
    const log: string[] = [];
    const a = fakeExtension("a", () => ({}), true, log);
    const b = fakeExtension("b", () => ({}), true, log);
    const r = acceptHandshake(request({ "sec-websocket-extensions": "b, a, b" }), { extensions: [a, b] });
    assert.ok(r.ok);
    assert.deepEqual(log, ["b:2", "a:1", "close:a"]);
    assert.equal(r.extensionsHeader, "b");
  });

  it("omits declined and unknown extensions", () => {
    const r = acceptHandshake(request({ "sec-websocket-extensions": "foo, bar" }), {
      extensions: [fakeExtension("foo", () => null)],
    });
    assert.ok(r.ok);
    assert.equal(r.extensionsHeader, "");
    assert.doesNotMatch(text(r.response), /Sec-WebSocket-Extensions/);
  });

  it("turns a throwing negotiate into a 500 and closes the sessions already made", () => {
    const log: string[] = [];
    const a = fakeExtension("a", () => ({}), false, log);
    const bad: ServerExtension = {
      name: "b",
      negotiate() {
        throw new Error("bad");
      },
    };
    const r = acceptHandshake(request({ "sec-websocket-extensions": "a, b" }), { extensions: [a, bad] });
    assert.ok(!r.ok);
    assert.equal(r.error.status, 500);
    assert.deepEqual(log, ["a:1", "close:a"]);
  });
});

describe("acceptHandshake: a result's extension list is its own", () => {
  it("hands each request offering nothing a fresh, changeable list (the shared negotiation stays empty)", () => {
    const a = acceptHandshake(request());
    const b = acceptHandshake(request());
    assert.ok(a.ok && b.ok);
    assert.notEqual(a.extensions, b.extensions);
    a.extensions.push({} as ExtensionSession);
    assert.equal(b.extensions.length, 0);
    const c = acceptHandshake(request());
    assert.ok(c.ok);
    assert.deepEqual(c.extensions, []);
  });
});

describe("negotiate: nothing offered", () => {
  it("answers every request without subprotocols or extensions alike, calling nothing", () => {
    let calls = 0;
    const protocols = () => {
      calls++;
      return "x";
    };
    const extension: ServerExtension = {
      name: "permessage-deflate",
      negotiate: () => {
        calls++;
        return null;
      },
    };
    const options = { protocols, extensions: [extension] };
    const a = negotiate(request(), options);
    const b = negotiate(request({ "sec-websocket-extensions": " \t" }), options);
    assert.deepEqual(a, { ok: true, protocol: "", extensions: [], extensionsHeader: "" });
    assert.equal(a, b);
    assert.equal(calls, 0);
    assert.ok(a.ok && Object.isFrozen(a.extensions), "the shared answer cannot be changed");
    // An offer of either kind is negotiated as before.
    const offered = negotiate(request({ "sec-websocket-protocol": "x" }), options);
    assert.deepEqual(offered, { ok: true, protocol: "x", extensions: [], extensionsHeader: "" });
    assert.notEqual(offered, a);
    assert.equal(calls, 1);
  });
});

describe("isValidHost", () => {
  it("accepts reg-names, IPv4, IPv6 literals and ports", () => {
    for (const h of [
      "a",
      "example.com",
      "a-b.c_d~e",
      "10.0.0.1:80",
      "[::1]",
      "[2001:db8::1]:443",
      "xn--bcher-kva.example",
    ]) {
      assert.ok(isValidHost(h), h);
    }
    for (const h of ["", ":80", "a:", "[]", "[::1]x", "a/b", "a@b", "a:123456", "[::g]"]) assert.ok(!isValidHost(h), h);
  });
});

describe("acceptHandshake: robustness", () => {
  const RAW =
    "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
    `Sec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Protocol: chat\r\n` +
    "Sec-WebSocket-Extensions: a; x=1, b\r\nSec-WebSocket-Version: 13\r\n\r\n";

  it("never throws on mutated requests, and rejects or accepts with a well-formed response", () => {
    const base = new TextEncoder().encode(RAW);
    const ext = fakeExtension("a", () => ({}));
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        (edits) => {
          const bytes = base.slice();
          for (const [i, v] of edits) bytes[i] = v;
          const head = new HttpHeadParser("request").push(bytes);
          if (head === null || head instanceof HandshakeError) return;
          const r = acceptHandshake(toHandshakeRequest(head), { protocols: ["chat"], extensions: [ext] });
          const res = text(r.response);
          if (r.ok) assert.ok(res.startsWith("HTTP/1.1 101 Switching Protocols\r\n"));
          else
            assert.ok(res.startsWith(`HTTP/1.1 ${r.error.status} `) && r.error.status >= 400 && r.error.status < 500);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("handles 16 KiB adversarial protocol and extension headers in one linear pass", () => {
    // Near the default total cap: runs of commas, spaces, quotes and semicolons.
    const n = 15 * 1024;
    const cases: Array<[Record<string, string>, number | "ok"]> = [
      [{ "sec-websocket-protocol": ",".repeat(n) }, 400],
      [{ "sec-websocket-protocol": `${" ,".repeat(n / 2)}chat` }, "ok"],
      [{ "sec-websocket-extensions": ",".repeat(n) }, 400], // 1#extension: at least one element
      [{ "sec-websocket-extensions": `a; x="${"\\a".repeat(n / 2)}` }, 400],
      [{ "sec-websocket-extensions": `a${"; x".repeat(n / 3)}` }, "ok"],
      [{ "sec-websocket-extensions": '"'.repeat(n) }, 400],
      [{ upgrade: `${", ".repeat(n / 2)}websocket` }, "ok"],
      [{ connection: " ".repeat(n) }, 400],
    ];
    const ext = fakeExtension("a", () => ({}));
    for (const [headers, expected] of cases) {
      const r = acceptHandshake(request(headers), { protocols: ["chat"], extensions: [ext] });
      if (expected === "ok") assert.ok(r.ok, Object.keys(headers)[0]);
      else assert.ok(!r.ok && r.error.status === expected, Object.keys(headers)[0]);
    }
  });

  it("handles Node-style records with arrays and undefined values", () => {
    const r = acceptHandshake(request({ "sec-websocket-extensions": [], "x-unused": undefined }));
    assert.ok(r.ok);
  });
});

describe("isValidKey", () => {
  // RFC 6455 4.1: base64 that strictly decodes to 16 bytes.
  const reference = (key: string) => key.length === 24 && decodeBase64(key)?.length === 16;

  it("agrees with strict base64 decoding to 16 bytes", () => {
    for (const key of [
      KEY,
      "AAAAAAAAAAAAAAAAAAAAAA==",
      "////////////////////+A==",
      "dGhlIHNhbXBsZSBub25jZQ=",
      "dGhlIHNhbXBsZSBub25jZQ=A",
    ]) {
      assert.equal(isValidKey(key), reference(key), key);
    }
    const chars = fc.constantFrom(..."AZaz09+/=-_ .\u00e9\u0100".split(""));
    fc.assert(
      fc.property(fc.array(chars, { minLength: 20, maxLength: 26 }), fc.boolean(), (cs, padded) => {
        const key = padded ? `${cs.join("").slice(0, 22)}==` : cs.join("");
        assert.equal(isValidKey(key), reference(key), JSON.stringify(key));
      }),
      { numRuns: 3000 },
    );
  });
});
