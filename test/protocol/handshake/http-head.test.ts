// The parser's heads (http-head.ts): plain objects by default (own data properties, the public
// shape); from `HttpHeadParser.lazy` (internal) header lines kept flat with their lowercased names, `rawHeaders`
// and `headers` made on first read; `flatRawHeaders` (node:http's rawHeaders form) and
// `headerKeys` for lazy heads and for plain HttpHead objects, the same whatever the chunking
// (split at every byte).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { flatRawHeaders, headerKeys } from "../../../src/protocol/handshake/http-head.js";
import { type HttpHead, HttpHeadParser } from "../../../src/protocol/handshake/http-head-parser.js";

const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

const REQUEST =
  "GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
  "X-Twice: 1\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nx-twice: 2\r\nSec-WebSocket-Version: 13\r\n\r\n";
const FLAT = [
  "Host",
  "example.com",
  "Upgrade",
  "websocket",
  "Connection",
  "Upgrade",
  "X-Twice",
  "1",
  "Sec-WebSocket-Key",
  "dGhlIHNhbXBsZSBub25jZQ==",
  "x-twice",
  "2",
  "Sec-WebSocket-Version",
  "13",
];
const KEYS = ["host", "upgrade", "connection", "x-twice", "sec-websocket-key", "x-twice", "sec-websocket-version"];
const MAP = new Map([
  ["host", "example.com"],
  ["upgrade", "websocket"],
  ["connection", "Upgrade"],
  ["x-twice", "1, 2"],
  ["sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="],
  ["sec-websocket-version", "13"],
]);
const pairsOf = (flat: string[]) => Array.from({ length: flat.length / 2 }, (_, i) => [flat[2 * i], flat[2 * i + 1]]);

function parse(bytes: Uint8Array, cuts: number[], heads: "plain" | "lazy" = "lazy"): HttpHead {
  const parser = heads === "lazy" ? HttpHeadParser.lazy("request") : new HttpHeadParser("request");
  let start = 0;
  for (const cut of [...cuts, bytes.length]) {
    const result = parser.push(bytes.subarray(start, cut));
    start = cut;
    if (result !== null) {
      assert.ok(!(result instanceof Error), String(result));
      return result;
    }
  }
  throw new Error("head not complete");
}

describe("http-head", () => {
  it("keeps the lines flat and pairs them on first read of rawHeaders (the same array after)", () => {
    const head = parse(latin1(REQUEST), []);
    assert.deepEqual(flatRawHeaders(head), FLAT);
    assert.equal(flatRawHeaders(head), flatRawHeaders(head), "the parser's own array, not a copy");
    const pairs = head.rawHeaders;
    assert.deepEqual(pairs, pairsOf(FLAT));
    assert.equal(head.rawHeaders, pairs);
    assert.deepEqual(headerKeys(head), KEYS);
    assert.equal(headerKeys(head), headerKeys(head), "the parser's own array, not a copy");
    const map = head.headers;
    assert.deepEqual([...map], [...MAP], "lowercased, joined with ', ', in first-seen order");
    assert.equal(head.headers, map);
    assert.equal(head.method, "GET");
    assert.equal(head.target, "/chat");
    assert.equal(head.httpVersion, "1.1");
    assert.equal("status" in head, false, "a request head has no response fields");
  });

  it("gives the same flat lines and pairs split at every byte and byte by byte", () => {
    const bytes = latin1(REQUEST);
    for (let i = 0; i <= bytes.length; i++) {
      for (const heads of ["lazy", "plain"] as const) {
        const head = parse(bytes, [i], heads);
        assert.deepEqual(flatRawHeaders(head), FLAT, `${heads}, split at ${i}`);
        assert.deepEqual(headerKeys(head), KEYS, `${heads}, split at ${i}`);
        assert.deepEqual([...head.headers], [...MAP], `${heads}, split at ${i}`);
        assert.deepEqual(head.rawHeaders, pairsOf(FLAT), `${heads}, split at ${i}`);
      }
    }
    const head = parse(
      bytes,
      Array.from({ length: bytes.length }, (_, i) => i),
    );
    assert.deepEqual(flatRawHeaders(head), FLAT);
    assert.deepEqual(headerKeys(head), KEYS);
  });

  it("follows rawHeaders and headers when they are replaced, and reads plain HttpHead objects", () => {
    const head = parse(latin1(REQUEST), []);
    head.rawHeaders = [["A", "1"]];
    assert.deepEqual(head.rawHeaders, [["A", "1"]]);
    assert.deepEqual(flatRawHeaders(head), ["A", "1"]);
    assert.deepEqual(headerKeys(head), ["a"]);
    const replaced = new Map([["a", "1"]]);
    head.headers = replaced;
    assert.equal(head.headers, replaced);
    const plain: HttpHead = {
      httpVersion: "1.1",
      rawHeaders: [
        ["Host", "h"],
        ["B", "2"],
      ],
      headers: new Map(),
    };
    assert.deepEqual(flatRawHeaders(plain), ["Host", "h", "B", "2"]);
    assert.deepEqual(headerKeys(plain), ["host", "b"]);
  });

  it("returns plain heads by default: own data properties that spread, serialise and take any value", () => {
    const head = parse(latin1(REQUEST), [], "plain");
    assert.deepEqual(Object.keys(head), ["httpVersion", "rawHeaders", "headers", "method", "target"]);
    assert.equal(Object.getPrototypeOf(head), Object.prototype);
    const copy = { ...head };
    assert.equal(copy.rawHeaders, head.rawHeaders);
    assert.equal(copy.headers, head.headers);
    assert.deepEqual(JSON.parse(JSON.stringify(head)).rawHeaders, pairsOf(FLAT));
    assert.deepEqual(structuredClone(head).headers, MAP);
    (head as { headers?: unknown }).headers = undefined;
    assert.equal(head.headers, undefined, "a plain property keeps what is assigned");
    assert.equal(delete (head as { rawHeaders?: unknown }).rawHeaders, true);
    assert.equal("rawHeaders" in head, false);
  });

  it("gives a response head its status fields and no request fields", () => {
    const parser = new HttpHeadParser("response");
    const head = parser.push(latin1("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"));
    assert.ok(head !== null && !(head instanceof Error));
    assert.equal(head.status, 101);
    assert.equal(head.statusText, "Switching Protocols");
    assert.equal("method" in head, false);
    assert.deepEqual(head.rawHeaders, [["Upgrade", "websocket"]]);
    assert.deepEqual(flatRawHeaders(head), ["Upgrade", "websocket"]);
  });
});
