// The handshake modules use no regular expressions in their parsing code (ReDoS: ws
// CVE-2021-32640, websocket-extensions CVE-2020-7662), and handshake/index.ts exports the
// documented API. (What they may import is the layer test's: test/architecture.test.ts.)
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import * as api from "../../../src/protocol/handshake/index.js";

const FILES = [
  "base64",
  "client-handshake",
  "index",
  "header-tokens",
  "head-line-scanner",
  "http-head-parser",
  "http-response-reader",
  "http-status",
  "proxy",
  "server-handshake",
  "sha1",
];

const source = (name: string) =>
  readFileSync(new URL(`../../../src/protocol/handshake/${name}.ts`, import.meta.url), "utf8");

describe("handshake modules: no regular expressions, the public API", () => {
  it("use no regular expressions", () => {
    for (const name of FILES) {
      const code = source(name)
        .split("\n")
        .filter((line) => !/^\s*(\/\/|\*|\/\*)/.test(line))
        .join("\n");
      assert.doesNotMatch(code, /new RegExp|\.match\(|\.matchAll\(|\.test\(|\.replace\(\s*\//, name);
    }
  });

  it("handshake/index.ts exports the public API", () => {
    for (const fn of [
      "acceptHandshake",
      "computeAccept",
      "renderResponse",
      "renderRejection",
      "toHandshakeRequest",
      "connectRequest",
      "parseExtensions",
      "renderExtension",
      "renderExtensions",
      "sha1",
      "encodeBase64",
      "decodeBase64",
    ]) {
      assert.equal(typeof (api as Record<string, unknown>)[fn], "function", fn);
    }
    for (const cls of ["ClientHandshake", "HttpHeadParser", "ProxyResponse", "HttpResponseReader"]) {
      assert.equal(typeof (api as Record<string, unknown>)[cls], "function", cls);
    }
    assert.equal(api.WEBSOCKET_GUID, "258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
  });
});
