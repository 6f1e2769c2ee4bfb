/**
 * ws's test/event-target.test.js, ported to TypeScript and node:test and run against the event
 * classes `wirecable/ws` exports (ws keeps them in lib/event-target.js). Scenarios and
 * assertions follow ws's suite (MIT License, Copyright (c) 2011 Einar Otto Stangvik, 2013 Arnout
 * Kazemier and contributors, 2016 Luigi Pinca and contributors).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CloseEvent, ErrorEvent, Event, MessageEvent } from "../../src/ws/index.js";

function isAccessor(proto: object, name: string): void {
  const descriptor = Object.getOwnPropertyDescriptor(proto, name)!;
  assert.equal(descriptor.configurable, true);
  assert.equal(descriptor.enumerable, true);
  assert.ok(descriptor.get !== undefined);
  assert.ok(descriptor.set === undefined);
}

describe("Event (ws's suite)", () => {
  it("takes a `type` argument", () => {
    assert.equal(new Event("foo").type, "foo");
  });
  it("`target` is enumerable and configurable", () => isAccessor(Event.prototype, "target"));
  it("`target` defaults to `null`", () => {
    assert.equal(new Event("foo").target, null);
  });
  it("`type` is enumerable and configurable", () => isAccessor(Event.prototype, "type"));
});

describe("CloseEvent (ws's suite)", () => {
  it("inherits from `Event`", () => {
    assert.ok(CloseEvent.prototype instanceof Event);
  });
  it("takes a `type` argument", () => {
    assert.equal(new CloseEvent("foo").type, "foo");
  });
  it("takes an optional `options` argument", () => {
    const event = new CloseEvent("close", { code: 1000, reason: "foo", wasClean: true });
    assert.equal(event.type, "close");
    assert.equal(event.code, 1000);
    assert.equal(event.reason, "foo");
    assert.equal(event.wasClean, true);
  });
  it("`code` is enumerable and configurable", () => isAccessor(CloseEvent.prototype, "code"));
  it("`code` defaults to 0", () => {
    assert.equal(new CloseEvent("close").code, 0);
  });
  it("`reason` is enumerable and configurable", () => isAccessor(CloseEvent.prototype, "reason"));
  it("`reason` defaults to an empty string", () => {
    assert.equal(new CloseEvent("close").reason, "");
  });
  it("`wasClean` is enumerable and configurable", () => isAccessor(CloseEvent.prototype, "wasClean"));
  it("`wasClean` defaults to false", () => {
    assert.equal(new CloseEvent("close").wasClean, false);
  });
});

describe("ErrorEvent (ws's suite)", () => {
  it("inherits from `Event`", () => {
    assert.ok(ErrorEvent.prototype instanceof Event);
  });
  it("takes a `type` argument", () => {
    assert.equal(new ErrorEvent("foo").type, "foo");
  });
  it("takes an optional `options` argument", () => {
    const error = new Error("Oops");
    const event = new ErrorEvent("error", { error, message: error.message });
    assert.equal(event.type, "error");
    assert.equal(event.error, error);
    assert.equal(event.message, error.message);
  });
  it("`error` is enumerable and configurable", () => isAccessor(ErrorEvent.prototype, "error"));
  it("`error` defaults to `null`", () => {
    assert.equal(new ErrorEvent("error").error, null);
  });
  it("`message` is enumerable and configurable", () => isAccessor(ErrorEvent.prototype, "message"));
  it("`message` defaults to an empty string", () => {
    assert.equal(new ErrorEvent("error").message, "");
  });
});

describe("MessageEvent (ws's suite)", () => {
  it("inherits from `Event`", () => {
    assert.ok(MessageEvent.prototype instanceof Event);
  });
  it("takes a `type` argument", () => {
    assert.equal(new MessageEvent("foo").type, "foo");
  });
  it("takes an optional `options` argument", () => {
    const event = new MessageEvent("message", { data: "bar" });
    assert.equal(event.type, "message");
    assert.equal(event.data, "bar");
  });
  it("`data` is enumerable and configurable", () => isAccessor(MessageEvent.prototype, "data"));
  it("`data` defaults to `null`", () => {
    assert.equal(new MessageEvent("message").data, null);
  });
});
