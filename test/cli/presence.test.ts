// Presence across "processes": several Presence tables with their own process ids sharing one
// broker, as servers sharing Redis do. Joins and leaves are seen everywhere, a process that
// arrives late learns the members already there (sync), and a process that stops announcing
// (crashed) has its members expire.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MemoryBroker } from "../../src/channels/index.js";
import { Presence, type PresenceChange } from "../../src/cli/demo/presence.js";
import { sleep } from "../helpers/time.js";

const tick = () => sleep(0);

function names(p: Presence, room: string): string[] {
  return p.members(room).map((m) => m.name);
}

describe("presence", () => {
  it("shares joins, leaves and existing members between processes", async () => {
    const broker = new MemoryBroker();
    const a = new Presence({ broker, processId: "A", announceInterval: 0 });
    const b = new Presence({ broker, processId: "B", announceInterval: 0 });
    const seenByA: PresenceChange[] = [];
    const alice = { id: "1", name: "alice" };
    const bob = { id: "2", name: "bob" };
    const la = (c: PresenceChange) => seenByA.push(c);
    const lb = () => {};
    await a.join("r", alice, la);
    assert.deepEqual(names(a, "r"), ["alice"]);
    await b.join("r", bob, lb); // B is new in the room: it asks, A answers with alice
    await tick();
    assert.deepEqual(names(b, "r"), ["alice", "bob"]);
    assert.deepEqual(names(a, "r"), ["alice", "bob"]);
    assert.ok(seenByA.some((c) => c.event === "join" && c.member?.name === "bob" && c.members.length === 2));
    b.leave("r", bob, lb);
    await tick();
    assert.deepEqual(names(a, "r"), ["alice"]);
    assert.equal(seenByA.at(-1)?.event, "leave");
    a.close();
    b.close();
  });

  it("drops the members of a process that stopped announcing", async () => {
    const broker = new MemoryBroker();
    const a = new Presence({ broker, processId: "A", announceInterval: 30 });
    const b = new Presence({ broker, processId: "B", announceInterval: 30 });
    const changes: PresenceChange[] = [];
    await a.join("r", { id: "1", name: "alice" }, (c) => changes.push(c));
    await b.join("r", { id: "2", name: "bob" }, () => {});
    await tick();
    assert.deepEqual(names(a, "r"), ["alice", "bob"]);
    b.close(); // B "crashes": it stops announcing without leaving
    await sleep(200);
    assert.deepEqual(names(a, "r"), ["alice"]);
    assert.equal(changes.at(-1)?.event, "sync");
    a.close();
  });

  it("ignores malformed presence messages", async () => {
    const broker = new MemoryBroker();
    const a = new Presence({ broker, processId: "A", announceInterval: 0 });
    await a.join("r", { id: "1", name: "alice" }, () => {});
    for (const junk of ["nope", "null", "{}", '{"pid":"X","op":"join"}', '{"pid":"X","op":"state","members":5}']) {
      await broker.publish("presence:r", junk);
    }
    assert.deepEqual(names(a, "r"), ["alice"]);
    a.close();
  });
});
