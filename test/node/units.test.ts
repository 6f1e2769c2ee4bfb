import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { describe, it } from "node:test";
import { resolveConnectionOptions, validateServerOptions } from "../../src/node/options.js";
import { compileOrigins } from "../../src/node/origin.js";
import { buildFrame, prepareMessage } from "../../src/node/prepared-message.js";
import { proxyFor } from "../../src/node/proxy-env.js";
import { TokenBucket } from "../../src/node/rate-limiter.js";
import { TimerWheel } from "../../src/node/timer-wheel.js";
import { OptionError } from "../../src/protocol/errors.js";
import { sleep } from "./helpers.js";

const req = {} as IncomingMessage;

describe("TimerWheel", () => {
  it("fires entries in deadline order, never early, and stops when empty", async () => {
    const wheel = new TimerWheel(10);
    const fired: Array<[string, number]> = [];
    const start = Date.now();
    const mk = (name: string) => ({
      deadline: -1,
      slot: -1,
      onTimer() {
        fired.push([name, Date.now() - start]);
      },
    });
    const a = mk("a");
    const b = mk("b");
    const c = mk("c");
    wheel.scheduleIn(b, 60);
    wheel.scheduleIn(a, 20);
    wheel.scheduleIn(c, 40);
    wheel.cancel(c);
    assert.equal(wheel.size, 2);
    await sleep(150);
    assert.deepEqual(
      fired.map(([n]) => n),
      ["a", "b"],
    );
    assert.ok(fired[0]![1] >= 19 && fired[1]![1] >= 59, `fired too early: ${JSON.stringify(fired)}`);
    assert.equal(wheel.size, 0);
  });

  it("reschedules an entry (one bucket at a time) and survives a throwing callback", async () => {
    const wheel = new TimerWheel(10);
    let count = 0;
    const entry = {
      deadline: -1,
      slot: -1,
      onTimer() {
        count++;
        throw new Error("boom");
      },
    };
    const other = {
      deadline: -1,
      slot: -1,
      fired: false,
      onTimer() {
        this.fired = true;
      },
    };
    wheel.scheduleIn(entry, 10);
    wheel.scheduleIn(entry, 30);
    wheel.scheduleIn(other, 30);
    assert.equal(wheel.size, 2);
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on("warning", onWarning);
    await sleep(100);
    process.off("warning", onWarning);
    assert.equal(count, 1);
    assert.equal(other.fired, true);
  });

  it("handles deadlines beyond one turn of the wheel", async () => {
    const wheel = new TimerWheel(1); // 512 slots of 1 ms: 600 ms is more than a turn
    let at = 0;
    const start = Date.now();
    wheel.scheduleIn(
      {
        deadline: -1,
        slot: -1,
        onTimer() {
          at = Date.now() - start;
        },
      },
      600,
    );
    await sleep(800);
    assert.ok(at >= 599, `fired at ${at}`);
  });
});

describe("TokenBucket", () => {
  it("allows a burst of `messages`, then refills at messages/interval", () => {
    const bucket = new TokenBucket(3, 1000, 0);
    assert.equal(bucket.take(0), true);
    assert.equal(bucket.take(0), true);
    assert.equal(bucket.take(0), true);
    assert.equal(bucket.take(0), false);
    assert.equal(bucket.take(200), false); // 0.6 tokens
    assert.equal(bucket.take(340), true); // 1.02 tokens
    assert.equal(bucket.take(10_000), true); // capped at 3
    assert.equal(bucket.take(10_000), true);
    assert.equal(bucket.take(10_000), true);
    assert.equal(bucket.take(10_000), false);
  });
});

describe("origins", () => {
  it("matches exact origins case-insensitively, default ports normalised", () => {
    const check = compileOrigins(["https://Example.com", /^https:\/\/[a-z]+\.example\.org$/]);
    assert.equal(check("https://example.com", req), true);
    assert.equal(check("https://example.com:443", req), true);
    assert.equal(check("https://a.example.org", req), true);
    assert.equal(check("https://evil.com", req), false);
    assert.equal(check("https://example.com.evil.com", req), false);
    assert.equal(check(undefined, req), false);
  });
  it('"*" allows everything, a function decides alone', () => {
    assert.equal(compileOrigins(["*"])(undefined, req), true);
    assert.equal(compileOrigins((o) => o === "x")("x", req), true);
    assert.equal(compileOrigins((o) => o === "x")("y", req), false);
  });
});

describe("option validation", () => {
  const bad: Array<[string, object]> = [
    ["port", {}],
    ["port", { port: 1, noServer: true }],
    ["port", { port: -1 }],
    ["port", { port: 70000 }],
    ["path", { noServer: true, path: "chat" }],
    ["maxPayload", { noServer: true, maxPayload: -5 }],
    ["pingInterval", { noServer: true, pingInterval: 1.5 }],
    ["backpressure", { noServer: true, backpressure: "block" }],
    ["rateLimit.messages", { noServer: true, rateLimit: { messages: 0, interval: 10 } }],
    ["authenticate", { noServer: true, authenticate: "yes" }],
    ["origins", { noServer: true, origins: [42] }],
    ["protocols", { noServer: true, protocols: [""] }],
    ["perMessageDeflate", { noServer: true, perMessageDeflate: "on" }],
    ["headers", { noServer: true, headers: { "X-A": "a\r\nb" } }],
    ["maxConnections", { noServer: true, maxConnections: "10" }],
  ];
  for (const [option, options] of bad) {
    it(`rejects a bad ${option} with an OptionError naming it`, () => {
      assert.throws(
        () => validateServerOptions(options),
        (error: unknown) => error instanceof OptionError && error.option === option,
      );
    });
  }
  it("resolves defaults", () => {
    const r = resolveConnectionOptions({});
    assert.equal(r.pingInterval, 30_000);
    assert.equal(r.closeTimeout, 10_000);
    assert.equal(r.backpressure, "close");
    assert.equal(r.rateLimit, undefined);
  });
});

describe("prepared messages", () => {
  it("frames once with the RFC 6455 5.2 length encodings", () => {
    assert.deepEqual([...buildFrame(1, Buffer.from("Hello"))], [0x81, 5, 72, 101, 108, 108, 111]);
    const f126 = buildFrame(2, new Uint8Array(256));
    assert.deepEqual([...f126.subarray(0, 4)], [0x82, 126, 1, 0]);
    const f127 = buildFrame(2, new Uint8Array(65536));
    assert.deepEqual([...f127.subarray(0, 10)], [0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0]);
    const p = prepareMessage("hi");
    assert.equal(p.frame, p.frame); // cached
    assert.equal(p.binary, false);
    assert.equal(prepareMessage(new Uint8Array(2)).binary, true);
  });
});

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
