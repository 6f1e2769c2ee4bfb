/** holdPongs: flow control of the automatic pongs (RFC 6455 5.5.3: only the most recent ping is owed a pong). */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { concat, hex } from "../helpers/bytes.js";
import { cframe, closeBody } from "../helpers/frames.js";
import { testEngine } from "./helpers/engine-run.js";

describe("holdPongs", () => {
  it("while held, pings get no pong; on release, one pong answers the most recent ping", () => {
    const e = testEngine({ role: "server" });
    e.holdPongs(true);
    const input = concat(Array.from({ length: 1000 }, (_, i) => cframe(9, `p${i}`)));
    e.receiveData(input);
    assert.deepEqual(e.takeOutput(), []);
    assert.equal(e.takeEvents().filter((ev) => ev.type === "ping").length, 1000);
    e.holdPongs(false);
    assert.deepEqual(e.takeOutput().map(hex), [hex(new Uint8Array([0x8a, 4, ...Buffer.from("p999")]))]);
    // Released: pings are answered at once again, each one.
    e.receiveData(concat([cframe(9, "a"), cframe(9, "b")]));
    assert.deepEqual(e.takeOutput().map(hex), ["8a0161", "8a0162"]);
  });

  it("keeps a copy of the payload, not a view of the input (which the host may reuse or keep alive)", () => {
    const e = testEngine({ role: "server" });
    e.holdPongs(true);
    const input = cframe(9, "abc");
    e.receiveData(input);
    input.fill(0);
    e.holdPongs(false);
    assert.deepEqual(e.takeOutput().map(hex), ["8a03616263"]);
  });

  it("owes nothing once its close frame is sent, and releasing with nothing pending writes nothing", () => {
    const e = testEngine({ role: "server" });
    e.holdPongs(true);
    e.receiveData(cframe(9, "late"));
    e.close(1000);
    e.takeOutput();
    e.holdPongs(false);
    assert.deepEqual(e.takeOutput(), []);
    const idle = testEngine({ role: "client" });
    idle.holdPongs(true);
    idle.holdPongs(false);
    assert.deepEqual(idle.takeOutput(), []);
  });

  it("a held pong does not overtake a close the peer sent after its ping", () => {
    const e = testEngine({ role: "server" });
    e.holdPongs(true);
    e.receiveData(concat([cframe(9, "p"), cframe(8, closeBody(1000))]));
    assert.deepEqual(e.takeOutput().map(hex), ["880203e8"]);
    e.holdPongs(false);
    assert.deepEqual(e.takeOutput(), []);
  });
});
