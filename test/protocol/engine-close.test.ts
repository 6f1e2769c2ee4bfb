/** The closing handshake (RFC 6455 5.5.1, 7.1): states, who closed first, signals, EOF. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ProtocolError } from "../../src/protocol/errors.js";
import { ReadyState } from "../../src/protocol/types.js";
import { concat, hex } from "../helpers/bytes.js";
import { cframe, closeBody, frame } from "../helpers/frames.js";
import { fixedKeyFill, plain, type TestEngine, testEngine } from "./helpers/engine-run.js";

const server = () => testEngine({ role: "server" });
const out = (e: TestEngine) => hex(concat(e.takeOutput()));
const events = (e: TestEngine) => e.takeEvents().map(plain);

describe("closing handshake", () => {
  it("remote close: echoes the code, emits closing (remote) then close, then CLOSED", () => {
    const e = server();
    e.receiveData(cframe(8, closeBody(4001, "bye")));
    assert.equal(out(e), "8802" + "0fa1"); // echo: code only
    assert.deepEqual(events(e), [
      { type: "closing", code: 4001, reason: "bye", initiator: "remote" },
      { type: "close", code: 4001, reason: "bye", wasClean: true },
    ]);
    assert.equal(e.readyState, ReadyState.CLOSED);
    assert.equal(e.host.closeTransportCalls, 1);
    assert.equal(e.host.awaitCloseCalls, 0);
  });

  it("remote close without a code: replies with an empty close, reports 1005", () => {
    const e = server();
    e.receiveData(cframe(8));
    assert.equal(out(e), "8800");
    assert.deepEqual(events(e).at(-1), { type: "close", code: 1005, reason: "", wasClean: true });
  });

  it("local close: CLOSING, awaitClose, then the peer's reply completes it", () => {
    const e = server();
    assert.equal(e.close(1000, "done"), true);
    assert.equal(out(e), "8806" + "03e8" + hex(new TextEncoder().encode("done")));
    assert.equal(e.readyState, ReadyState.CLOSING);
    assert.equal(e.host.awaitCloseCalls, 1, "a close timeout is asked for");
    assert.equal(e.host.closeTransportCalls, 0);
    assert.deepEqual(events(e), [{ type: "closing", code: 1000, reason: "done", initiator: "local" }]);
    // Data still arriving before the peer's close is delivered.
    e.receiveData(concat([cframe(1, "late"), cframe(8, closeBody(1000))]));
    assert.equal(out(e), "", "no second close frame");
    assert.deepEqual(events(e), [
      { type: "text", data: "late" },
      { type: "close", code: 1000, reason: "", wasClean: true },
    ]);
    assert.equal(e.readyState, ReadyState.CLOSED);
    assert.equal(e.host.awaitCloseCalls, 1, "asked once");
    assert.equal(e.host.closeTransportCalls, 1);
  });

  it("sends nothing after its close frame: sends return false, pings are not answered", () => {
    const e = server();
    e.close();
    e.takeOutput();
    assert.equal(e.send("x"), false);
    assert.equal(e.sendBinary(new Uint8Array(1)), false);
    assert.equal(e.ping(), false);
    assert.equal(e.pong(), false);
    assert.equal(e.close(), false);
    e.receiveData(cframe(9, "p"));
    assert.equal(out(e), "");
    assert.deepEqual(
      events(e).map((x) => x.type),
      ["closing", "ping"],
    );
  });

  it("ignores anything after the peer's close frame", () => {
    const e = server();
    e.receiveData(concat([cframe(8, closeBody(1000)), cframe(1, "ignored"), cframe(3)]));
    assert.deepEqual(
      events(e).map((x) => x.type),
      ["closing", "close"],
    );
  });

  it("receiveEof while open gives 1006, not clean, exactly once", () => {
    const e = server();
    e.receiveEof();
    e.receiveEof();
    assert.deepEqual(events(e), [{ type: "close", code: 1006, reason: "", wasClean: false }]);
    assert.equal(e.readyState, ReadyState.CLOSED);
    assert.equal(e.host.closeTransportCalls, 1);
  });

  it("receiveEof after our close but before the reply gives 1006; after a clean close nothing", () => {
    const a = server();
    a.close(1001);
    a.receiveEof();
    assert.deepEqual(events(a).at(-1), { type: "close", code: 1006, reason: "", wasClean: false });
    const b = server();
    b.receiveData(cframe(8, closeBody(1000)));
    b.takeEvents();
    b.receiveEof();
    assert.deepEqual(events(b), []);
  });

  it("close() validates its arguments (throws)", () => {
    const e = server();
    // 1005 means "no status code": allowed only without a reason (a close frame with no body).
    assert.throws(() => e.close(1005, "why"), RangeError);
    assert.throws(() => e.close(1006), RangeError);
    assert.throws(() => e.close(999), RangeError);
    assert.throws(() => e.close(5000), RangeError);
    assert.throws(() => e.close(1000, "x".repeat(124)), RangeError);
    assert.equal(e.close(4999, "x".repeat(123)), true);
  });

  it("fail(ProtocolError): the table's close code and the message as reason; close is last and once", () => {
    const e = server();
    e.fail(new ProtocolError("RATE_LIMITED", "policy"));
    assert.equal(out(e), "8808" + "03f0" + hex(new TextEncoder().encode("policy")));
    // The caller knows the error: no `error` event (the close event carries it).
    assert.deepEqual(events(e), [
      { type: "closing", code: 1008, reason: "policy", initiator: "local" },
      { type: "close", code: 1008, reason: "policy", wasClean: false },
    ]);
    e.fail(new Error("late"));
    e.receiveEof();
    assert.deepEqual(events(e), []);
  });

  it("fail(any other error): 1011 with an empty reason on the wire, the error kept", () => {
    const e = server();
    const internal = new Error("secret detail");
    e.fail(internal);
    assert.equal(out(e), "880203f3");
    const close = e.host.takeEvents().at(-1);
    assert.ok(close?.type === "close" && close.code === 1011 && close.reason === "" && close.error === internal);
  });

  it("a client echoes close masked and also flags the transport", () => {
    const c = testEngine({ role: "client", randomFill: fixedKeyFill() });
    c.receiveData(frame(8, closeBody(1000)));
    assert.equal(out(c), "8882" + "37fa213d" + "3412");
    assert.equal(c.host.closeTransportCalls, 1);
  });
});
