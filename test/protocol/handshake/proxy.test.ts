// HTTP CONNECT (RFC 9110 9.3.6): request bytes (authority-form, Host, Basic credentials from the
// proxy URL, custom headers and their validation), 2xx with tunnel bytes, 407 and other refusals
// reported with the proxy's status, headers and body; EOF handling; chunking invariance.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HandshakeError } from "../../../src/protocol/errors.js";
import { basicCredentials, connectRequest, ProxyResponse } from "../../../src/protocol/handshake/proxy.js";

const enc = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe("connectRequest", () => {
  it("renders CONNECT with Basic auth from the proxy URL (percent-decoded) and custom headers", () => {
    const bytes = connectRequest({ host: "example.com", port: 443 }, "http://al%69ce:s%3Acr%C3%A9t@proxy:3128", {
      "User-Agent": "wirecable",
    });
    const auth = Buffer.from("alice:s:crét", "utf8").toString("base64");
    assert.equal(
      text(bytes),
      "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n" +
        `Proxy-Authorization: Basic ${auth}\r\nUser-Agent: wirecable\r\n\r\n`,
    );
  });

  it("omits credentials when the URL has none; brackets IPv6 targets", () => {
    assert.equal(
      text(connectRequest({ host: "::1", port: 8080 }, new URL("http://proxy:8080"))),
      "CONNECT [::1]:8080 HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n",
    );
    assert.equal(
      text(connectRequest({ host: "[::1]", port: 1 }, "http://p")).split("\r\n")[0],
      "CONNECT [::1]:1 HTTP/1.1",
    );
  });

  it("lets a custom Proxy-Authorization replace the URL's credentials", () => {
    const s = text(connectRequest({ host: "a", port: 80 }, "http://u:p@proxy", { "Proxy-Authorization": "Bearer t" }));
    assert.match(s, /\r\nProxy-Authorization: Bearer t\r\n/);
    assert.doesNotMatch(s, /Basic/);
  });

  it("rejects injection in headers and targets, and invalid ports", () => {
    assert.throws(() => connectRequest({ host: "a", port: 80 }, "http://p", { "X-A": "1\r\nX-B: 2" }), /X-A/);
    assert.throws(() => connectRequest({ host: "a\r\nX: 1", port: 80 }, "http://p"), TypeError);
    assert.throws(() => connectRequest({ host: "a b", port: 80 }, "http://p"), TypeError);
    assert.throws(() => connectRequest({ host: "", port: 80 }, "http://p"), TypeError);
    assert.throws(() => connectRequest({ host: "a", port: 0 }, "http://p"), RangeError);
    assert.throws(() => connectRequest({ host: "a", port: 65536 }, "http://p"), RangeError);
  });

  it("basicCredentials keeps malformed escapes as written", () => {
    assert.equal(basicCredentials(new URL("http://a%zz:b@h")), `Basic ${Buffer.from("a%zz:b").toString("base64")}`);
    assert.equal(basicCredentials(new URL("http://h")), undefined);
    assert.equal(basicCredentials(new URL("http://u@h")), `Basic ${Buffer.from("u:").toString("base64")}`);
  });
});

describe("ProxyResponse", () => {
  it("opens the tunnel on 200 and returns the bytes after the head", () => {
    const bytes = enc("HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x01TLS");
    for (let i = 0; i <= bytes.length; i++) {
      const p = new ProxyResponse();
      const first = p.receive(bytes.subarray(0, i));
      const r = first ?? p.receive(bytes.subarray(i));
      assert.ok(r?.ok, `split at ${i}`);
      assert.equal(text(r.remainder) + (first === null ? "" : text(bytes.subarray(i))), "\x16\x03\x01TLS");
    }
  });

  it("accepts any 2xx, ignoring Content-Length (RFC 9110 9.3.6), and skips 1xx", () => {
    const r = new ProxyResponse().receive(
      enc("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 204 OK\r\nContent-Length: 5\r\n\r\nxy"),
    );
    assert.ok(r?.ok);
    assert.equal(text(r.remainder), "xy");
  });

  it("reports 407 with the proxy's status, headers and body", () => {
    const p = new ProxyResponse();
    assert.equal(
      p.receive(enc('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="p"\r\n')),
      null,
    );
    const r = p.receive(enc("Content-Length: 6\r\n\r\ndenied"));
    assert.ok(r && !r.ok);
    assert.ok(r.error instanceof HandshakeError);
    assert.equal(r.error.status, 407);
    assert.match(r.error.message, /407 Proxy Authentication Required/);
    assert.deepEqual(r.error.response?.headers, [
      ["Proxy-Authenticate", 'Basic realm="p"'],
      ["Content-Length", "6"],
    ]);
    assert.equal(text(r.error.response?.body ?? new Uint8Array()), "denied");
    assert.equal(p.receive(enc("more")), r);
  });

  it("reports a refusal without a length at EOF, and an early EOF as 502", () => {
    const p = new ProxyResponse();
    assert.equal(p.receive(enc("HTTP/1.1 502 Bad Gateway\r\n\r\nupstream down")), null);
    const r = p.finish();
    assert.ok(!r.ok);
    assert.equal(r.error.status, 502);
    assert.equal(text(r.error.response?.body ?? new Uint8Array()), "upstream down");

    const q = new ProxyResponse();
    assert.equal(q.receive(enc("HTTP/1.1 20")), null);
    const early = q.finish();
    assert.ok(!early.ok && early.error.status === 502 && early.error.response === undefined);
  });

  it("reports a malformed or oversized answer as 502", () => {
    const r = new ProxyResponse().receive(enc("SSH-2.0-OpenSSH\r\n\r\n"));
    assert.ok(r && !r.ok && r.error.status === 502);
    const big = new ProxyResponse({ limits: { maxHeaderBytes: 32 } }).receive(
      enc(`HTTP/1.1 200 OK\r\nX: ${"a".repeat(40)}\r\n\r\n`),
    );
    assert.ok(big && !big.ok && big.error.status === 502);
  });
});
