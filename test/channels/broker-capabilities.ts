/**
 * Contract suites for the brokers' optional capabilities, run by broker-*.test.ts against every
 * implementation: history (src/channels/brokers/stream-history.ts), presence
 * (stream-presence.ts) and dedup (dedup.ts). `pair(features)` gives two brokers standing for
 * two processes sharing one store (the same instance for the in-memory broker).
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import type { Broker } from "../../src/channels/brokers/broker.js";
import type { StreamPosition } from "../../src/channels/brokers/stream-history.js";
import type { PresenceEvent, StreamPresence } from "../../src/channels/brokers/stream-presence.js";
import type { BrokerFactory, BrokerFeatures } from "./broker-contract.js";

/** Waits (bounded, by polling a condition) without fixed sleeps deciding the outcome. */
export async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** `until` for an asynchronous condition. */
async function untilAsync(condition: () => Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Records deliveries with their positions. */
function positions() {
  const got: Array<{ payload: string; position?: StreamPosition }> = [];
  return {
    got,
    handler: (payload: string, position?: StreamPosition) => got.push({ payload, position }),
    offsets: () => got.map((g) => g.position?.offset),
  };
}

function useBrokers(factory: BrokerFactory) {
  const open: Broker[] = [];
  after(async () => {
    await Promise.all([...new Set(open)].map((b) => b.close().catch(() => {})));
  });
  return async (features: BrokerFeatures): Promise<[Broker, Broker]> => {
    const pair = await factory.pair(features);
    open.push(...pair);
    return pair;
  };
}

let streams = 0;
/** A stream name of its own per test (brokers of one suite may share a store). */
const fresh = (base: string) => `${base}-${process.pid}-${++streams}`;

export function historyContract(name: string, factory: BrokerFactory): void {
  describe(`history contract: ${name}`, () => {
    const pair = useBrokers(factory);

    it("stamps each message with the stream's epoch and the next offset, delivered in order everywhere", async () => {
      const [a, b] = await pair({ history: { limit: 50 } });
      assert.ok(a.history && b.history, "history is offered");
      const s = fresh("stamp");
      const local = positions();
      const remote = positions();
      await a.subscribe(s, local.handler);
      await b.subscribe(s, remote.handler);
      const before = await a.history.position(s);
      assert.equal(before.offset, 0);
      for (let i = 1; i <= 5; i++) await a.publish(s, `"m${i}"`);
      await until(() => local.got.length === 5 && remote.got.length === 5, "5 deliveries each");
      assert.deepEqual(local.offsets(), [1, 2, 3, 4, 5]);
      assert.deepEqual(remote.offsets(), [1, 2, 3, 4, 5]);
      assert.deepEqual(
        remote.got.map((g) => g.payload),
        ['"m1"', '"m2"', '"m3"', '"m4"', '"m5"'],
      );
      for (const g of [...local.got, ...remote.got]) assert.equal(g.position?.epoch, before.epoch);
      assert.deepEqual(await b.history.position(s), { epoch: before.epoch, offset: 5 });
    });

    it("since(position): exactly the later messages; the current position: none", async () => {
      const [a, b] = await pair({ history: { limit: 50 } });
      const s = fresh("since");
      for (let i = 1; i <= 8; i++) await a.publish(s, `${i}`);
      const { epoch } = await b.history!.position(s);
      const read = await b.history!.since(s, { epoch, offset: 3 });
      assert.ok(read.ok);
      assert.deepEqual(
        read.entries.map((e) => [e.offset, e.payload, e.epoch]),
        [4, 5, 6, 7, 8].map((n) => [n, String(n), epoch]),
      );
      assert.deepEqual(read.position, { epoch, offset: 8 });
      const none = await a.history!.since(s, { epoch, offset: 8 });
      assert.ok(none.ok);
      assert.deepEqual(none.entries, []);
      const all = await a.history!.since(s, { epoch, offset: 0 });
      assert.ok(all.ok);
      assert.equal(all.entries.length, 8);
    });

    it("another epoch, or a position ahead of the stream: reason epoch, with the current position", async () => {
      const [a] = await pair({ history: { limit: 50 } });
      const s = fresh("epoch");
      await a.publish(s, "1");
      const current = await a.history!.position(s);
      const other = await a.history!.since(s, { epoch: `${current.epoch}x`, offset: 1 });
      assert.deepEqual(other, { ok: false, reason: "epoch", position: current });
      const ahead = await a.history!.since(s, { epoch: current.epoch, offset: 2 });
      assert.equal(ahead.ok, false);
      assert.equal(!ahead.ok && ahead.reason, "epoch");
    });

    it("keeps the last `limit` messages: older positions are too_old; recent(n)", async () => {
      const [a, b] = await pair({ history: { limit: 5 } });
      const s = fresh("limit");
      for (let i = 1; i <= 12; i++) await a.publish(s, `${i}`);
      const { epoch } = await a.history!.position(s);
      const old = await b.history!.since(s, { epoch, offset: 6 });
      assert.deepEqual(old, { ok: false, reason: "too_old", position: { epoch, offset: 12 } });
      const edge = await b.history!.since(s, { epoch, offset: 7 });
      assert.ok(edge.ok);
      assert.deepEqual(
        edge.entries.map((e) => e.offset),
        [8, 9, 10, 11, 12],
      );
      const recent = await b.history!.recent(s, 3);
      assert.deepEqual(
        recent.entries.map((e) => e.payload),
        ["10", "11", "12"],
      );
      assert.deepEqual(recent.position, { epoch, offset: 12 });
      assert.equal((await b.history!.recent(s, 100)).entries.length, 5);
    });

    it("drops messages older than `ttl`; the position of a stream in use stays", async () => {
      const ttl = 2500;
      const [a] = await pair({ history: { limit: 50, ttl } });
      const s = fresh("ttl");
      await a.subscribe(s, () => {}); // in use: not forgotten whole when idle
      const published = Date.now();
      await a.publish(s, "1");
      await a.publish(s, "2");
      const { epoch } = await a.history!.position(s);
      const fresh1 = await a.history!.since(s, { epoch, offset: 0 });
      // Kept before their ttl (checked when this machine read them well within it)
      if (Date.now() - published < ttl / 2) assert.ok(fresh1.ok && fresh1.entries.length === 2);
      // Each message expires on its own (a store may drop "1" a few ms before "2"): wait until
      // both are gone, then the stream's position is still there and older ones are too_old.
      const deadline = Date.now() + 5000;
      while ((await a.history!.recent(s, 10)).entries.length > 0) {
        if (Date.now() > deadline) throw new Error("messages never expired");
        await new Promise((r) => setTimeout(r, 100));
      }
      const read = await a.history!.since(s, { epoch, offset: 0 });
      assert.ok(!read.ok);
      assert.equal(read.reason, "too_old");
      assert.deepEqual(read.position, { epoch, offset: 2 });
    });

    it("two publishers on one stream: dense offsets, every subscriber sees the history's order", async () => {
      const [a, b] = await pair({ history: { limit: 500 } });
      const s = fresh("race");
      const ra = positions();
      const rb = positions();
      await a.subscribe(s, ra.handler);
      await b.subscribe(s, rb.handler);
      await Promise.all([
        ...Array.from({ length: 40 }, (_, i) => a.publish(s, `"a${i}"`)),
        ...Array.from({ length: 40 }, (_, i) => b.publish(s, `"b${i}"`)),
      ]);
      await until(() => ra.got.length === 80 && rb.got.length === 80, "80 deliveries each");
      const { epoch } = await a.history!.position(s);
      const stored = await a.history!.since(s, { epoch, offset: 0 });
      assert.ok(stored.ok);
      assert.deepEqual(
        stored.entries.map((e) => e.offset),
        Array.from({ length: 80 }, (_, i) => i + 1),
      );
      const order = stored.entries.map((e) => e.payload);
      assert.deepEqual(
        ra.got.map((g) => g.payload),
        order,
      );
      assert.deepEqual(
        rb.got.map((g) => g.payload),
        order,
      );
      // each publisher's own messages keep their publish order
      const mine = order.filter((p) => p.startsWith('"a'));
      assert.deepEqual(
        mine,
        Array.from({ length: 40 }, (_, i) => `"a${i}"`),
      );
    });

    it("streams outside the `streams` filter keep nothing and carry no position", async () => {
      const [a, b] = await pair({ history: { limit: 10, streams: (name) => name.startsWith("kept") } });
      assert.equal(a.history!.keeps("kept:1"), true);
      assert.equal(a.history!.keeps("plain:1"), false);
      const s = fresh("plain");
      const got = positions();
      await b.subscribe(s, got.handler);
      await a.publish(s, "1");
      await until(() => got.got.length === 1, "the delivery");
      assert.equal(got.got[0]!.position, undefined);
    });
  });
}

function presenceLog() {
  const events: PresenceEvent[] = [];
  return { events, listener: (e: PresenceEvent) => events.push(e) };
}

async function members(p: StreamPresence, stream: string): Promise<string[]> {
  return (await p.snapshot(stream)).members.map((m) => m.id).sort();
}

export function presenceContract(name: string, factory: BrokerFactory): void {
  describe(`presence contract: ${name}`, () => {
    const pair = useBrokers(factory);
    const options = { presence: { ttl: 1500, heartbeat: 300, maxMembers: 3 } };

    it("join and leave are seen by watchers in both processes, with info, in version order", async () => {
      const [a, b] = await pair(options);
      assert.ok(a.presence && b.presence, "presence is offered");
      const s = fresh("room");
      const wa = presenceLog();
      const wb = presenceLog();
      await a.presence.watch(s, wa.listener);
      await b.presence.watch(s, wb.listener);
      assert.equal(await a.presence.join(s, "sa1", { id: "alice", info: { name: "Alice" } }), "joined");
      assert.equal(await b.presence.join(s, "sb1", { id: "bob", info: { name: "Bob" } }), "joined");
      await until(() => wa.events.length === 2 && wb.events.length === 2, "two joins each");
      assert.deepEqual(await members(a.presence, s), ["alice", "bob"]);
      assert.deepEqual(await members(b.presence, s), ["alice", "bob"]);
      const snap = await b.presence.snapshot(s);
      assert.deepEqual(snap.members.find((m) => m.id === "alice")?.info, { name: "Alice" });
      await a.presence.leave(s, "sa1");
      await until(() => wa.events.length === 3 && wb.events.length === 3, "the leave");
      for (const log of [wa, wb]) {
        // A store orders all events one way; over plain pub/sub a process sees its own first:
        // both joins come before alice's leave, versions grow by one, one epoch.
        const seen = log.events.map((e) => `${e.type} ${e.id}`);
        assert.deepEqual(seen.slice(0, 2).sort(), ["join alice", "join bob"]);
        assert.equal(seen[2], "leave alice");
        const v = log.events.map((e) => e.version);
        assert.deepEqual(v, [v[0], v[0]! + 1, v[0]! + 2]);
        assert.ok(log.events.every((e) => e.epoch === log.events[0]!.epoch));
      }
      assert.deepEqual(wb.events[2]!.info, { name: "Alice" }, "leave carries the member's info");
      const after = await a.presence.snapshot(s);
      assert.equal(after.version, wa.events[2]!.version);
      assert.equal(after.epoch, wa.events[2]!.epoch);
      assert.deepEqual(await members(a.presence, s), ["bob"]);
      await b.presence.leave(s, "sb1");
    });

    it("one member through several sessions (tabs, processes): one join, one leave with the last", async () => {
      const [a, b] = await pair(options);
      const s = fresh("tabs");
      const log = presenceLog();
      await a.presence!.watch(s, log.listener);
      assert.equal(await a.presence!.join(s, "t1", { id: "carol", info: 1 }), "joined");
      // (over plain pub/sub, "present" is each process's view: let a's join reach b first)
      await untilAsync(async () => (await members(b.presence!, s)).length === 1, "carol seen by b");
      assert.equal(await b.presence!.join(s, "t2", { id: "carol", info: 2 }), "present");
      assert.equal(await a.presence!.join(s, "t1", { id: "carol", info: 3 }), "present", "a repeated join");
      await a.presence!.leave(s, "t1");
      await a.presence!.leave(s, "nobody"); // unknown session: nothing
      await new Promise((r) => setTimeout(r, 50)); // a's leave travels; carol stays (b's session)
      assert.deepEqual(await members(b.presence!, s), ["carol"]);
      await b.presence!.leave(s, "t2");
      await untilAsync(async () => (await members(a.presence!, s)).length === 0, "carol gone for a");
      // an event may reach watchers after the snapshot shows its change (PostgreSQL's NOTIFY)
      await until(() => log.events.at(-1)?.type === "leave", "the leave event");
      const seen = log.events.map((e) => `${e.type} ${e.id}`);
      if (factory.eventualPresence) {
        // joins and leaves alternate, starting with the join and ending with the leave
        assert.ok(
          seen.length % 2 === 0 && seen.every((e, i) => e === (i % 2 === 0 ? "join carol" : "leave carol")),
          String(seen),
        );
      } else assert.deepEqual(seen, ["join carol", "leave carol"]);
    });

    it("refuses members beyond maxMembers; a known member still joins", async () => {
      const [a, b] = await pair(options);
      const s = fresh("full");
      for (const id of ["m1", "m2", "m3"])
        assert.equal(await a.presence!.join(s, `s-${id}`, { id, info: null }), "joined");
      // (over plain pub/sub the limit applies to each process's view: let it arrive)
      await untilAsync(async () => (await members(b.presence!, s)).length === 3, "three members seen by b");
      assert.equal(await b.presence!.join(s, "s-m4", { id: "m4", info: null }), "full");
      assert.equal(await b.presence!.join(s, "s-m1b", { id: "m1", info: null }), "present");
      assert.deepEqual(await members(a.presence!, s), ["m1", "m2", "m3"]);
      // a session is left through the process that joined it
      for (const sid of ["s-m1", "s-m2", "s-m3"]) await a.presence!.leave(s, sid);
      await untilAsync(async () => (await members(b.presence!, s)).length === 1, "the leaves seen by b");
      assert.deepEqual(await members(b.presence!, s), ["m1"]);
      await b.presence!.leave(s, "s-m1b");
      assert.deepEqual(await members(b.presence!, s), []);
    });

    if (factory.crash !== undefined) {
      it("the members of a process that dies without leaving disappear within `timeout`", async () => {
        const [a, b] = await pair(options);
        const s = fresh("crash");
        const log = presenceLog();
        await a.presence!.watch(s, log.listener);
        await a.presence!.join(s, "alive", { id: "stays", info: null });
        await b.presence!.join(s, "doomed", { id: "goes", info: { name: "Goes" } });
        const seen = (type: string, id: string) => log.events.findIndex((e) => e.type === type && e.id === id);
        await until(() => seen("join", "stays") >= 0 && seen("join", "goes") >= 0, "both joins");
        const timeout = b.presence!.timeout;
        assert.ok(timeout > 0 && timeout <= 1500 + 300 + 300, `timeout ${timeout}`);
        const killed = Date.now();
        await factory.crash!(b);
        await until(() => seen("leave", "goes") >= 0, "the leave of the dead process's member", timeout + 3000);
        const took = Date.now() - killed;
        assert.deepEqual(log.events[seen("leave", "goes")]!.info, { name: "Goes" });
        assert.ok(took <= timeout + 1000, `gone after ${took} ms (timeout ${timeout})`);
        assert.deepEqual(await members(a.presence!, s), ["stays"], "the live process's member stays");
        await a.presence!.leave(s, "alive");
      });
    }
  });
}

export function dedupContract(name: string, factory: BrokerFactory): void {
  describe(`dedup contract: ${name}`, () => {
    const pair = useBrokers(factory);

    it("the first claim is new, later ones pending then done with the outcome, in every process", async () => {
      const [a, b] = await pair({});
      assert.ok(a.dedup && b.dedup, "dedup is offered");
      const key = fresh("cmd");
      assert.deepEqual(await a.dedup.claim(key, 10_000), { state: "new" });
      assert.deepEqual(await b.dedup.claim(key, 10_000), { state: "pending" });
      await a.dedup.settle(key, '{"ok":1}', 10_000);
      assert.deepEqual(await b.dedup.claim(key, 10_000), { state: "done", outcome: '{"ok":1}' });
      assert.deepEqual(await a.dedup.claim(key, 10_000), { state: "done", outcome: '{"ok":1}' });
    });

    it("forgets a key after its window, or at once when released", async () => {
      const [a, b] = await pair({});
      const key = fresh("short");
      assert.deepEqual(await a.dedup!.claim(key, 200), { state: "new" });
      const deadline = Date.now() + 5000;
      for (;;) {
        const claim = await b.dedup!.claim(key, 200);
        if (claim.state === "new") break;
        assert.equal(claim.state, "pending");
        if (Date.now() > deadline) throw new Error("the claim never expired");
        await new Promise((r) => setTimeout(r, 50));
      }
      const other = fresh("released");
      assert.deepEqual(await a.dedup!.claim(other, 10_000), { state: "new" });
      await a.dedup!.release(other);
      assert.deepEqual(await b.dedup!.claim(other, 10_000), { state: "new" });
    });
  });
}
