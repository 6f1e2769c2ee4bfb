// The demo chat's fan-out bounds (issue 25, finding 3): typing broadcasts coalesced per member,
// a per-room delivery budget per process (typing over it dropped, messages refused to their
// sender with "room busy"), and every command not broadcast counted in /metrics. The storm
// itself (300 x 55 typing commands to a room of 300) is test/attack/storms.test.ts.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type DemoServer, startDemoServer } from "../../src/cli/demo/server.js";
import { sleep, UNIT } from "../helpers/time.js";
import { type ChatClient, joinChat } from "./chat-client.js";

let server: DemoServer;
const clients: ChatClient[] = [];

function join(room: string, name: string): ChatClient {
  const c = joinChat(server.url, room, name);
  clients.push(c);
  return c;
}

/** wirecable_messages_dropped_total for `reason`. */
async function dropped(reason: string): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`wirecable_messages_dropped_total{reason="${reason}"`));
  return line === undefined ? 0 : Number(line.split(" ").at(-1));
}

/** Poll `check` (it reads /metrics) until it holds, at most 50 units. */
async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  const end = Date.now() + 50 * UNIT;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`${what} not reached within ${50 * UNIT} ms`);
    await sleep(UNIT / 2);
  }
}

before(async () => {
  server = await startDemoServer({
    port: 0,
    processMetrics: false,
    // Two members cost 2 deliveries per broadcast: a budget of 3 allows one broadcast per 2/3 s.
    chat: { burst: 20, perSecond: 20, typingInterval: 1000, roomDeliveries: 3 },
    rateLimit: { messages: 100, interval: 1000 },
  });
});

after(async () => {
  for (const c of clients) c.close();
  await server.close();
});

describe("demo server: fan-out bounds", () => {
  it("typing: at most one broadcast per interval per member, the latest state trailing, the rest counted", async () => {
    const alice = join("typing", "alice");
    const bob = join("typing", "bob");
    await Promise.all([alice.connected, bob.connected]);
    const before = await dropped("typing coalesced");
    const busyBefore = await dropped("room busy");
    // Seven changes at once: the first goes out, the rest fold into one trailing broadcast of
    // the latest state (true, already shown: nothing more to send).
    for (const on of [true, false, true, false, true, false, true]) bob.typing(on);
    await alice.waitFor((e) => e.type === "typing" && e.name === "bob" && e.typing === true);
    // Then a stop: sent when the interval allows, however soon it is asked for.
    bob.typing(false);
    await alice.waitFor((e) => e.type === "typing" && e.name === "bob" && e.typing === false);
    const seen = alice.events.filter((e) => e.type === "typing" && e.name === "bob");
    // Every command is a broadcast or counted (typing coalesced, or room busy under the budget).
    const counted = async () =>
      (await dropped("typing coalesced")) - before + (await dropped("room busy")) - busyBefore;
    await eventually(async () => seen.length + (await counted()) === 8, "8 typing commands accounted for");
    assert.ok(seen.length <= 3, `${seen.length} typing broadcasts for 8 commands within about a second`);
    assert.equal(seen.at(-1)?.typing, false);
  });

  it("a room over its delivery budget: a message is refused to its sender ('room busy'), counted, and accepted again later", async () => {
    const alice = join("busy", "alice");
    const bob = join("busy", "bob");
    await Promise.all([alice.connected, bob.connected]);
    const before = await dropped("room busy");
    const first = alice.speak("one");
    const second = alice.speak("two");
    assert.deepEqual(Object.keys((await alice.replies.get(first)) as object), ["id", "at"]);
    assert.deepEqual(await alice.replies.get(second), { id: second, refused: "room busy: try again in a moment" });
    await alice.waitFor((e) => e.type === "refused" && e.id === second);
    assert.equal((await dropped("room busy")) - before, 1);
    // The budget refills (3 deliveries per second): the room accepts messages again.
    let accepted = false;
    for (let attempt = 0; attempt < 50 && !accepted; attempt++) {
      const id = alice.speak(`again ${attempt}`);
      const reply = (await alice.replies.get(id)) as { refused?: string };
      accepted = reply.refused === undefined;
      if (!accepted) await sleep(UNIT); // polling the refill
    }
    assert.ok(accepted, "the room stayed busy");
    await bob.waitFor((e) => e.type === "message" && String(e.text).startsWith("again"));
    assert.ok(!bob.messages().includes("two"));
  });
});
