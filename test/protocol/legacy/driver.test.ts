import assert from "node:assert/strict";
import { test } from "node:test";
import { InvalidStateError, ProtocolError } from "../../../src/protocol/errors.js";
import type { EngineEvent } from "../../../src/protocol/types.js";
import { ReadyState } from "../../../src/protocol/types.js";
import { concat } from "../../helpers/bytes.js";
import {
  DRAFT75_REQUEST,
  DRAFT76_REQUEST,
  driver75,
  driver76,
  latin1,
  parseRequest,
  summary,
  type TestDriver,
  text,
} from "./helpers.js";

function open(draft: "hixie-75" | "hixie-76"): TestDriver {
  const { request, head } = parseRequest(latin1(draft === "hixie-76" ? DRAFT76_REQUEST : DRAFT75_REQUEST));
  const driver = draft === "hixie-76" ? driver76(request, { head }) : driver75(request, { head });
  driver.takeOutput();
  driver.takeEvents();
  return driver;
}
const out = (driver: TestDriver) => text(concat(driver.takeOutput()));

test("sendText writes 0x00 <utf8> 0xFF", () => {
  const driver = open("hixie-76");
  assert.equal(driver.sendText("hé"), true);
  assert.deepEqual([...concat(driver.takeOutput())], [0x00, 0x68, 0xc3, 0xa9, 0xff]);
  assert.equal(driver.send("x"), true);
  assert.equal(out(driver), "\x00x\xff");
  // Bytes explicitly sent as text are validated, then framed.
  assert.equal(driver.send(Uint8Array.of(0x61), { binary: false }), true);
  assert.equal(out(driver), "\x00a\xff");
  assert.throws(() => driver.send(Uint8Array.of(0xff), { binary: false }), TypeError);
});

test("binary sends are refused with a TypeError naming the draft; supportsBinary is false", () => {
  for (const draft of ["hixie-75", "hixie-76"] as const) {
    const driver = open(draft);
    assert.equal(driver.supportsBinary, false);
    assert.throws(() => driver.sendBinary(Uint8Array.of(1)), {
      name: "TypeError",
      message: new RegExp(`${draft}.*binary`),
    });
    assert.throws(() => driver.send(Uint8Array.of(1)), TypeError);
    assert.throws(() => driver.send("s", { binary: true }), TypeError);
    assert.throws(() => driver.startMessage("binary"), TypeError);
    assert.deepEqual(driver.takeOutput(), []);
    assert.equal(driver.readyState, ReadyState.OPEN);
  }
});

test("ping and pong are unsupported: they return false and send nothing", () => {
  const driver = open("hixie-76");
  assert.equal(driver.supportsPing, false);
  assert.equal(
    driver.ping("x", () => assert.fail("no pong can come")),
    false,
  );
  assert.equal(driver.pong(), false);
  assert.deepEqual(driver.takeOutput(), []);
});

test("draft-76 closing handshake, server first: 0xFF 0x00, awaitClose, then the client's 0xFF 0x00", () => {
  const driver = open("hixie-76");
  assert.equal(driver.close(), true);
  assert.equal(out(driver), "\xff\x00");
  assert.equal(driver.readyState, ReadyState.CLOSING);
  assert.equal(driver.host.awaitCloseCalls, 1);
  assert.equal(driver.host.closeTransportCalls, 0);
  assert.equal(driver.sendText("late"), false);
  assert.equal(driver.close(), false);
  // Text still in flight from the client is delivered, then its closing frame completes the handshake.
  driver.receiveData(latin1("\x00bye\xff\xff\x00"));
  assert.deepEqual(summary(driver.takeEvents()), [
    { type: "closing", code: 1000, reason: "", initiator: "local" },
    { type: "text", data: "bye" },
    { type: "close", code: 1005, wasClean: true, error: undefined },
  ]);
  assert.deepEqual(driver.takeOutput(), []); // nothing more written
  assert.equal(driver.readyState, ReadyState.CLOSED);
  assert.equal(driver.host.closeTransportCalls, 1);
  assert.equal(driver.host.awaitCloseCalls, 1, "asked once");
});

test("draft-76 closing handshake, client first: answered with 0xFF 0x00 and closed at once", () => {
  const driver = open("hixie-76");
  driver.receiveData(Uint8Array.of(0xff));
  assert.deepEqual(driver.takeEvents(), []);
  driver.receiveData(Uint8Array.of(0x00));
  assert.equal(out(driver), "\xff\x00");
  assert.deepEqual(summary(driver.takeEvents()), [
    { type: "closing", code: 1005, reason: "", initiator: "remote" },
    { type: "close", code: 1005, wasClean: true, error: undefined },
  ]);
  assert.equal(driver.host.closeTransportCalls, 1);
});

test("draft-76: close timer expiry (EOF while waiting for the client's 0xFF 0x00) is abnormal", () => {
  const driver = open("hixie-76");
  driver.close();
  driver.takeEvents();
  driver.receiveEof();
  assert.deepEqual(summary(driver.takeEvents()), [{ type: "close", code: 1006, wasClean: false, error: undefined }]);
});

test("draft-75 has no closing handshake: close() ends at once, 0xFF 0x00 is an ignored empty frame", () => {
  const driver = open("hixie-75");
  driver.receiveData(Uint8Array.of(0xff, 0x00, 0x00, 0x61, 0xff));
  assert.deepEqual(summary(driver.takeEvents()), [{ type: "text", data: "a" }]);
  assert.equal(driver.close(), true);
  assert.deepEqual(driver.takeOutput(), []);
  assert.deepEqual(summary(driver.takeEvents()), [{ type: "close", code: 1005, wasClean: true, error: undefined }]);
  assert.equal(driver.host.closeTransportCalls, 1);
  assert.equal(driver.readyState, ReadyState.CLOSED);
});

test("receiveEof gives a close event: clean between draft-75 frames, abnormal mid-frame or in draft-76", () => {
  const clean75 = open("hixie-75");
  clean75.receiveEof();
  assert.deepEqual(summary(clean75.takeEvents()), [{ type: "close", code: 1005, wasClean: true, error: undefined }]);
  const cut75 = open("hixie-75");
  cut75.receiveData(latin1("\x00par"));
  cut75.receiveEof();
  assert.deepEqual(summary(cut75.takeEvents()), [{ type: "close", code: 1006, wasClean: false, error: undefined }]);
  const abrupt76 = open("hixie-76");
  abrupt76.receiveEof();
  abrupt76.receiveEof(); // once only
  assert.deepEqual(summary(abrupt76.takeEvents()), [{ type: "close", code: 1006, wasClean: false, error: undefined }]);
  assert.equal(abrupt76.host.closeTransportCalls, 1);
});

test("close() validates code and reason like RFC 6455 (caller mistakes throw)", () => {
  const driver = open("hixie-76");
  assert.throws(() => driver.close(1005), RangeError);
  assert.throws(() => driver.close(999), RangeError);
  assert.throws(() => driver.close(1000, "x".repeat(124)), RangeError);
  assert.equal(driver.readyState, ReadyState.OPEN);
  assert.equal(driver.close(4000, "bye"), true);
  assert.deepEqual(summary(driver.takeEvents()), [{ type: "closing", code: 4000, reason: "bye", initiator: "local" }]);
});

test("fail(): draft-76 sends 0xFF 0x00; close event carries the table's code and the error", () => {
  const driver = open("hixie-76");
  const cause = new ProtocolError("RATE_LIMITED", "too many");
  driver.fail(cause);
  assert.equal(out(driver), "\xff\x00");
  const events = driver.takeEvents();
  assert.deepEqual(events, [{ type: "close", code: 1008, reason: "", wasClean: false, error: cause }]);
  assert.equal(driver.host.closeTransportCalls, 1);
  driver.fail(new Error("late"));
  assert.deepEqual(driver.takeEvents(), []);
});

test("streamed text message: one frame, sends made meanwhile follow it", () => {
  const driver = open("hixie-76");
  const writer = driver.startMessage("text");
  assert.throws(() => driver.startMessage("text"), InvalidStateError);
  assert.equal(writer.write("ab"), true);
  assert.equal(driver.sendText("other"), true); // held until the stream ends
  assert.equal(writer.write(Uint8Array.of(0xe2, 0x82)), true); // a character split across chunks
  assert.equal(writer.end(Uint8Array.of(0xac)), true);
  assert.equal(out(driver), "\x00ab\xe2\x82\xac\xff\x00other\xff");
  assert.throws(() => writer.write("x"), InvalidStateError);
  const bad = driver.startMessage("text");
  assert.throws(() => bad.end(Uint8Array.of(0xe2)), TypeError); // incomplete UTF-8 at the end
});

test("close() during a streamed message aborts the transport (0xFF would pass the partial text as whole)", () => {
  const driver = open("hixie-76");
  const writer = driver.startMessage("text");
  writer.write("partial");
  driver.takeOutput();
  driver.close();
  assert.deepEqual(driver.takeOutput(), []);
  assert.deepEqual(summary(driver.takeEvents()), [{ type: "close", code: 1006, wasClean: false, error: undefined }]);
  assert.equal(writer.end(), false);
});

test("a throwing event handler fails only this connection (1011), reported as an error event", () => {
  const { request, head } = parseRequest(latin1(DRAFT76_REQUEST));
  const seen: EngineEvent[] = [];
  const written: Uint8Array[] = [];
  const driver = driver76(request, {
    head,
    onOutput: (c) => written.push(c),
    onEvent: (event) => {
      seen.push(event);
      if (event.type === "text") throw new Error("handler bug");
    },
  });
  driver.receiveData(latin1("\x00boom\xff\x00never\xff"));
  assert.deepEqual(
    seen.map((e) => e.type),
    ["open", "text", "error", "close"], // "never" is dropped: the connection failed first
  );
  const close = seen.at(-1)!;
  assert.ok(close.type === "close" && close.code === 1011 && close.error instanceof Error);
  assert.equal(text(written.at(-1)!), "\xff\x00");
  assert.equal(driver.host.closeTransportCalls, 1);
});

test("re-entrant calls from handlers keep event order (sendText and close inside onEvent)", () => {
  const { request, head } = parseRequest(latin1(DRAFT76_REQUEST));
  const types: string[] = [];
  const written: string[] = [];
  const driver: TestDriver = driver76(request, {
    head,
    onOutput: (c) => written.push(text(c)),
    onEvent: (event) => {
      types.push(event.type);
      if (event.type === "text") {
        driver.sendText(`echo:${event.data}`);
        driver.close();
      }
    },
  });
  driver.receiveData(latin1("\x00hi\xff"));
  driver.receiveData(latin1("\xff\x00"));
  assert.deepEqual(types, ["open", "text", "closing", "close"]);
  assert.deepEqual(written.slice(1), ["\x00echo:hi\xff", "\xff\x00"]);
});
