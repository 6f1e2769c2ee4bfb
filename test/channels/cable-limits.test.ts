import assert from "node:assert/strict";
import { describe, it } from "node:test";
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
    await new Promise((r) => setTimeout(r, 120));
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
