import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { proxyFor } from "../../src/node/proxy-env.js";

describe("proxy environment", () => {
  const target = { secure: false, host: "api.example.com", port: 80 };
  it("uses HTTP_PROXY for ws and HTTPS_PROXY for wss, honouring NO_PROXY", () => {
    const env = { HTTP_PROXY: "http://p:1", HTTPS_PROXY: "http://s:2" };
    assert.equal(proxyFor(target, true, env)?.host, "p:1");
    assert.equal(proxyFor({ ...target, secure: true }, true, env)?.host, "s:2");
    assert.equal(proxyFor(target, true, { ...env, NO_PROXY: "example.com" }), undefined);
    assert.equal(proxyFor(target, true, { ...env, NO_PROXY: ".example.com" }), undefined);
    assert.equal(proxyFor(target, true, { ...env, NO_PROXY: "*" }), undefined);
    assert.equal(proxyFor(target, true, { ...env, NO_PROXY: "other.com,example.com:81" })?.host, "p:1");
    assert.equal(proxyFor(target, true, {}), undefined);
    assert.equal(proxyFor(target, "http://x:3")?.host, "x:3");
    assert.equal(proxyFor({ ...target, socketPath: "/tmp/s" }, "http://x:3"), undefined);
  });
});
