// ConnectionList (src/channels/connection-list.ts): a cable server's connections in insertion
// order with a Set's iteration rules (removed before their turn: skipped; added meanwhile:
// visited), entries unlinked when they leave; then CableCore over it: pings, disconnect(match)
// and closing with connections leaving during the walks, and no entry left after close.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { UnauthorizedError } from "../../src/cable/errors.js";
import { ConnectionList, type ListEntry } from "../../src/channels/connection-list.js";
import { makeCore } from "./channels-fixture.js";
import { FakeTransport, flush } from "./fakes.js";

interface Item {
  name: string;
  entry: ListEntry<Item> | null;
}
const item = (name: string): Item => ({ name, entry: null });
const newList = () => new ConnectionList<Item>((i) => i.entry);
const add = (list: ConnectionList<Item>, i: Item) => {
  i.entry = list.add(i);
};
const drop = (list: ConnectionList<Item>, i: Item) => {
  list.remove(i.entry);
  i.entry = null;
};
const names = (list: ConnectionList<Item>) => [...list].map((i) => i.name);

describe("ConnectionList", () => {
  it("keeps insertion order; has; remove of null or another list's entry is a no-op", () => {
    const list = newList();
    const other = newList();
    const [a, b, c] = [item("a"), item("b"), item("c")];
    for (const i of [a, b, c]) add(list, i);
    const foreign = item("x");
    add(other, foreign);
    list.remove(foreign.entry);
    list.remove(null);
    assert.equal(other.size, 1);
    assert.ok(other.has(foreign) && !list.has(foreign));
    assert.deepEqual(names(list), ["a", "b", "c"]);
    assert.ok(list.has(b));
    drop(list, b);
    assert.ok(!list.has(b));
    assert.deepEqual(names(list), ["a", "c"]);
    assert.equal(list.size, 2);
    assert.deepEqual(
      [...list.entries()].map(([x, y]) => x.name + y.name),
      ["aa", "cc"],
    );
    assert.deepEqual(
      [...list.keys()].map((i) => i.name),
      ["a", "c"],
    );
  });

  it("unlinks a removed entry: nothing points from it to the others", () => {
    const list = newList();
    const [a, b, c] = [item("a"), item("b"), item("c")];
    for (const i of [a, b, c]) add(list, i);
    const entry = b.entry as ListEntry<Item>;
    drop(list, b);
    assert.deepEqual([entry.prev, entry.next, entry.list], [null, null, null]);
    assert.equal(a.entry?.next, c.entry);
    assert.equal(c.entry?.prev, a.entry);
  });

  it("a walk skips the ones removed before their turn and visits the ones added", () => {
    const list = newList();
    const [a, b, c, d, e] = ["a", "b", "c", "d", "e"].map(item);
    for (const i of [a, b, c]) add(list, i);
    const seen: string[] = [];
    list.forEach((i) => {
      seen.push(i.name);
      if (i === a) {
        drop(list, b);
        add(list, d);
      }
      if (i === c) drop(list, c); // itself: the walk goes on
      if (i === d) add(list, e); // added at the end, while the walk is at the last one
    });
    assert.deepEqual(seen, ["a", "c", "d", "e"]);
    assert.deepEqual(names(list), ["a", "d", "e"]);
    assert.equal(list.walking, 0);
  });

  it("iterators: the items listed when they start, minus those removed; nothing kept by the list", () => {
    const list = newList();
    const items = ["a", "b", "c", "d"].map(item);
    for (const i of items) add(list, i);
    const one = list.values();
    const two = list.values();
    assert.equal(one.next().value?.name, "a");
    assert.equal(two.next().value?.name, "a");
    assert.equal(two.next().value?.name, "b");
    assert.equal(list.walking, 0, "an iterator registers nothing: one dropped half way costs nothing");
    drop(list, items[2] as Item);
    add(list, item("e")); // added after the start: not visited by iterators (forEach visits it)
    assert.equal(two.next().value?.name, "d");
    assert.equal(two.next().done, true);
    assert.equal(one.next().value?.name, "b");
    assert.equal(list.has(null as unknown as Item), false);
  });

  it("nested walks keep their own places; a throwing visit ends its walk", () => {
    const list = newList();
    for (const i of ["a", "b", "d"].map(item)) add(list, i);
    const nested: string[] = [];
    list.forEach((x) => {
      list.forEach((y) => {
        nested.push(x.name + y.name);
      });
      assert.equal(list.walking, 1);
    });
    assert.deepEqual(nested, ["aa", "ab", "ad", "ba", "bb", "bd", "da", "db", "dd"]);
    const inner: string[] = [];
    for (const x of list) {
      for (const y of list) {
        inner.push(x.name + y.name);
        if (y.name === "b") break;
      }
    }
    assert.deepEqual(inner, ["aa", "ab", "ba", "bb", "da", "db"]);
    assert.equal(list.walking, 0);
    assert.throws(() =>
      list.forEach(() => {
        throw new Error("visit");
      }),
    );
    assert.equal(list.walking, 0);
  });

  it("matches a Set under random adds and removes during walks", () => {
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let round = 0; round < 200; round++) {
      const pool = Array.from({ length: 12 }, (_, k) => item(String(k)));
      // Items to toggle (add if absent, else remove): 8 before the walk, then 0-2 per visit.
      const before = Array.from({ length: 8 }, () => rand(pool.length));
      const during = Array.from({ length: 30 }, () => Array.from({ length: rand(3) }, () => rand(pool.length)));
      const set = new Set<Item>();
      const toggleSet = (k: number) => {
        const i = pool[k] as Item;
        if (!set.delete(i)) set.add(i);
      };
      const list = newList();
      const toggleList = (k: number) => {
        const i = pool[k] as Item;
        if (list.has(i)) drop(list, i);
        else add(list, i);
      };
      before.forEach(toggleSet);
      before.forEach(toggleList);
      const fromSet: string[] = [];
      for (const i of set) for (const k of during[fromSet.push(i.name) % during.length] ?? []) toggleSet(k);
      const fromList: string[] = [];
      list.forEach((i) => {
        for (const k of during[fromList.push(i.name) % during.length] ?? []) toggleList(k);
      });
      assert.deepEqual(fromList, fromSet);
      assert.deepEqual(
        names(list),
        [...set].map((i) => i.name),
      );
      assert.equal(list.size, set.size);
      assert.equal(list.walking, 0);
    }
  });
});

describe("CableCore over ConnectionList", () => {
  it("no entry is left after close; connections holds the welcomed ones", async () => {
    const { connect, core } = makeCore();
    const a = await connect();
    const b = await connect();
    assert.deepEqual([...core.connections], [a.connection, b.connection]);
    assert.ok(core.connections.has(a.connection));
    await a.connection.closed();
    assert.deepEqual([...core.connections], [b.connection]);
    assert.equal(a.connection.allEntry, null);
    assert.equal(a.connection.openEntry, null);
    await b.connection.closed();
    assert.equal(core.connections.size, 0);
    assert.equal(b.connection.allEntry, null);
    assert.equal(b.connection.openEntry, null);
  });

  it("a connection not yet welcomed is listed but gets no ping; one closed mid-ping gets none", async () => {
    let release: (v: unknown) => void = () => {};
    const gate = new Promise((r) => (release = r));
    const { connect, core } = makeCore({ authenticate: (req) => (req.headers.wait ? gate : {}) });
    const a = await connect();
    const b = await connect();
    const pending = await connect({ headers: { wait: "1" } });
    assert.notEqual(pending.connection.allEntry, null);
    assert.equal(pending.connection.openEntry, null);
    // a's ping closes b before b's turn: b is skipped (a Set's rule).
    const send = a.transport.send.bind(a.transport);
    a.transport.send = (data) => {
      send(data);
      void b.connection.closed();
    };
    core.ping(5000);
    const pings = (t: FakeTransport) => t.messages.filter((m) => m.type === "ping").length;
    assert.deepEqual([pings(a.transport), pings(b.transport), pings(pending.transport)], [1, 0, 0]);
    release({});
    await flush();
    core.ping(6000);
    assert.deepEqual([pings(a.transport), pings(pending.transport)], [2, 1]);
    assert.equal(core.connections.size, 2);
  });

  it("disconnect(match) walks every connection while matches close at once", async () => {
    const { connect, core } = makeCore({ authenticate: (req) => ({ name: req.headers["x-user"] }) });
    const ann = await connect({ headers: { "x-user": "ann" } });
    const bob = await connect({ headers: { "x-user": "bob" } });
    const ann2 = await connect({ headers: { "x-user": "ann" } });
    for (const c of [ann, bob, ann2]) {
      const close = c.transport.close.bind(c.transport);
      c.transport.close = (code, reason) => {
        close(code, reason);
        void c.connection.closed(); // the socket goes at once
      };
    }
    const count = core.disconnect((id) => (id as { name: string }).name === "ann");
    assert.equal(count, 2);
    assert.deepEqual([...core.connections], [bob.connection]);
    assert.equal(ann2.transport.closedWith?.code !== undefined, true);
    assert.equal(bob.transport.closedWith, undefined);
    const late = core.accept(new FakeTransport());
    await flush();
    assert.equal(core.connections.size, 2);
    await core.shutdown();
    for (const c of [ann.connection, bob.connection, ann2.connection, late]) {
      assert.deepEqual([c.allEntry, c.openEntry], [null, null]);
    }
    assert.equal(core.connections.size, 0);
  });

  it("connect and disconnect once per welcomed connection; the ping timer runs while one is open", async () => {
    let release: (v: unknown) => void = () => {};
    const gate = new Promise((r) => (release = r));
    const { connect, core } = makeCore({
      pingInterval: 60_000,
      authenticate: (req) => {
        if (req.headers.reject) throw new UnauthorizedError();
        return req.headers.wait ? gate : {};
      },
    });
    const events: string[] = [];
    const timer = () => core.pinging;
    core.on("connect", () => events.push("connect"));
    core.on("disconnect", () => events.push("disconnect"));
    const a = await connect();
    assert.deepEqual(events, ["connect"]);
    assert.equal(timer(), true);
    const rejected = await connect({ headers: { reject: "1" } });
    const waiting = await connect({ headers: { wait: "1" } });
    await waiting.connection.closed(); // closed before its welcome
    release({});
    await flush();
    await rejected.connection.closed();
    assert.deepEqual(events, ["connect"], "no event for the rejected one nor the one closed before its welcome");
    await a.connection.closed();
    await a.connection.closed(); // twice
    assert.deepEqual(events, ["connect", "disconnect"]);
    assert.equal(timer(), false, "stopped with the last open connection");
    for (const c of [rejected, waiting, a]) assert.equal(c.connection.allEntry, null);
  });

  it("a connection closed by a connect listener while it is made is not kept listed", async () => {
    const { connect, core } = makeCore();
    core.on("connect", (c: { disconnect(reason: string, reconnect: boolean): void }) => c.disconnect("x", false));
    const { connection, transport } = await connect();
    assert.equal(connection.isClosed, true);
    assert.equal(connection.allEntry, null);
    let closes = 0;
    const close = transport.close.bind(transport);
    transport.close = (code, reason) => {
      closes++;
      close(code, reason);
    };
    await core.restart();
    assert.equal(closes, 0, "restart does not close it again");
  });
});
