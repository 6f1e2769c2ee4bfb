import assert from "node:assert/strict";
import { test } from "node:test";
import { HandshakeError } from "../../../src/protocol/errors.js";
import { challengeResponse, Draft76Driver, keyPart, validateHixieRequest } from "../../../src/protocol/legacy/index.js";
import { ReadyState } from "../../../src/protocol/types.js";
import { concat } from "../../helpers/bytes.js";
import { recorded } from "../helpers/engine-run.js";
import {
  DRAFT75_REQUEST,
  DRAFT75_RESPONSE,
  DRAFT76_ANSWER,
  DRAFT76_REQUEST,
  DRAFT76_RESPONSE_HEAD,
  driver75,
  driver76,
  hixieDriver,
  latin1,
  parseRequest,
  summary,
  type TestDriver,
  text,
} from "./helpers.js";

test("draft-76: key numbers of the draft's example (4146546015 / 5 and 1299853100 / 5)", () => {
  assert.equal(keyPart("4 @1  46546xW%0l 1 5"), 829309203);
  assert.equal(keyPart("12998 5 Y3 1  .P00"), 259970620);
  assert.equal(text(challengeResponse(829309203, 259970620, latin1("^n:ds[4U"))), DRAFT76_ANSWER);
});

test("draft-76: keys with no spaces, no digits, a non-integral quotient or a number > 2^32-1 are refused", () => {
  assert.equal(keyPart("12345"), null); // no spaces: "a symptom of a cross-protocol attack"
  assert.equal(keyPart("a b"), null); // no digits
  assert.equal(keyPart("1 0 1"), null); // 101 / 2
  assert.equal(keyPart("4294967296 "), null); // 2^32 > 2^32-1
  assert.equal(keyPart("4 294967295"), 4294967295); // 2^32-1 with one space: the largest valid
  assert.equal(keyPart("9".repeat(400) + " "), null); // no precision loss on absurd numbers
  assert.equal(keyPart("0 0"), 0); // number_1 may be 0 in the client's algorithm
});

test("draft-76: the draft's example handshake, byte for byte, in one write", () => {
  const { request, head } = parseRequest(latin1(DRAFT76_REQUEST));
  const driver = driver76(request, { head, protocols: ["sample"] });
  const output = driver.takeOutput();
  assert.equal(output.length, 1);
  assert.equal(text(output[0]), DRAFT76_RESPONSE_HEAD + DRAFT76_ANSWER);
  assert.equal(driver.readyState, ReadyState.OPEN);
  assert.equal(driver.version, "hixie-76");
  assert.equal(driver.protocol, "sample");
  assert.deepEqual(summary(driver.takeEvents()), [{ type: "open", protocol: "sample", extensions: "" }]);
});

test("draft-76: body deferred by a proxy: the head goes first, the answer and open after the 8 bytes", () => {
  const { request } = parseRequest(latin1(DRAFT76_REQUEST));
  const driver = driver76(request, { protocols: ["sample"] });
  assert.equal(text(concat(driver.takeOutput())), DRAFT76_RESPONSE_HEAD);
  assert.equal(driver.readyState, ReadyState.CONNECTING);
  assert.deepEqual(driver.takeEvents(), []);
  assert.equal(driver.sendText("early"), true); // queued until open
  assert.deepEqual(driver.takeOutput(), []);
  driver.receiveData(latin1("^n:ds[4U"));
  assert.equal(text(concat(driver.takeOutput())), DRAFT76_ANSWER + "\x00early\xff");
  assert.deepEqual(summary(driver.takeEvents()), [{ type: "open", protocol: "sample", extensions: "" }]);
});

test("draft-76: the 8 body bytes split at every index (and a frame right after them) give the same result", () => {
  const { request } = parseRequest(latin1(DRAFT76_REQUEST));
  const body = latin1("^n:ds[4U\x00hi\xff");
  for (let inHead = 0; inHead <= body.length; inHead++) {
    for (let split = inHead; split <= body.length; split++) {
      const driver = driver76(request, { head: body.slice(0, inHead), protocols: ["sample"] });
      driver.receiveData(body.slice(inHead, split));
      driver.receiveData(body.slice(split));
      assert.equal(text(concat(driver.takeOutput())), DRAFT76_RESPONSE_HEAD + DRAFT76_ANSWER, `${inHead}/${split}`);
      assert.deepEqual(summary(driver.takeEvents()), [
        { type: "open", protocol: "sample", extensions: "" },
        { type: "text", data: "hi" },
      ]);
    }
  }
  // One byte at a time.
  const driver = driver76(request, { protocols: ["sample"] });
  for (const byte of body) driver.receiveData(Uint8Array.of(byte));
  assert.equal(text(concat(driver.takeOutput())), DRAFT76_RESPONSE_HEAD + DRAFT76_ANSWER);
  assert.equal(summary(driver.takeEvents()).length, 2);
});

test("draft-76: EOF before the 8 bytes is an abnormal close without open", () => {
  const { request } = parseRequest(latin1(DRAFT76_REQUEST));
  const driver = driver76(request, { head: latin1("^n:d") });
  driver.receiveEof();
  assert.deepEqual(summary(driver.takeEvents()), [{ type: "close", code: 1006, wasClean: false, error: undefined }]);
  assert.equal(driver.host.closeTransportCalls, 1);
});

test("draft-75: the draft's example handshake, byte for byte; open at once", () => {
  const { request, head } = parseRequest(latin1(DRAFT75_REQUEST));
  const driver = driver75(request, { head, protocols: ["sample"] });
  assert.equal(text(concat(driver.takeOutput())), DRAFT75_RESPONSE);
  assert.equal(driver.readyState, ReadyState.OPEN);
  assert.equal(driver.version, "hixie-75");
  assert.deepEqual(summary(driver.takeEvents()), [{ type: "open", protocol: "sample", extensions: "" }]);
});

test("Location uses wss: when secure; no protocol header unless one is chosen; extra headers appended", () => {
  const { request } = parseRequest(latin1(DRAFT75_REQUEST));
  const driver = driver75(request, { secure: true, headers: { "X-Server": "wirecable" } });
  assert.equal(
    text(concat(driver.takeOutput())),
    "HTTP/1.1 101 Web Socket Protocol Handshake\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\n" +
      "WebSocket-Origin: http://example.com\r\nWebSocket-Location: wss://example.com/demo\r\nX-Server: wirecable\r\n\r\n",
  );
  assert.equal(driver.protocol, "");
});

test("protocols as a function choose among the offers; a value not offered is not echoed", () => {
  const { request, head } = parseRequest(latin1(DRAFT76_REQUEST));
  const chosen = driver76(request, { head, protocols: (offered) => offered[0] });
  assert.equal(chosen.protocol, "sample");
  const bogus = driver76(request, { head, protocols: () => "other" });
  assert.equal(bogus.protocol, "");
  assert.ok(!text(concat(bogus.takeOutput())).includes("Sec-WebSocket-Protocol:"));
});

test("bad handshakes: 400 response, closeTransport, error and close events", () => {
  const bad = [
    DRAFT76_REQUEST.replace("Sec-WebSocket-Key1: 4 @1  46546xW%0l 1 5", "Sec-WebSocket-Key1: 414654601"), // no spaces
    DRAFT76_REQUEST.replace("Sec-WebSocket-Key2: 12998 5 Y3 1  .P00\r\n", ""), // missing Key2
    DRAFT76_REQUEST.replace("Sec-WebSocket-Key2: 12998 5 Y3 1  .P00", "Sec-WebSocket-Key2: 1 0 1"), // 101 / 2
    DRAFT76_REQUEST.replace("Host: example.com\r\n", ""), // no Host
    DRAFT76_REQUEST.replace("GET", "POST"),
  ];
  for (const raw of bad) {
    const { request, head } = parseRequest(latin1(raw));
    const driver = hixieDriver(request, { head });
    assert.ok(driver, raw);
    assert.match(text(concat(driver.takeOutput())), /^HTTP\/1\.1 400 Bad Request\r\n/);
    const events = driver.takeEvents();
    assert.deepEqual(
      events.map((e) => e.type),
      ["error", "close"],
    );
    assert.ok(
      events[0].type === "error" && events[0].error instanceof HandshakeError && events[0].error.status === 400,
    );
    assert.equal(driver.host.closeTransportCalls, 1);
    assert.equal(driver.readyState, ReadyState.CLOSED);
    assert.equal(driver.sendText("x"), false);
    assert.ok(driver.handshakeError instanceof HandshakeError);
    assert.ok(validateHixieRequest("hixie-76", request) instanceof HandshakeError);
  }
  // rejectResponse: false writes nothing.
  const { request } = parseRequest(latin1(bad[0]));
  const silent = driver76(request, { rejectResponse: false });
  assert.deepEqual(silent.takeOutput(), []);
  assert.equal(silent.host.closeTransportCalls, 1);
});

test("validateHixieRequest accepts the drafts' examples; createHixieDriver returns null for hybi", () => {
  assert.equal(validateHixieRequest("hixie-76", parseRequest(latin1(DRAFT76_REQUEST)).request), null);
  assert.equal(validateHixieRequest("hixie-75", parseRequest(latin1(DRAFT75_REQUEST)).request), null);
  const hybi = parseRequest(latin1(DRAFT75_REQUEST.replace("\r\n\r\n", "\r\nSec-WebSocket-Key: x\r\n\r\n")));
  assert.equal(hixieDriver(hybi.request), null);
});

test("output is synchronous, construction events arrive in a microtask (driver already assigned)", async () => {
  const { request, head } = parseRequest(latin1(DRAFT76_REQUEST));
  const written: Uint8Array[] = [];
  const seen: string[] = [];
  const driver: TestDriver = recorded((host) => new Draft76Driver(request, host, { head, protocols: ["sample"] }), {
    onOutput: (chunk) => written.push(chunk),
    onEvent: (event) => {
      seen.push(event.type);
      if (event.type === "open") driver.sendText("welcome");
    },
  });
  assert.equal(text(concat(written)), DRAFT76_RESPONSE_HEAD + DRAFT76_ANSWER);
  assert.deepEqual(seen, []);
  await Promise.resolve();
  assert.deepEqual(seen, ["open"]);
  assert.equal(text(written.at(-1)!), "\x00welcome\xff");
  assert.deepEqual(driver.takeEvents(), []);
});
