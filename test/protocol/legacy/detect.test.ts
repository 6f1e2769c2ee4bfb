import assert from "node:assert/strict";
import { test } from "node:test";
import { detectDraft, type HixieRequest } from "../../../src/protocol/legacy/index.js";

const req = (headers: Record<string, string>): HixieRequest => ({
  method: "GET",
  target: "/",
  httpVersion: "1.1",
  headers: new Map(Object.entries(headers)),
});
const upgrade = { upgrade: "WebSocket", connection: "Upgrade", host: "example.com" };

test("detectDraft: Key1/Key2 without Sec-WebSocket-Key is hixie-76", () => {
  assert.equal(detectDraft(req({ ...upgrade, "sec-websocket-key1": "1 2", "sec-websocket-key2": "3 4" })), "hixie-76");
  // One key alone is still draft-76 (and fails its handshake there).
  assert.equal(detectDraft(req({ ...upgrade, "sec-websocket-key1": "1 2" })), "hixie-76");
});

test("detectDraft: no keys at all is hixie-75", () => {
  assert.equal(detectDraft(req(upgrade)), "hixie-75");
});

test("detectDraft: Sec-WebSocket-Key (or -Version) is hybi, even with Key1/Key2", () => {
  assert.equal(detectDraft(req({ ...upgrade, "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==" })), "hybi");
  assert.equal(detectDraft(req({ ...upgrade, "sec-websocket-version": "13" })), "hybi");
  assert.equal(
    detectDraft(
      req({ ...upgrade, "sec-websocket-key": "x", "sec-websocket-key1": "1 2", "sec-websocket-key2": "3 4" }),
    ),
    "hybi",
  );
});

test("detectDraft: not an upgrade is null; tokens are case-insensitive and may be in lists", () => {
  assert.equal(detectDraft(req({ host: "example.com" })), null);
  assert.equal(detectDraft(req({ upgrade: "WebSocket", host: "x" })), null);
  assert.equal(detectDraft(req({ connection: "Upgrade", host: "x" })), null);
  assert.equal(detectDraft(req({ upgrade: "h2c", connection: "Upgrade" })), null);
  assert.equal(detectDraft(req({ upgrade: "websocket", connection: "keep-alive, upgrade" })), "hixie-75");
});

test("detectDraft: accepts Node's IncomingMessage.headers record (arrays included)", () => {
  const request: HixieRequest = {
    method: "GET",
    target: "/",
    httpVersion: "1.1",
    headers: { upgrade: "WebSocket", connection: "Upgrade", "sec-websocket-key1": "1 2", "x-many": ["a", "b"] },
  };
  assert.equal(detectDraft(request), "hixie-76");
});
