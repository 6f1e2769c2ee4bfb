import assert from "node:assert/strict";
import { describe, it } from "node:test";
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

  it("maxCommandSize counts UTF-8 bytes; a larger command is ignored", async () => {
    const { connect, errors } = makeCore({ limits: { maxCommandSize: 200 } });
    const { transport, connection } = await connect();
    connection.receive(subscribeCmd(chatId("1")));
    const fits = performCmd(chatId("1"), { action: "echo", value: "a".repeat(60) });
    assert.ok(Buffer.byteLength(fits) <= 200);
    const tooBig = performCmd(chatId("1"), { action: "echo", value: "é".repeat(60) }); // < 200 chars, > 200 bytes
    assert.ok(tooBig.length <= 200 && Buffer.byteLength(tooBig) > 200);
    connection.receive(tooBig);
    connection.receive(fits);
    connection.receive("x".repeat(10_000));
    await flush();
    assert.deepEqual(
      errors.map((e) => e.code),
      ["COMMAND_TOO_LARGE", "COMMAND_TOO_LARGE"],
    );
    assert.equal(transport.replies.length, 2);
  });

  it("the default command size limit is 64 KiB", async () => {
    const { connect, errors } = makeCore();
    const { connection } = await connect();
    connection.receive(subscribeCmd(chatId("x".repeat(64 * 1024))));
    await flush();
    assert.equal(errors[0].code, "COMMAND_TOO_LARGE");
  });

  it("rateLimit (opt-in): commands beyond the budget are dropped, then allowed again", async () => {
    const { connect, errors } = makeCore({ limits: { rateLimit: { commands: 3, interval: 100 } } });
    const { transport, connection } = await connect();
    connection.receive(subscribeCmd(chatId("1")));
    for (let i = 0; i < 5; i++) connection.receive(performCmd(chatId("1"), { action: "echo", value: i }));
    await flush();
    assert.equal(transport.replies.length, 3); // confirm + 2 echoes
    assert.deepEqual(
      errors.map((e) => e.code),
      ["RATE_LIMITED", "RATE_LIMITED", "RATE_LIMITED"],
    );
    await sleep(120);
    connection.receive(performCmd(chatId("1"), { action: "echo", value: "later" }));
    await flush();
    assert.deepEqual(transport.replies.at(-1), { identifier: chatId("1"), message: { echo: "later" } });
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
    assert.equal(errors.filter((e) => e.code === "RATE_LIMITED").length, 11);
    release();
    await flush(50);
    assert.equal(transport.replies.filter((m) => m.message === "ok").length, MAX_QUEUED_COMMANDS - 1);
  });

  it("commands sent before authentication completes are buffered up to the same bound", async () => {
    const { MAX_QUEUED_COMMANDS } = await import("../../src/channels/cable-connection.js");
    const { FakeTransport } = await import("./fakes.js");
    let release!: (v: unknown) => void;
    const { core, errors } = makeCore({ authenticate: () => new Promise((r) => (release = r)) });
    const transport = new FakeTransport();
    const connection = core.accept(transport);
    for (let i = 0; i < MAX_QUEUED_COMMANDS + 5; i++) connection.receive("not even json");
    assert.equal(errors.length, 5);
    assert.equal(errors[0].code, "RATE_LIMITED");
    release(undefined);
    await flush(20);
    assert.equal(errors.filter((e) => e.code === "MALFORMED_COMMAND").length, MAX_QUEUED_COMMANDS);
  });
});
