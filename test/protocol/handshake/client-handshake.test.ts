// ClientHandshake (RFC 6455 4.1): request bytes (key, Host, path, Origin, protocols, extension
// offers, custom headers and their validation), every check of the 101 response, non-101
// answers with bodies (Content-Length, chunked, until EOF via finish()), subprotocol and
// extension acceptance/refusal, and chunking invariance of receive().
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { HandshakeError } from "../../../src/protocol/errors.js";
import type { ClientExtension, ExtensionOffer, ExtensionParams } from "../../../src/protocol/extensions/extension.js";
import {
  ClientHandshake,
  type ClientHandshakeOptions,
  type ClientHandshakeResult,
} from "../../../src/protocol/handshake/client-handshake.js";
import { HttpHeadParser } from "../../../src/protocol/handshake/http-head-parser.js";
import {
  acceptHandshake,
  computeAccept,
  toHandshakeRequest,
} from "../../../src/protocol/handshake/server-handshake.js";

const enc = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const bin = (b: Uint8Array) => Buffer.from(b).toString("latin1");
/** randomFill giving the RFC 6455 1.3 nonce ("the sample nonce"). */
const sampleNonce = (b: Uint8Array) => b.set(enc("the sample nonce"));
const RFC_ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

function client(options: Partial<ClientHandshakeOptions> = {}) {
  return new ClientHandshake({ url: "ws://server.example.com/chat", randomFill: sampleNonce, ...options });
}

function requestHeaders(c: ClientHandshake) {
  const head = new HttpHeadParser("request").push(c.request());
  assert.ok(head !== null && !(head instanceof HandshakeError));
  return head;
}

function response101(extra = "", accept = RFC_ACCEPT) {
  return `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n${extra}\r\n`;
}

function expectFail(result: ClientHandshakeResult | null, status: number, pattern?: RegExp): HandshakeError {
  assert.ok(result !== null && !result.ok, "expected a failure");
  assert.equal(result.error.status, status, result.error.message);
  if (pattern) assert.match(result.error.message, pattern);
  return result.error;
}

describe("ClientHandshake: the request", () => {
  it("renders the RFC 6455 1.3 request", () => {
    const c = client({ origin: "http://example.com", protocols: ["chat", "superchat"] });
    assert.equal(c.key, "dGhlIHNhbXBsZSBub25jZQ==");
    assert.equal(
      text(c.request()),
      "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: http://example.com\r\n" +
        "Sec-WebSocket-Protocol: chat, superchat\r\n\r\n",
    );
  });

  it("draws a fresh base64 16-byte key from crypto by default", () => {
    const keys = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const key = new ClientHandshake({ url: "ws://a/" }).key;
      assert.equal(key.length, 24);
      assert.equal(Buffer.from(key, "base64").length, 16);
      assert.equal(Buffer.from(key, "base64").toString("base64"), key);
      keys.add(key);
    }
    assert.equal(keys.size, 20);
  });

  it("renders Host with non-default ports and IPv6 brackets, path and query, no fragment", () => {
    const cases: Array<[string, string, string]> = [
      ["ws://example.com", "example.com", "/"],
      ["ws://example.com:80/a", "example.com", "/a"],
      ["ws://example.com:443/a", "example.com:443", "/a"],
      ["wss://example.com:443/a?x=1&y=%20", "example.com", "/a?x=1&y=%20"],
      ["wss://example.com:8443/", "example.com:8443", "/"],
      ["ws://[::1]:9000/p?q#frag", "[::1]:9000", "/p?q"],
      ["ws://[2001:db8::1]/", "[2001:db8::1]", "/"],
      ["http://example.com:8080/x", "example.com:8080", "/x"],
      ["https://Example.COM/", "example.com", "/"],
      ["ws://bücher.example/", "xn--bcher-kva.example", "/"],
    ];
    for (const [url, host, target] of cases) {
      const head = requestHeaders(new ClientHandshake({ url }));
      assert.equal(head.headers.get("host"), host, url);
      assert.equal(head.target, target, url);
    }
    assert.equal(new ClientHandshake({ url: new URL("wss://a:1/") }).url.protocol, "wss:");
  });

  it("rejects non-WebSocket URLs", () => {
    assert.throws(() => new ClientHandshake({ url: "ftp://a/" }), TypeError);
    assert.throws(() => new ClientHandshake({ url: "not a url" }), TypeError);
  });

  it("sends extension offers in order, several per extension", () => {
    const ext = fakeClientExtension("permessage-deflate", [{ client_max_window_bits: true }, {}]);
    const other = fakeClientExtension("x-other", [{ level: "3" }]);
    const head = requestHeaders(client({ extensions: [ext, other] }));
    assert.equal(
      head.headers.get("sec-websocket-extensions"),
      "permessage-deflate; client_max_window_bits, permessage-deflate, x-other; level=3",
    );
  });

  it("adds custom headers, lets Host and Origin be replaced, refuses the handshake's own", () => {
    const head = requestHeaders(
      client({ origin: "http://o", headers: { "X-Token": "abc", Host: "virtual.example", Origin: "http://custom" } }),
    );
    assert.equal(head.headers.get("x-token"), "abc");
    assert.equal(head.headers.get("host"), "virtual.example");
    assert.equal(head.headers.get("origin"), "http://custom");
    for (const name of [
      "Upgrade",
      "connection",
      "Sec-WebSocket-Key",
      "Sec-WebSocket-Version",
      "sec-websocket-protocol",
    ]) {
      assert.throws(() => client({ headers: { [name]: "x" } }), TypeError, name);
    }
  });

  it("rejects CR/LF injection with a TypeError naming the header", () => {
    assert.throws(
      () => client({ headers: { "X-Evil": "a\r\nHost: other" } }),
      (e: unknown) => {
        assert.ok(e instanceof TypeError);
        assert.match(e.message, /X-Evil/);
        return true;
      },
    );
    assert.throws(() => client({ headers: { "X-Evil": "a\nb" } }), /X-Evil/);
    assert.throws(() => client({ headers: { "X-Evil": "a\0b" } }), /X-Evil/);
    assert.throws(() => client({ headers: { "Bad\r\nName": "x" } }), TypeError);
    assert.throws(() => client({ origin: "http://a\r\nX: 1" }), /Origin/);
  });

  it("validates subprotocols: tokens, unique", () => {
    assert.throws(() => client({ protocols: ["a b"] }), TypeError);
    assert.throws(() => client({ protocols: ["a", "a"] }), TypeError);
    assert.throws(() => client({ protocols: [""] }), TypeError);
  });

  it("turns URL credentials into Authorization: Basic (percent-decoded)", () => {
    const head = requestHeaders(new ClientHandshake({ url: "ws://us%65r:p%40ss@a/" }));
    assert.equal(head.headers.get("authorization"), `Basic ${Buffer.from("user:p@ss").toString("base64")}`);
    const own = requestHeaders(new ClientHandshake({ url: "ws://u:p@a/", headers: { Authorization: "Bearer t" } }));
    assert.equal(own.headers.get("authorization"), "Bearer t");
  });
});

describe("ClientHandshake: 101 responses", () => {
  it("accepts the RFC 6455 1.3 response and keeps the bytes after it", () => {
    const c = client();
    const r = c.receive(new Uint8Array([...enc(response101()), 0x81, 0x02, 0x68, 0x69]));
    assert.ok(r?.ok);
    assert.equal(r.protocol, "");
    assert.equal(r.extensionsHeader, "");
    assert.deepEqual([...r.remainder], [0x81, 0x02, 0x68, 0x69]);
    assert.equal(c.receive(enc("ignored")), r, "later calls return the same result");
    assert.equal(c.finish(), r);
  });

  it("gives the same result however the response is split", () => {
    const bytes = enc(response101("Sec-WebSocket-Protocol: chat\r\n") + "frame");
    for (let i = 0; i <= bytes.length; i++) {
      const c = client({ protocols: ["chat"] });
      const first = c.receive(bytes.subarray(0, i));
      // Once the result is out, later bytes belong to the engine, not to the handshake.
      const r = first ?? c.receive(bytes.subarray(i));
      assert.ok(r?.ok, `split at ${i}`);
      assert.equal(r.protocol, "chat");
      assert.equal(text(r.remainder) + (first === null ? "" : text(bytes.subarray(i))), "frame");
    }
  });

  it("interoperates with acceptHandshake", () => {
    const c = new ClientHandshake({ url: "ws://h/x", protocols: ["b", "a"] });
    const head = new HttpHeadParser("request").push(c.request());
    assert.ok(head && !(head instanceof HandshakeError));
    const s = acceptHandshake(toHandshakeRequest(head), { protocols: ["a", "b"] });
    assert.ok(s.ok);
    const r = c.receive(s.response);
    assert.ok(r?.ok);
    assert.equal(r.protocol, "a");
  });

  it("accepts case variations and a Connection list", () => {
    const res =
      "HTTP/1.1 101 OK\r\nupgrade: WebSocket\r\nconnection: keep-alive, UPGRADE\r\n" +
      `sec-websocket-accept:   ${RFC_ACCEPT}  \r\n\r\n`;
    assert.ok(client().receive(enc(res))?.ok);
  });

  it("fails (502) on each missing or wrong header", () => {
    const cases: Array<[string, RegExp]> = [
      [`HTTP/1.1 101 OK\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${RFC_ACCEPT}\r\n\r\n`, /Upgrade/],
      [
        `HTTP/1.1 101 OK\r\nUpgrade: h2c\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${RFC_ACCEPT}\r\n\r\n`,
        /Upgrade/,
      ],
      [
        `HTTP/1.1 101 OK\r\nUpgrade: websocket, h2c\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${RFC_ACCEPT}\r\n\r\n`,
        /Upgrade/,
      ],
      [`HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: ${RFC_ACCEPT}\r\n\r\n`, /Connection/],
      [
        `HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: close\r\nSec-WebSocket-Accept: ${RFC_ACCEPT}\r\n\r\n`,
        /Connection/,
      ],
      ["HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", /Accept/],
      [response101("", computeAccept("AAAAAAAAAAAAAAAAAAAAAA==")), /Accept/],
      [response101(`Sec-WebSocket-Accept: ${RFC_ACCEPT}\r\n`), /Accept/], // two values joined
    ];
    for (const [res, pattern] of cases) {
      const error = expectFail(client().receive(enc(res)), 502, pattern);
      assert.equal(error.response?.status, 101);
    }
  });

  it("fails (502) on a malformed or oversized head, keeping the parser error as cause", () => {
    const e = expectFail(client().receive(enc("HTTP/1.1 101 OK\r\nBad Header: x\r\n\r\n")), 502);
    assert.ok(e.cause instanceof HandshakeError);
    assert.equal(e.cause.status, 400);
    const big = client({ limits: { maxHeaderBytes: 64 } });
    const e2 = expectFail(big.receive(enc(response101())), 502);
    assert.equal((e2.cause as HandshakeError).status, 431);
  });

  it("fails on EOF before the head is complete", () => {
    const c = client();
    assert.equal(c.receive(enc("HTTP/1.1 101 Switching")), null);
    expectFail(c.finish(), 502, /closed/);
  });

  it("skips interim 1xx responses", () => {
    const r = client().receive(
      enc(`HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n${response101()}`),
    );
    assert.ok(r?.ok);
  });
});

describe("ClientHandshake: subprotocols", () => {
  it("accepts the offered protocol the server selected", () => {
    const r = client({ protocols: ["a", "b"] }).receive(enc(response101("Sec-WebSocket-Protocol: b\r\n")));
    assert.ok(r?.ok);
    assert.equal(r.protocol, "b");
  });
  it("allows a missing protocol when some were offered (RFC 6455 4.1 only fails on unoffered ones)", () => {
    const r = client({ protocols: ["a"] }).receive(enc(response101()));
    assert.ok(r?.ok);
    assert.equal(r.protocol, "");
  });
  it("fails on an unoffered, a differently-cased, several, or an unrequested protocol", () => {
    expectFail(
      client({ protocols: ["a"] }).receive(enc(response101("Sec-WebSocket-Protocol: c\r\n"))),
      502,
      /not offered/,
    );
    expectFail(client({ protocols: ["a"] }).receive(enc(response101("Sec-WebSocket-Protocol: A\r\n"))), 502);
    expectFail(client({ protocols: ["a", "b"] }).receive(enc(response101("Sec-WebSocket-Protocol: a, b\r\n"))), 502);
    expectFail(client().receive(enc(response101("Sec-WebSocket-Protocol: a\r\n"))), 502, /none was requested/);
  });
});

function fakeClientExtension(
  name: string,
  offers: ExtensionParams[],
  check: (response: ExtensionOffer) => void = () => {},
  log: string[] = [],
  rsv1 = true,
): ClientExtension {
  return {
    name,
    offers: () => offers,
    accept(response) {
      check(response);
      log.push(`accept:${name}`);
      return {
        name,
        rsv1,
        processIncoming: (m) => m,
        processOutgoing: (m) => m,
        close: () => log.push(`close:${name}`),
      };
    },
  };
}

describe("ClientHandshake: extensions", () => {
  it("hands the accepted params to the extension and returns its session", () => {
    let seen: ExtensionOffer | undefined;
    const ext = fakeClientExtension("permessage-deflate", [{}], (r) => {
      seen = r;
    });
    const r = client({ extensions: [ext] }).receive(
      enc(response101("Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n")),
    );
    assert.ok(r?.ok);
    assert.equal(r.extensions.length, 1);
    assert.equal(r.extensionsHeader, "permessage-deflate; server_no_context_takeover");
    assert.deepEqual(seen?.params, { server_no_context_takeover: true });
  });

  it("fails on an extension that was not offered, accepted twice, or malformed", () => {
    const log: string[] = [];
    const ext = () => fakeClientExtension("a", [{}], () => {}, log);
    expectFail(
      client({ extensions: [ext()] }).receive(enc(response101("Sec-WebSocket-Extensions: b\r\n"))),
      502,
      /not offered/,
    );
    expectFail(client().receive(enc(response101("Sec-WebSocket-Extensions: a\r\n"))), 502, /not offered/);
    expectFail(
      client({ extensions: [ext()] }).receive(enc(response101("Sec-WebSocket-Extensions: a, a\r\n"))),
      502,
      /twice/,
    );
    assert.deepEqual(log, ["accept:a", "close:a"]);
    expectFail(
      client({ extensions: [ext()] }).receive(enc(response101("Sec-WebSocket-Extensions: a;\r\n"))),
      502,
      /Invalid/,
    );
  });

  it("fails when the extension refuses the answer, keeping its error as cause, and closes earlier sessions", () => {
    const log: string[] = [];
    const ok = fakeClientExtension("a", [{}], () => {}, log, false);
    const refusal = new HandshakeError("BAD_REQUEST", "bad window bits");
    const picky = fakeClientExtension("b", [{}], () => {
      throw refusal;
    });
    const e = expectFail(
      client({ extensions: [ok, picky] }).receive(enc(response101("Sec-WebSocket-Extensions: a, b; x=1\r\n"))),
      502,
      /bad window bits/,
    );
    assert.equal(e.cause, refusal);
    assert.deepEqual(log, ["accept:a", "close:a"]);
  });

  it("fails when two accepted extensions claim the same RSV bit", () => {
    const log: string[] = [];
    const a = fakeClientExtension("a", [{}], () => {}, log);
    const b = fakeClientExtension("b", [{}], () => {}, log);
    expectFail(
      client({ extensions: [a, b] }).receive(enc(response101("Sec-WebSocket-Extensions: a, b\r\n"))),
      502,
      /RSV/,
    );
    assert.deepEqual(log, ["accept:a", "accept:b", "close:b", "close:a"]);
  });
});

describe("ClientHandshake: other statuses", () => {
  it("reports a non-101 with its status, headers and Content-Length body, waiting for the body", () => {
    const c = client();
    assert.equal(
      c.receive(enc("HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=x\r\nContent-Length: 10\r\n\r\nhello")),
      null,
    );
    const e = expectFail(c.receive(enc(" worldEXTRA")), 401, /401 Unauthorized/);
    assert.equal(e.response?.status, 401);
    assert.equal(e.response?.statusText, "Unauthorized");
    assert.deepEqual(e.response?.headers, [
      ["WWW-Authenticate", "Basic realm=x"],
      ["Content-Length", "10"],
    ]);
    assert.equal(text(e.response?.body ?? new Uint8Array()), "hello worl");
  });

  it("exposes Location on redirects", () => {
    const e = expectFail(
      client().receive(enc("HTTP/1.1 302 Found\r\nLocation: wss://elsewhere/\r\nContent-Length: 0\r\n\r\n")),
      302,
    );
    assert.equal(e.response?.headers.find(([n]) => n.toLowerCase() === "location")?.[1], "wss://elsewhere/");
  });

  it("decodes a chunked body", () => {
    const c = client();
    const res = enc(
      "HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
    );
    // The last chunk ("0" CRLF) ends the read: trailers are not waited for.
    const last = text(res).lastIndexOf("0\r\n") + 3;
    for (let i = 0; i < last - 1; i++) assert.equal(c.receive(res.subarray(i, i + 1)), null, `byte ${i}`);
    const e = expectFail(c.receive(res.subarray(last - 1, last)), 403);
    assert.equal(text(e.response?.body ?? new Uint8Array()), "hello world");
  });

  it("reads a body without length until finish() (EOF)", () => {
    const c = client();
    assert.equal(c.receive(enc("HTTP/1.1 500 Internal Server Error\r\n\r\npart 1,")), null);
    assert.equal(c.receive(enc(" part 2")), null);
    const e = expectFail(c.finish(), 500);
    assert.equal(text(e.response?.body ?? new Uint8Array()), "part 1, part 2");
  });

  it("keeps at most maxErrorBody bytes and stops waiting there", () => {
    const c = client({ maxErrorBody: 8 });
    const e = expectFail(c.receive(enc("HTTP/1.1 404 Not Found\r\nContent-Length: 100\r\n\r\n0123456789")), 404);
    assert.equal(text(e.response?.body ?? new Uint8Array()), "01234567");
    const d = client();
    assert.equal(d.receive(enc("HTTP/1.1 404 Not Found\r\n\r\n")), null);
    const e2 = expectFail(d.receive(new Uint8Array(5000).fill(0x61)), 404);
    assert.equal(e2.response?.body.length, 4096);
  });

  it("answers at once for 204/304 and zero-length bodies", () => {
    expectFail(client().receive(enc("HTTP/1.1 204 No Content\r\n\r\n")), 204);
    expectFail(client().receive(enc("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")), 400);
  });

  it("never throws and gives the same verdict however the bytes are chunked", () => {
    const base = enc(`${response101("Sec-WebSocket-Protocol: a\r\nSec-WebSocket-Extensions: x; y=1\r\n")}abc`);
    const ext = () => [fakeClientExtension("x", [{}])];
    const verdict = (r: ClientHandshakeResult | null) =>
      r === null
        ? "pending"
        : r.ok
          ? `ok:${r.protocol}:${r.extensionsHeader}:${bin(r.remainder)}`
          : `fail:${r.error.status}`;
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        fc.array(fc.nat(base.length), { maxLength: 4 }),
        (edits, cuts) => {
          const bytes = base.slice();
          for (const [i, v] of edits) bytes[i] = v;
          const whole = client({ protocols: ["a"], extensions: ext() });
          const expected = verdict(whole.receive(bytes) ?? whole.finish());
          const split = client({ protocols: ["a"], extensions: ext() });
          let r: ClientHandshakeResult | null = null;
          let after = ""; // bytes fed after the result: the engine's, not the handshake's
          let start = 0;
          for (const cut of [...cuts.sort((a, b) => a - b), bytes.length]) {
            const chunk = bytes.subarray(start, Math.max(start, cut));
            if (r !== null) after += bin(chunk);
            else r = split.receive(chunk);
            start = Math.max(start, cut);
          }
          const v = verdict(r ?? split.finish());
          assert.equal(v.startsWith("ok") ? v + after : v, expected);
        },
      ),
      { numRuns: 300 },
    );
  });
});
