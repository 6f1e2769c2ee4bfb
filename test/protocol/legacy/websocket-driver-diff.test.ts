/**
 * Differential tests against websocket-driver (npm), whose hixie drivers use node:crypto's MD5:
 * random draft-76 handshakes generated with the draft's own client algorithm must produce the
 * same response bytes, and the same text frames must give the same messages and the same bytes.
 */
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { test } from "node:test";
import fc from "fast-check";
import { concat } from "../../helpers/bytes.js";
import { driver76, summary } from "./helpers.js";

interface WsDriver {
  io: { on(event: "data", listener: (chunk: Uint8Array) => void): void; write(chunk: Uint8Array): void };
  on(event: "message", listener: (event: { data: string }) => void): void;
  start(): boolean;
  text(message: string): boolean;
}
const websocket = createRequire(import.meta.url)("websocket-driver") as {
  http(request: { method: string; url: string; headers: Record<string, string> }, options: object): WsDriver;
};

/** draft-76's client key algorithm: product = number * spaces <= 2^32-1, noise, spaces inside. */
const keyArb = fc
  .record({
    spaces: fc.integer({ min: 1, max: 12 }),
    fraction: fc.double({ min: 0, max: 1, noNaN: true }),
    noise: fc.array(fc.tuple(fc.nat(), fc.constantFrom(..."!\"#$%&'()*+,-./:;<=>?@ABCXYZabcxyz~")), { maxLength: 12 }),
    spaceSpots: fc.array(fc.nat(), { minLength: 12, maxLength: 12 }),
  })
  .map(({ spaces, fraction, noise, spaceSpots }) => {
    const max = Math.floor(4294967295 / spaces);
    const number = Math.max(1, Math.floor(fraction * max)); // websocket-driver refuses 0
    let key = String(number * spaces);
    for (const [spot, char] of noise) {
      const at = spot % (key.length + 1);
      key = key.slice(0, at) + char + key.slice(at);
    }
    for (let s = 0; s < spaces; s++) {
      const at = 1 + (spaceSpots[s] % (key.length - 1)); // "other than the start or end"
      key = key.slice(0, at) + " " + key.slice(at);
    }
    return key;
  });

function headersFor(key1: string, key2: string): Record<string, string> {
  return {
    host: "example.com:8080",
    connection: "Upgrade",
    upgrade: "WebSocket",
    origin: "http://example.com",
    "sec-websocket-key1": key1,
    "sec-websocket-key2": key2,
  };
}

test("draft-76 handshake: same response bytes as websocket-driver for random client keys", () => {
  fc.assert(
    fc.property(keyArb, keyArb, fc.uint8Array({ minLength: 8, maxLength: 8 }), (key1, key2, key3) => {
      const headers = headersFor(key1, key2);
      const theirs: Uint8Array[] = [];
      const peer = websocket.http({ method: "GET", url: "/chat?x=1", headers }, { allowDrafts: true });
      peer.io.on("data", (chunk) => theirs.push(chunk));
      peer.start();
      peer.io.write(key3);

      const ours = driver76(
        { method: "GET", target: "/chat?x=1", httpVersion: "1.1", headers: new Map(Object.entries(headers)) },
        { head: key3 },
      );
      const expected = Buffer.from(concat(theirs));
      assert.ok(expected.includes("Sec-WebSocket-Location: ws://example.com:8080/chat?x=1\r\n\r\n"));
      assert.equal(ours.readyState, 1);
      assert.deepEqual(Buffer.from(concat(ours.takeOutput())), expected);
    }),
    { numRuns: 300 },
  );
});

test("text frames: same messages parsed and same bytes sent as websocket-driver", () => {
  fc.assert(
    fc.property(fc.array(fc.string({ unit: "grapheme", maxLength: 30 }), { maxLength: 6 }), (messages) => {
      const key3 = new Uint8Array(8);
      const headers = headersFor("1 2", "3 4");
      const received: string[] = [];
      const sent: Uint8Array[] = [];
      const peer = websocket.http({ method: "GET", url: "/", headers }, { allowDrafts: true });
      peer.io.on("data", (chunk) => sent.push(chunk));
      peer.on("message", (event) => received.push(event.data));
      peer.start();
      peer.io.write(key3);
      sent.length = 0;

      const ours = driver76(
        { method: "GET", target: "/", httpVersion: "1.1", headers: new Map(Object.entries(headers)) },
        { head: key3 },
      );
      ours.takeOutput();
      ours.takeEvents();
      const stream = concat(
        messages.map((m) => concat([Uint8Array.of(0), new TextEncoder().encode(m), Uint8Array.of(0xff)])),
      );
      peer.io.write(stream);
      ours.receiveData(stream);
      assert.deepEqual(
        summary(ours.takeEvents()),
        received.map((data) => ({ type: "text", data })),
      );
      for (const m of messages) {
        peer.text(m);
        ours.sendText(m);
      }
      assert.deepEqual(Buffer.from(concat(ours.takeOutput())), Buffer.from(concat(sent)));
    }),
    { numRuns: 200 },
  );
});
