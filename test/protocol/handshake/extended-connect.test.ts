import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ServerPerMessageDeflate } from "../../../src/protocol/extensions/index.js";
import { acceptExtendedConnect, ExtendedConnectHandshake } from "../../../src/protocol/handshake/extended-connect.js";
import { recordingFactory } from "../extensions/helpers.js";

const base = {
  ":method": "CONNECT",
  ":protocol": "websocket",
  ":scheme": "https",
  ":path": "/chat?room=1",
  ":authority": "server.example.com",
  "sec-websocket-version": "13",
};

describe("acceptExtendedConnect (RFC 8441 5, server)", () => {
  it("answers RFC 8441 5.1's example: 200 with the chosen subprotocol, no Accept/Upgrade/Connection", () => {
    const result = acceptExtendedConnect(
      { headers: { ...base, "sec-websocket-protocol": "chat, superchat", origin: "http://www.example.com" } },
      { protocols: ["chat"] },
    );
    assert.ok(result.ok);
    assert.deepEqual(result.headers, { ":status": 200, "sec-websocket-protocol": "chat" });
    assert.equal(result.protocol, "chat");
  });

  it("hands each request offering nothing a fresh, changeable extension list", () => {
    const a = acceptExtendedConnect({ headers: base });
    const b = acceptExtendedConnect({ headers: base });
    assert.ok(a.ok && b.ok);
    assert.notEqual(a.extensions, b.extensions);
    a.extensions.push(b.extensions[0]!);
    assert.deepEqual([a.extensions.length, b.extensions.length], [1, 0]);
  });

  it("negotiates extensions as RFC 6455 does and adds custom headers lowercased, minus HTTP/1.1-only fields", () => {
    const result = acceptExtendedConnect(
      {
        headers: new Map(
          Object.entries({ ...base, "sec-websocket-extensions": "permessage-deflate; client_max_window_bits" }),
        ),
      },
      {
        extensions: [new ServerPerMessageDeflate(recordingFactory)],
        headers: { "X-Server": "w", "Keep-Alive": "timeout=5" },
      },
    );
    assert.ok(result.ok, JSON.stringify(!result.ok && result.error.message));
    assert.match(String(result.headers["sec-websocket-extensions"]), /^permessage-deflate/);
    assert.equal(result.headers["x-server"], "w");
    assert.equal(result.headers["keep-alive"], undefined);
    assert.equal(result.extensions.length, 1);
  });

  it("refuses, in order: method 405, :protocol, :scheme, :path, :authority 400, version 400 + sec-websocket-version", () => {
    const cases: Array<[Record<string, string | undefined>, number, string]> = [
      [{ ":method": "GET" }, 405, "CONNECT"],
      [{ ":protocol": "webtransport" }, 400, ":protocol"],
      [{ ":scheme": "ws" }, 400, ":scheme"],
      [{ ":path": undefined }, 400, ":path"],
      [{ ":path": "chat" }, 400, ":path"],
      [{ ":authority": "" }, 400, ":authority"],
      [{ "sec-websocket-version": "8" }, 400, "Version"],
      [{ "sec-websocket-version": undefined }, 400, "Version"],
      [{ "sec-websocket-protocol": "a b" }, 400, "Protocol"],
      [{ "sec-websocket-extensions": "permessage-deflate;;" }, 400, "Extensions"],
    ];
    for (const [change, status, word] of cases) {
      const result = acceptExtendedConnect({ headers: { ...base, ...change } });
      assert.ok(!result.ok, JSON.stringify(change));
      assert.equal(result.error.status, status, JSON.stringify(change));
      assert.match(result.error.message, new RegExp(word), JSON.stringify(change));
    }
    const version = acceptExtendedConnect({ headers: { ...base, "sec-websocket-version": "7" } });
    assert.ok(!version.ok);
    assert.deepEqual(version.error.headers, { "sec-websocket-version": "13" });
  });

  it("ignores Sec-WebSocket-Key (superseded by :protocol) and turns a throwing protocols callback into 500", () => {
    assert.ok(acceptExtendedConnect({ headers: { ...base, "sec-websocket-key": "not even base64" } }).ok);
    const result = acceptExtendedConnect(
      { headers: { ...base, "sec-websocket-protocol": "a" } },
      {
        protocols: () => {
          throw new Error("boom");
        },
      },
    );
    assert.ok(!result.ok);
    assert.equal(result.error.status, 500);
  });
});

describe("ExtendedConnectHandshake (RFC 8441 5, client)", () => {
  it("builds the extended CONNECT's header fields from the URL and options", () => {
    const h = new ExtendedConnectHandshake({
      url: "wss://user:pw@server.example.com:8443/chat?x=1#frag",
      origin: "http://www.example.com",
      protocols: ["chat", "superchat"],
      headers: { Cookie: "a=b", Host: "override.example" },
    });
    assert.deepEqual(h.headers(), {
      ":method": "CONNECT",
      ":protocol": "websocket",
      ":scheme": "https",
      ":path": "/chat?x=1",
      ":authority": "override.example",
      "sec-websocket-version": "13",
      origin: "http://www.example.com",
      "sec-websocket-protocol": "chat, superchat",
      authorization: `Basic ${Buffer.from("user:pw").toString("base64")}`,
      cookie: "a=b",
    });
    assert.equal(new ExtendedConnectHandshake({ url: "ws://h/" }).headers()[":scheme"], "http");
  });

  it("refuses HTTP/2-illegal and reserved custom headers, bad subprotocols", () => {
    const illegal: Array<Record<string, string>> = [
      { Connection: "x" },
      { "Keep-Alive": "1" },
      { TE: "gzip" },
      { "Sec-WebSocket-Key": "k" },
    ];
    for (const headers of illegal) {
      assert.throws(
        () => new ExtendedConnectHandshake({ url: "wss://h/", headers }),
        TypeError,
        JSON.stringify(headers),
      );
    }
    assert.throws(() => new ExtendedConnectHandshake({ url: "wss://h/", protocols: ["a", "a"] }), TypeError);
  });

  it("judges the answer: any 2xx opens, the subprotocol must have been offered, others fail with their status", () => {
    const h = new ExtendedConnectHandshake({ url: "wss://h/", protocols: ["chat"] });
    const ok = h.response(200, { ":status": 200, "sec-websocket-protocol": "chat" });
    assert.ok(ok.ok);
    assert.equal(ok.protocol, "chat");
    assert.ok(h.response(204, {}).ok);
    const wrong = h.response(200, { "sec-websocket-protocol": "other" });
    assert.ok(!wrong.ok);
    assert.equal(wrong.error.status, 502);
    const ext = h.response(200, { "sec-websocket-extensions": "permessage-deflate" });
    assert.ok(!ext.ok, "an extension that was not offered");
    const refused = h.response(403, {});
    assert.ok(!refused.ok);
    assert.equal(refused.error.status, 403);
  });
});
