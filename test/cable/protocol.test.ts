import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CableError } from "../../src/cable/errors.js";
import {
  encodeCommand,
  encodeConfirm,
  encodeDisconnect,
  encodeMessage,
  encodePing,
  encodeReject,
  parseCommand,
  parseIdentifier,
  parseServerMessage,
  selectProtocol,
  WELCOME,
} from "../../src/cable/protocol.js";

describe("subprotocol selection (Rails via websocket-driver)", () => {
  it("selects actioncable-v1-json whenever offered", () => {
    assert.equal(selectProtocol(["actioncable-v1-json", "actioncable-unsupported"]), "actioncable-v1-json");
    assert.equal(selectProtocol(["actioncable-unsupported", "actioncable-v1-json"]), "actioncable-v1-json");
  });
  it("answers actioncable-unsupported to a client offering only that (the client then stops)", () => {
    assert.equal(selectProtocol(["actioncable-unsupported"]), "actioncable-unsupported");
  });
  it("selects none for other offers", () => {
    assert.equal(selectProtocol(["chat", "graphql-ws"]), null);
    assert.equal(selectProtocol([]), null);
  });
});

describe("server messages, byte for byte as Rails encodes them", () => {
  it("welcome, ping, disconnect", () => {
    assert.equal(WELCOME, '{"type":"welcome"}');
    assert.equal(encodePing(1700000000), '{"type":"ping","message":1700000000}');
    assert.equal(
      encodeDisconnect("unauthorized", false),
      '{"type":"disconnect","reason":"unauthorized","reconnect":false}',
    );
    assert.equal(
      encodeDisconnect("server_restart", true),
      '{"type":"disconnect","reason":"server_restart","reconnect":true}',
    );
  });
  it("confirm, reject and messages echo the identifier string exactly", () => {
    const id = '{"channel":"ChatChannel", "room" : "é\u2028\\"q\\""}';
    for (const text of [encodeConfirm(id), encodeReject(id), encodeMessage(id, '{"a":1}')]) {
      assert.equal(JSON.parse(text).identifier, id);
    }
    assert.equal(
      encodeConfirm('{"channel":"A"}'),
      '{"identifier":"{\\"channel\\":\\"A\\"}","type":"confirm_subscription"}',
    );
    assert.equal(
      encodeReject('{"channel":"A"}'),
      '{"identifier":"{\\"channel\\":\\"A\\"}","type":"reject_subscription"}',
    );
    assert.deepEqual(JSON.parse(encodeMessage('{"channel":"A"}', '{"a":[1]}')), {
      identifier: '{"channel":"A"}',
      message: { a: [1] },
    });
  });
});

describe("command parsing never throws and names the problem", () => {
  const id = JSON.stringify({ channel: "ChatChannel", room: 1 });
  it("parses the three commands", () => {
    assert.deepEqual(parseCommand(JSON.stringify({ command: "subscribe", identifier: id })), {
      command: "subscribe",
      identifier: id,
      params: { channel: "ChatChannel", room: 1 },
    });
    assert.deepEqual(parseCommand(JSON.stringify({ command: "unsubscribe", identifier: id })), {
      command: "unsubscribe",
      identifier: id,
    });
    assert.deepEqual(parseCommand(JSON.stringify({ command: "message", identifier: id, data: '{"action":"x"}' })), {
      command: "message",
      identifier: id,
      data: { action: "x" },
    });
  });
  const bad: Array<[string, string]> = [
    ["not json", "MALFORMED_COMMAND"],
    ["[1,2]", "MALFORMED_COMMAND"],
    ["null", "MALFORMED_COMMAND"],
    ['"subscribe"', "MALFORMED_COMMAND"],
    [JSON.stringify({ command: "explode", identifier: id }), "UNKNOWN_COMMAND"],
    [JSON.stringify({ identifier: id }), "UNKNOWN_COMMAND"],
    [JSON.stringify({ command: "subscribe" }), "INVALID_IDENTIFIER"],
    [JSON.stringify({ command: "subscribe", identifier: "" }), "INVALID_IDENTIFIER"],
    [JSON.stringify({ command: "subscribe", identifier: { channel: "A" } }), "INVALID_IDENTIFIER"],
    [JSON.stringify({ command: "subscribe", identifier: "{nope" }), "INVALID_IDENTIFIER"],
    [JSON.stringify({ command: "subscribe", identifier: "[]" }), "INVALID_IDENTIFIER"],
    [JSON.stringify({ command: "subscribe", identifier: '"ChatChannel"' }), "INVALID_IDENTIFIER"],
    [JSON.stringify({ command: "subscribe", identifier: "{}" }), "INVALID_IDENTIFIER"],
    [JSON.stringify({ command: "subscribe", identifier: '{"channel":1}' }), "INVALID_IDENTIFIER"],
    [JSON.stringify({ command: "subscribe", identifier: '{"channel":""}' }), "INVALID_IDENTIFIER"],
    [JSON.stringify({ command: "message", identifier: id }), "MALFORMED_COMMAND"],
    [JSON.stringify({ command: "message", identifier: id, data: { action: "x" } }), "MALFORMED_COMMAND"],
    [JSON.stringify({ command: "message", identifier: id, data: "{bad" }), "MALFORMED_COMMAND"],
    [JSON.stringify({ command: "message", identifier: id, data: "[1]" }), "MALFORMED_COMMAND"],
  ];
  for (const [text, code] of bad) {
    it(`${code}: ${text.slice(0, 70)}`, () => {
      const result = parseCommand(text);
      assert.ok(result instanceof CableError);
      assert.equal(result.code, code);
    });
  }
  it("parseIdentifier keeps every param", () => {
    assert.deepEqual(parseIdentifier('{"channel":"A","x":[1],"y":null}'), { channel: "A", x: [1], y: null });
  });
});

describe("the client's side: commands out, server messages in", () => {
  it("encodes commands with @rails/actioncable's keys and order", () => {
    const identifier = JSON.stringify({ channel: "ChatChannel", room: "1" });
    assert.equal(
      encodeCommand({ command: "subscribe", identifier }),
      '{"command":"subscribe","identifier":"{\\"channel\\":\\"ChatChannel\\",\\"room\\":\\"1\\"}"}',
    );
    const text = encodeCommand({ command: "message", identifier, data: '{"action":"speak"}' });
    const back = parseCommand(text);
    assert.ok(!(back instanceof CableError));
    assert.deepEqual(back, { command: "message", identifier, data: { action: "speak" } });
  });
  it("parses what the server encodes", () => {
    assert.deepEqual(parseServerMessage(WELCOME), { type: "welcome" });
    assert.deepEqual(parseServerMessage(encodePing(7)), { type: "ping", message: 7 });
    assert.deepEqual(parseServerMessage(encodeDisconnect("unauthorized", false)), {
      type: "disconnect",
      reason: "unauthorized",
      reconnect: false,
    });
    assert.deepEqual(parseServerMessage(encodeMessage("id", '{"a":1}')), { identifier: "id", message: { a: 1 } });
  });
  it("returns null for anything that is not a JSON object", () => {
    for (const data of ["", "nope", "[1]", "null", "3", new Uint8Array(2), undefined]) {
      assert.equal(parseServerMessage(data), null);
    }
  });
});
