import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULT_LIMITS } from "../../src/channels/cable-connection.js";
import { sleep } from "../helpers/time.js";
import { chatId, makeCore } from "./channels-fixture.js";
import { flush, performCmd, subscribeCmd } from "./fakes.js";

describe("limits", () => {
  it("maxSubscriptions: the subscription beyond the limit is rejected", async () => {
    const { connect, errors } = makeCore({ limits: { maxSubscriptions: 2 } });
    const { transport, connection } = await connect();
    for (const room of ["1", "2", "3"]) connection.receive(subscribeCmd(chatId(room)));
    await flush();
    assert.deepEqual(
      transport.replies.map((m) => m.type),
      ["confirm_subscription", "confirm_subscription", "reject_subscription"],
    );
    assert.equal(errors[0].code, "TOO_MANY_SUBSCRIPTIONS");
    assert.deepEqual(connection.identifiers, [chatId("1"), chatId("2")]);
  });

  it("maxCommandSize counts UTF-8 bytes; a larger command closes the connection with 1009, reported", async () => {
    const { connect, errors } = makeCore({ limits: { maxCommandSize: 200 } });
    const { transport, connection } = await connect();
    connection.receive(subscribeCmd(chatId("1")));
    const fits = performCmd(chatId("1"), { action: "echo", value: "a".repeat(60) });
    assert.ok(Buffer.byteLength(fits) <= 200);
    connection.receive(fits);
    await flush();
    assert.deepEqual(transport.replies.at(-1), { identifier: chatId("1"), message: { echo: "a".repeat(60) } });
    const tooBig = performCmd(chatId("1"), { action: "echo", value: "é".repeat(60) }); // < 200 chars, > 200 bytes
    assert.ok(tooBig.length <= 200 && Buffer.byteLength(tooBig) > 200);
    connection.receive(tooBig);
    connection.receive(fits); // after the close: ignored
    await flush();
    assert.deepEqual(
      errors.map((e) => e.code),
      ["COMMAND_TOO_LARGE"],
    );
    assert.deepEqual(transport.closedWith, { code: 1009, reason: "command too large" });
    assert.equal(transport.replies.length, 2); // the confirmation and the one echo
  });

  it("the default command size limit is Rails': 64 MiB; a 2 MiB perform runs", async () => {
    assert.equal(DEFAULT_LIMITS.maxCommandSize, 64 * 1024 * 1024);
    const { connect, errors } = makeCore();
    const { transport, connection } = await connect();
    connection.receive(subscribeCmd(chatId("1")));
    const value = "x".repeat(2 * 1024 * 1024);
    connection.receive(performCmd(chatId("1"), { action: "echo", value }));
    await flush();
    assert.deepEqual(errors, []);
    assert.deepEqual(transport.replies.at(-1), { identifier: chatId("1"), message: { echo: value } });
  });

  it("rateLimit (opt-in): the command beyond the budget closes the connection with 1008, reported", async () => {
    const { connect, errors } = makeCore({ limits: { rateLimit: { commands: 3, interval: 60_000 } } }); // no refill meanwhile
    const { transport, connection } = await connect();
    connection.receive(subscribeCmd(chatId("1")));
    for (let i = 0; i < 5; i++) {
      await flush();
      connection.receive(performCmd(chatId("1"), { action: "echo", value: i }));
    }
    await flush();
    assert.equal(transport.replies.length, 3); // confirm + 2 echoes, then the close
    assert.deepEqual(
      errors.map((e) => e.code),
      ["RATE_LIMITED"],
    );
    assert.deepEqual(transport.closedWith, { code: 1008, reason: "command rate limit exceeded" });
    assert.equal(connection.isOpen, false);
  });

  it("rateLimit: within the budget over time, nothing is refused", async () => {
    const { connect, errors } = makeCore({ limits: { rateLimit: { commands: 2, interval: 50 } } });
    const { transport, connection } = await connect();
    connection.receive(subscribeCmd(chatId("1")));
    for (let i = 0; i < 3; i++) {
      await sleep(60);
      connection.receive(performCmd(chatId("1"), { action: "echo", value: i }));
    }
    await flush();
    assert.deepEqual(errors, []);
    assert.equal(transport.replies.length, 4);
  });

  it("no rate limit by default", async () => {
    const { connect, errors } = makeCore();
    const { transport, connection } = await connect();
    connection.receive(subscribeCmd(chatId("1")));
    for (let i = 0; i < 500; i++) connection.receive(performCmd(chatId("1"), { action: "echo", value: i }));
    await flush(20);
    assert.equal(transport.replies.length, 501);
    assert.deepEqual(errors, []);
  });
});

describe("bounded queues", () => {
  it("commands pile up behind a slow action only up to MAX_QUEUED_COMMANDS", async () => {
    const { MAX_QUEUED_COMMANDS } = await import("../../src/channels/cable-connection.js");
    const { Channel } = await import("../../src/channels/channel.js");
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    class SlowChannel extends Channel {
      async slow(): Promise<void> {
        await gate;
      }
      fast(): void {
        this.transmit("ok");
      }
    }
    const { connect, errors } = makeCore({ channels: { SlowChannel } });
    const { transport, connection } = await connect();
    const id = '{"channel":"SlowChannel"}';
    connection.receive(subscribeCmd(id));
    await flush();
    connection.receive(performCmd(id, { action: "slow" }));
    await flush();
    for (let i = 0; i < MAX_QUEUED_COMMANDS + 10; i++) connection.receive(performCmd(id, { action: "fast" }));
    // The one over the bound closes the connection with 1013 ("try again later"), reported once.
    assert.equal(errors.filter((e) => e.code === "RATE_LIMITED").length, 1);
    assert.deepEqual(transport.closedWith, { code: 1013, reason: "too many commands waiting" });
    release();
    await flush(50);
    assert.equal(transport.replies.filter((m) => m.message === "ok").length, 0); // closed: not run
  });

  it("commands sent before authentication completes are buffered up to the same bound", async () => {
    const { MAX_QUEUED_COMMANDS } = await import("../../src/channels/cable-connection.js");
    const { FakeTransport } = await import("./fakes.js");
    let release!: (v: unknown) => void;
    const { core, errors } = makeCore({ authenticate: () => new Promise((r) => (release = r)) });
    const transport = new FakeTransport();
    const connection = core.accept(transport);
    for (let i = 0; i < MAX_QUEUED_COMMANDS + 5; i++) connection.receive("not even json");
    assert.deepEqual(
      errors.map((e) => e.code),
      ["RATE_LIMITED"],
    );
    assert.deepEqual(transport.closedWith, { code: 1013, reason: "too many commands waiting" });
    release(undefined);
    await flush(20);
    assert.equal(errors.length, 1); // the buffered commands of a closed connection are dropped
  });
});
