/**
 * Engine options that compatibility hosts choose (wirecable/ws, wirecable/driver): lenient
 * masking, no automatic pong, unvalidated text, the close reason sent for a peer's mistake, the
 * echoed close reason, a close frame without a body, and ProtocolError.detail.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ProtocolError } from "../../src/protocol/errors.js";
import type { EngineEvent, EngineOptions } from "../../src/protocol/types.js";
import { hex } from "../helpers/bytes.js";
import { cframe, closeBody } from "../helpers/frames.js";
import { testEngine } from "./helpers/engine-run.js";

function engine(options: Partial<EngineOptions> = {}) {
  const out: string[] = [];
  const events: EngineEvent[] = [];
  const e = testEngine({
    role: "server",
    onOutput: (c) => out.push(hex(c)),
    onEvent: (ev) => events.push(ev),
    ...options,
  });
  return { e, out, events };
}

/** An unmasked frame (what a client must not send). */
function unmasked(opcode: number, payload: number[] | string): Uint8Array {
  const bytes = typeof payload === "string" ? [...Buffer.from(payload)] : payload;
  return new Uint8Array([0x80 | opcode, bytes.length, ...bytes]);
}

describe("engine host options", () => {
  it("requireMasking: false accepts unmasked frames from a client and masked ones from a server", () => {
    const server = engine({ requireMasking: false });
    server.e.receiveData(unmasked(1, "Hi"));
    server.e.receiveData(cframe(1, "Ho"));
    assert.deepEqual(
      server.events.filter((ev) => ev.type === "text").map((ev) => (ev as { data: string }).data),
      ["Hi", "Ho"],
    );
    const client = engine({ role: "client", requireMasking: false });
    client.e.receiveData(cframe(2, "x"));
    assert.equal(client.events[0]?.type, "binary");
    const strict = engine();
    strict.e.receiveData(unmasked(1, "Hi"));
    assert.equal(strict.events[0]?.type, "error");
  });

  it("autoPong: false leaves pings unanswered but still reports them", () => {
    const { e, out, events } = engine({ autoPong: false });
    e.receiveData(cframe(9, "p"));
    assert.deepEqual(out, []);
    assert.equal(events[0]?.type, "ping");
  });

  it("validateUtf8: false delivers invalid text bytes, whole and fragmented", () => {
    const { e, events } = engine({ validateUtf8: false });
    e.receiveData(cframe(1, new Uint8Array([0xff, 0xfe])));
    e.receiveData(cframe(1, new Uint8Array([0xc3]), { fin: false }));
    e.receiveData(cframe(0, new Uint8Array([0x28])));
    const texts = events.filter((ev) => ev.type === "text") as Array<{ bytes: Uint8Array }>;
    assert.deepEqual(
      texts.map((t) => hex(t.bytes)),
      ["fffe", "c328"],
    );
    const strict = engine();
    strict.e.receiveData(cframe(1, new Uint8Array([0xff])));
    assert.equal(strict.events[0]?.type, "error");
  });

  it("closeReason chooses the reason sent for a peer's mistake", () => {
    const { e, out, events } = engine({ closeReason: (err) => `x${err.detail}` });
    e.receiveData(new Uint8Array([0x83, 0x80, 0, 0, 0, 0]));
    assert.equal(out.at(-1), `880403ea${Buffer.from("x3").toString("hex")}`);
    const error = (events.find((ev) => ev.type === "error") as { error: ProtocolError }).error;
    assert.equal(error.code, "BAD_OPCODE");
    assert.equal(error.detail, 3);
  });

  it("echoCloseReason echoes the peer's code and reason", () => {
    const echo = engine({ echoCloseReason: true });
    echo.e.receiveData(cframe(8, closeBody(1001, "bye")));
    assert.equal(echo.out[0], `880503e9${Buffer.from("bye").toString("hex")}`);
    const plain = engine();
    plain.e.receiveData(cframe(8, closeBody(1001, "bye")));
    assert.equal(plain.out[0], "880203e9");
  });

  it("close(1005) sends a close frame without a body; a reason with it is refused", () => {
    const { e, out, events } = engine();
    assert.throws(() => e.close(1005, "no"), RangeError);
    e.close(1005);
    assert.deepEqual(out, ["8800"]);
    assert.equal(events[0]?.type, "closing");
  });

  it("ProtocolError.detail names the RSV bits, the close code, the control frame length", () => {
    const rsv = engine();
    rsv.e.receiveData(new Uint8Array([0xc1, 0x80, 0, 0, 0, 0]));
    assert.equal((rsv.events[0] as { error: ProtocolError }).error.detail, 0x40);
    const code = engine();
    code.e.receiveData(cframe(8, closeBody(999)));
    assert.equal((code.events[0] as { error: ProtocolError }).error.detail, 999);
    const long = engine();
    long.e.receiveData(new Uint8Array([0x89, 0xfe, 0, 126]));
    assert.equal((long.events[0] as { error: ProtocolError }).error.detail, 126);
  });
});
