/**
 * Storms against the demo chat (`wirecable serve`): many clients in one room, each command of
 * one multiplied by the room's size (issue 25, finding 3; the presence storm of finding 2 is
 * presence-storm.test.ts). Before the demo bounded its fan-out (typing coalesced per member, a
 * delivery budget per room), this storm cost 850,732 deliveries, RSS +383 MB and a healthy
 * client's round trip in another room went unanswered for 10 s; after: ~80,000 deliveries,
 * the rest counted as dropped, under 1 s of server CPU, RSS +53-66 MB. Asserted: memory per delivery bounded while it lasts and
 * back near the baseline after (the JS heap after a forced GC), a healthy client in another room
 * keeps its round trips fast meanwhile, and every message the server drops is reported to its
 * sender or counted in /metrics (`wirecable_messages_dropped_total`). Server CPU per delivery is
 * reported in the test's diagnostics.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { cframe, HostilePeer, MiB, many, sleep, startTarget, stopTargets, type Target, UNIT } from "./harness.js";

let target: Target;

before(async () => {
  target = await startTarget("serve");
});
after(stopTargets);

const identifier = (room: string, name: string) => JSON.stringify({ channel: "ChatChannel", room, name });
const perform = (id: string, data: Record<string, unknown>) =>
  cframe(0x1, JSON.stringify({ command: "message", identifier: id, data: JSON.stringify(data) }));

/** /metrics as name{labels} -> value. */
async function metrics(): Promise<Map<string, number>> {
  const text = await (await fetch(`${target.httpUrl}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^(wirecable_[a-z_]+(?:\{[^}]*\})?) ([\d.e+-]+)$/.exec(line);
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

const sum = (m: Map<string, number>, prefix: string) =>
  [...m].filter(([k]) => k.startsWith(prefix)).reduce((n, [, v]) => n + v, 0);

/** A welcomed /cable peer subscribed to `room`, counting (not keeping) what it receives. */
async function member(room: string, name: string): Promise<{ peer: HostilePeer; id: string }> {
  const peer = await HostilePeer.upgrade(target);
  assert.equal(peer.status, 101, peer.responseHead);
  const id = identifier(room, name);
  await peer.until(() => peer.texts.some((t) => t.includes('"welcome"')));
  peer.send(cframe(0x1, JSON.stringify({ command: "subscribe", identifier: id })));
  await peer.until(() => peer.texts.some((t) => t.includes("confirm_subscription")), 600 * UNIT);
  peer.texts = []; // from here on only count
  return { peer, id };
}

describe("storms on the demo chat (serve)", { timeout: 600_000 }, () => {
  it("300 clients each sending 55 typing broadcasts to their room of 300: bounded, reported, others unaffected", async () => {
    const base = await target.baseline();
    const heapBase = await target.heapUsed();
    const healthy = await target.healthy({ room: "elsewhere" });
    const joinStart = Date.now();
    const members = await many(300, (i) => member("storm", `m${i}`), 32);
    await sleep(20 * UNIT); // the joins' presence traffic settles
    console.log(`300 joins in ${Date.now() - joinStart} ms`);
    await healthy.report(1); // what it measured during the joins is the presence storm's (issue 25 item 2)
    const before = await metrics();
    const cpuBefore = target.stats().cpu;
    const received = members.reduce((n, m) => n + m.peer.messages, 0);
    let peak = target.stats().rss;
    const sampler = setInterval(() => {
      peak = Math.max(peak, target.stats().rss);
    }, 100);
    try {
      for (let round = 0; round < 55; round++) {
        for (const m of members) m.peer.send(perform(m.id, { action: "typing", typing: round % 2 === 0 }));
        await sleep(20);
      }
      // Wait for the storm to be over: no delivery for a second.
      let last = -1;
      for (;;) {
        const now = members.reduce((n, m) => n + m.peer.messages, 0);
        if (now === last) break;
        last = now;
        await sleep(10 * UNIT);
      }
    } finally {
      clearInterval(sampler);
    }
    // The healthy client in another room: its chat round trips stayed fast during the storm.
    const during = await healthy.report(5);
    const after = await metrics();
    const delivered = members.reduce((n, m) => n + m.peer.messages, 0) - received;
    const sent = 300 * 55;
    const dropped = sum(after, "wirecable_messages_dropped_total") - sum(before, "wirecable_messages_dropped_total");
    const cpu = target.stats().cpu - cpuBefore;
    const diagnostics = `${sent} typing commands, ${delivered} deliveries, ${dropped} counted as dropped, server CPU ${cpu.toFixed(1)} s (${((cpu * 1e6) / Math.max(1, delivered)).toFixed(1)} us per delivery), RSS peak +${((peak - base.rss) / MiB).toFixed(0)} MB`;
    console.log(
      diagnostics,
      `healthy p50 ${during.p50.toFixed(1)} p90 ${during.p90.toFixed(1)} max ${during.max.toFixed(1)} ms`,
    );
    console.log(JSON.stringify([...after].filter(([k]) => /dropped|errors/.test(k))));
    during.assertHealthy();
    // Bounded amplification: the room never gets the full 300 x 16,500 = 4.95 million deliveries.
    assert.ok(delivered < 2_000_000, diagnostics);
    // Memory per delivery bounded while it lasts (before: RSS peaked at +870 MB).
    assert.ok(peak - base.rss < 256 * MiB, diagnostics);
    // Nothing is lost silently: every typing command is either delivered to the room or counted.
    assert.ok(delivered + dropped * 299 >= sent * 299 * 0.99, diagnostics);
    for (const m of members) assert.equal(m.peer.closeCode, undefined, `a member was closed: ${m.peer.closeReason}`);
    for (const m of members) m.peer.destroy();
    // After: the server keeps nothing of it.
    await target.settle(base, { rss: 128 * MiB, timeout: 300 * UNIT });
    const heapAfter = await target.heapUsed();
    assert.ok(
      heapAfter - heapBase < 16 * MiB,
      `heap ${(heapBase / MiB).toFixed(1)} -> ${(heapAfter / MiB).toFixed(1)} MB`,
    );
    (await healthy.report(3)).assertHealthy();
    healthy.stop();
  });
});
