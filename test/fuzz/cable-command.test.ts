/**
 * Fuzzing the ActionCable command decoder (src/cable/protocol.ts parseCommand) and the cable
 * connection behind it (CableCore with a fake transport):
 * - arbitrary text, arbitrary JSON values (deeply nested too) and mutations of the commands
 *   @rails/actioncable sends: parseCommand never throws; it returns a CableError of a
 *   documented code with a bounded message (peer input is never echoed whole), or a command
 *   whose fields hold what the rules promise;
 * - the same inputs fed to a live cable connection: never a throw, never 1011, every refusal
 *   reported as an `error` event and the connection still answering afterwards (Rails logs a
 *   bad command and ignores it).
 * Run length: fuzz-config.ts.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { CableError, type CableErrorCode } from "../../src/cable/errors.js";
import { parseCommand } from "../../src/cable/protocol.js";
import { chatId, makeCore } from "../channels/channels-fixture.js";
import { flush, performCmd, subscribeCmd } from "../channels/fakes.js";
import { fuzzParams } from "./fuzz-config.js";

const DECODER_CODES: ReadonlySet<CableErrorCode> = new Set([
  "MALFORMED_COMMAND",
  "UNKNOWN_COMMAND",
  "INVALID_IDENTIFIER",
]);

/** What @rails/actioncable sends (Subscription#send, subscribe, unsubscribe) and the extensions. */
const SEEDS = [
  subscribeCmd(chatId("1")),
  JSON.stringify({ command: "unsubscribe", identifier: chatId("1") }),
  performCmd(chatId("1"), { action: "speak", text: "hi" }),
  performCmd(chatId("1"), { action: "echo", value: [1, { a: null }] }),
  JSON.stringify({ command: "message", identifier: chatId("1"), data: '{"action":"speak"}', id: "m-1" }),
  JSON.stringify({ command: "subscribe", identifier: chatId("1"), history: { since: "0:12" } }),
  JSON.stringify({ command: "history", identifier: chatId("1"), history: { recent: 10 } }),
];

/** Nested arrays or objects `depth` levels deep (9 KiB at 5,000 is what found finding 4). */
const nested = (depth: number, open: string, close: string) => open.repeat(depth) + close.repeat(depth);

/** A seed mutated: characters replaced, inserted or deleted, a field's value swapped for odd JSON. */
const mutated = fc
  .tuple(
    fc.constantFrom(...SEEDS),
    fc.array(
      fc.tuple(
        fc.nat(),
        fc.constantFrom("replace", "insert", "delete"),
        fc.constantFrom('"', "\\", "{", "}", "[", "]", ",", ":", "0", "\u0000", "\ud800", "é", " ", "n"),
      ),
      { maxLength: 4 },
    ),
  )
  .map(([seed, edits]) => {
    let s = seed;
    for (const [at, op, ch] of edits) {
      const i = at % (s.length + 1);
      s =
        op === "insert"
          ? s.slice(0, i) + ch + s.slice(i)
          : s.slice(0, i) + (op === "replace" ? ch : "") + s.slice(i + 1);
    }
    return s;
  });

const oddValue = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.constantFrom("[]", "{}", '"x"', "null", "1e309", "-0", '"\\ud800"', '{"channel":""}', '{"channel":1}'),
  fc.integer({ min: 100, max: 8000 }).map((d) => nested(d, "[", "]")),
);

/** A command object whose fields are drawn from odd values (raw JSON text spliced in). */
const oddCommand = fc
  .record({
    command: fc.oneof(
      fc.constantFrom('"subscribe"', '"unsubscribe"', '"message"', '"history"', '"SUBSCRIBE"'),
      // raw text as drawn; other values as their JSON (String() throws on a null-prototype object)
      oddValue.map((v) => (typeof v === "string" ? v : JSON.stringify(v))),
    ),
    identifier: fc.oneof(
      fc.constant(JSON.stringify(chatId("1"))),
      oddValue.map((v) => JSON.stringify(typeof v === "string" ? v : JSON.stringify(v))),
    ),
    data: fc.oneof(
      fc.constant(JSON.stringify('{"action":"speak"}')),
      oddValue.map((v) => JSON.stringify(JSON.stringify(v))),
    ),
  })
  .map(({ command, identifier, data }) => `{"command": ${command}, "identifier": ${identifier}, "data": ${data}}`);

const anyInput = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.jsonValue({ maxDepth: 6 }).map((v) => JSON.stringify(v)),
  mutated,
  oddCommand,
  fc.integer({ min: 1000, max: 10_000 }).map((d) => `{"command": ${nested(d, "[", "]")}}`),
  fc
    .integer({ min: 1000, max: 10_000 })
    .map((d) => `{"command": "subscribe", "identifier": ${JSON.stringify(nested(d, '{"a":', "}"))}}`),
);

/** The invariants of one decoder answer. */
function checkVerdict(input: string, verdict: ReturnType<typeof parseCommand>): void {
  if (verdict instanceof CableError) {
    assert.ok(DECODER_CODES.has(verdict.code), `${verdict.code} for ${input.slice(0, 80)}`);
    assert.ok(verdict.message.length <= 200, `an unbounded message: ${verdict.message.slice(0, 80)}...`);
    return;
  }
  assert.ok(["subscribe", "unsubscribe", "message", "history"].includes(verdict.command));
  assert.equal(typeof verdict.identifier, "string");
  const params = JSON.parse(verdict.identifier) as Record<string, unknown>;
  assert.equal(typeof params.channel, "string");
  assert.notEqual(params.channel, "");
  if (verdict.command === "subscribe") assert.equal(verdict.params.channel, params.channel);
  if (verdict.command === "message") {
    assert.ok(typeof verdict.data === "object" && verdict.data !== null && !Array.isArray(verdict.data));
    if (verdict.id !== undefined) assert.match(verdict.id, /^[A-Za-z0-9_.:-]{1,64}$/);
  }
}

describe("fuzz: ActionCable command decoder", () => {
  it("never throws; a documented refusal with a bounded message, or a well-formed command", () => {
    fc.assert(
      fc.property(anyInput, (input) => {
        checkVerdict(input, parseCommand(input));
      }),
      fuzzParams(3000),
    );
  });

  it("the seeds decode as the commands they are (the mutations start from valid input)", () => {
    for (const seed of SEEDS) assert.ok(!(parseCommand(seed) instanceof CableError), seed);
  });
});

describe("fuzz: a cable connection fed hostile commands", () => {
  it("never throws or closes with 1011; refusals are reported; it still answers afterwards", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(anyInput, { minLength: 1, maxLength: 8 }), async (inputs) => {
        const { connect, errors } = makeCore();
        const { transport, connection } = await connect();
        for (const input of inputs) connection.receive(input);
        await flush();
        assert.notEqual(transport.closedWith?.code, 1011, `closed 1011 after ${inputs.map((s) => s.slice(0, 60))}`);
        // A refused command is reported (never silent), with the decoder's code or the channel layer's.
        for (const error of errors) assert.ok(error instanceof CableError, String(error));
        if (transport.closedWith !== undefined) return; // a limit closed it (documented codes only)
        // Still serving: a fresh subscription and a perform are answered.
        const id = chatId("after");
        connection.receive(subscribeCmd(id));
        connection.receive(performCmd(id, { action: "echo", value: "still here" }));
        await flush();
        const replies = transport.messages.filter((m) => m.identifier === id);
        assert.deepEqual(replies.at(-1), { identifier: id, message: { echo: "still here" } });
      }),
      fuzzParams(300),
    );
  });
});
