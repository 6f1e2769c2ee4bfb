/** StreamHub's fan-out: one frame per broadcast and identifier, shared through the stream's frame slots. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MemoryBroker } from "../../src/channels/brokers/memory.js";
import { StreamHub, type StreamListener } from "../../src/channels/stream-hub.js";
import type { CableTransport } from "../../src/channels/transport.js";

/** A listener recording what it is sent; `onSend` runs inside each send. */
function listener(identifier: string, onSend?: (data: unknown) => void): StreamListener & { got: unknown[] } {
  const got: unknown[] = [];
  const transport: CableTransport = {
    protocol: "actioncable-v1-json",
    send(data) {
      got.push(data);
      onSend?.(data);
    },
    close() {},
  };
  return { identifier, transport, got };
}

const message = (frame: unknown) => JSON.parse(frame as string).message;

describe("StreamHub fan-out", () => {
  it("a broadcast started inside another one (from a send) gives every listener the right frames", async () => {
    const broker = new MemoryBroker();
    const hub = new StreamHub(
      broker,
      (text) => text,
      (err) => assert.fail(err),
    );
    let nested = false;
    const first = listener('{"channel":"A"}', () => {
      if (nested) return;
      nested = true;
      void broker.publish("s", JSON.stringify("inner")); // delivered synchronously, inside the outer fan-out
    });
    const second = listener('{"channel":"A"}');
    const other = listener('{"channel":"B"}');
    for (const l of [first, second, other]) await hub.add("s", l);
    await broker.publish("s", JSON.stringify("outer"));
    assert.deepEqual(first.got.map(message), ["outer", "inner"]);
    assert.deepEqual(second.got.map(message), ["inner", "outer"], "not the inner frame twice");
    assert.deepEqual(other.got.map(message), ["inner", "outer"]);
    // outer A, inner A, inner B, outer A again (the inner broadcast took the slot over), outer B
    assert.equal(hub.framesPrepared, 5);
  });

  it("an identifier's last listener leaving frees its slot; a later one gets fresh frames", async () => {
    const broker = new MemoryBroker();
    const hub = new StreamHub(
      broker,
      (text) => text,
      (err) => assert.fail(err),
    );
    const stays = listener('{"channel":"A"}');
    const leaves = listener('{"channel":"B"}');
    await hub.add("s", stays);
    await hub.add("s", leaves);
    await hub.add("s", leaves); // added twice: still one listener
    await broker.publish("s", JSON.stringify(1));
    hub.remove("s", leaves);
    const comes = listener('{"channel":"B"}');
    await hub.add("s", comes);
    await broker.publish("s", JSON.stringify(2));
    assert.deepEqual(leaves.got.map(message), [1]);
    assert.deepEqual(comes.got.map(message), [2]);
    assert.deepEqual(stays.got.map(message), [1, 2]);
    assert.equal(JSON.parse(comes.got[0] as string).identifier, '{"channel":"B"}');
    assert.equal(hub.deliveries, 4);
  });
});
