// Property: whatever the interleaving of sends, opens, drops and time, every message the
// client accepted ("sent" or "queued", minus those evicted by drop-oldest) reaches a socket
// exactly once, in send order, and nothing else does.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { ReconnectingWebSocket, type Sendable } from "../../src/client/index.js";
import { FakeClock } from "./helpers/fake-clock.js";
import { FakeWebSocket } from "./helpers/fake-websocket.js";

type Op = { kind: "send" } | { kind: "open" } | { kind: "drop" } | { kind: "tick"; ms: number } | { kind: "closing" };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.constant<Op>({ kind: "send" }) },
  { weight: 2, arbitrary: fc.constant<Op>({ kind: "open" }) },
  { weight: 2, arbitrary: fc.constant<Op>({ kind: "drop" }) },
  { weight: 1, arbitrary: fc.constant<Op>({ kind: "closing" }) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 40_000 }).map((ms): Op => ({ kind: "tick", ms })) },
);

describe("send queue property", () => {
  for (const policy of ["drop-oldest", "reject"] as const) {
    it(`exactly once, in order (policy ${policy})`, () => {
      fc.assert(
        fc.property(fc.array(op, { maxLength: 80 }), fc.integer({ min: 0, max: 6 }), (ops, size) => {
          FakeWebSocket.reset();
          const clock = new FakeClock();
          const client = new ReconnectingWebSocket("ws://example.test/", {
            WebSocket: FakeWebSocket,
            transports: ["websocket"],
            clock,
            environment: null,
            queue: { size, policy },
          });
          const accepted: number[] = [];
          const evicted = new Set<Sendable>();
          client.on("dropped", (e) => {
            for (const m of e.messages) evicted.add(m);
          });
          let next = 0;
          for (const o of ops) {
            const ws = FakeWebSocket.last;
            if (o.kind === "send") {
              const id = next++;
              const result = client.send(String(id));
              if (result === "sent" || result === "queued") accepted.push(id);
              else assert.equal(result, "dropped");
            } else if (o.kind === "open") {
              if (ws.readyState === 0 && client.state === "connecting") ws.serverOpen();
            } else if (o.kind === "drop") {
              if (ws.readyState < 3) ws.serverClose(1006);
            } else if (o.kind === "closing") {
              if (ws.readyState === 1) ws.readyState = 2; // closing handshake under way
            } else clock.advance(o.ms);
          }
          // Finally let it connect once more so that the queue flushes.
          if (client.state === "open" && FakeWebSocket.last.readyState >= 2) FakeWebSocket.last.serverClose(1006);
          for (let i = 0; i < 10 && client.state !== "open"; i++) {
            if (client.state === "connecting" && FakeWebSocket.last.readyState === 0) FakeWebSocket.last.serverOpen();
            else clock.advance(30_000);
          }
          assert.equal(client.state, "open");
          assert.equal(client.queued, 0);
          const delivered = FakeWebSocket.instances.flatMap((w) => w.sent.map(Number));
          const expected = accepted.filter((id) => !evicted.has(String(id)));
          assert.deepEqual(delivered, expected);
          client.close();
        }),
        { numRuns: 300 },
      );
    });
  }
});
