// ClientList (src/node/client-list.ts): a server's connections in insertion order with a Set's
// iteration rules (removed before their turn: skipped; added meanwhile: visited), links cleared
// when a connection leaves, one list per connection (its hook), and `view()`: one read-only Set
// view (size, has, forEach live; iterators over those listed when they start). Then the server's
// `clients`: the same view every time, live.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { inspect } from "node:util";
import { ClientList, type Listed } from "../../src/node/client-list.js";
import { WebSocketServer } from "../../src/node/server.js";
import { WebSocket } from "../../src/node/websocket.js";
import { until } from "../helpers/time.js";

interface Item extends Listed {
  name: string;
}
const item = (name: string): Item => ({ name, clientPrev: null, clientNext: null, onFinish: undefined });
const names = (list: ClientList<Item>): string[] => {
  const out: string[] = [];
  list.forEach((i) => {
    out.push(i.name);
  });
  return out;
};

describe("ClientList", () => {
  it("keeps insertion order; add is idempotent, remove of an unlisted one a no-op", () => {
    const list = new ClientList<Item>();
    const [a, b, c] = [item("a"), item("b"), item("c")];
    list.add(a);
    list.add(b);
    list.add(c);
    list.add(b);
    assert.deepEqual(names(list), ["a", "b", "c"]);
    assert.equal(list.size, 3);
    list.remove(b);
    list.remove(b);
    list.remove(item("never"));
    assert.deepEqual(names(list), ["a", "c"]);
    list.remove(a);
    list.remove(c);
    assert.deepEqual(names(list), []);
    assert.equal(list.size, 0);
    list.add(c);
    list.add(a);
    assert.deepEqual(names(list), ["c", "a"]);
  });

  it("clears a removed one's links: nothing points from it to the others", () => {
    const list = new ClientList<Item>();
    const [a, b, c] = [item("a"), item("b"), item("c")];
    for (const i of [a, b, c]) list.add(i);
    list.remove(b);
    assert.equal(b.clientPrev, null);
    assert.equal(b.clientNext, null);
    assert.equal(a.clientNext, c);
    assert.equal(c.clientPrev, a);
    list.remove(a);
    list.remove(c);
    assert.deepEqual([a.clientPrev, a.clientNext, c.clientPrev, c.clientNext], [null, null, null, null]);
  });

  it("walks as a Set iterates: removed before their turn skipped, added meanwhile visited", () => {
    const list = new ClientList<Item>();
    const all = ["a", "b", "c", "d", "e"].map(item);
    for (const i of all) list.add(i);
    const [a, b, c, d, e] = all as [Item, Item, Item, Item, Item];
    const f = item("f");
    const seen: string[] = [];
    list.forEach((i) => {
      seen.push(i.name);
      if (i === a) list.remove(a); // the current one
      if (i === b) list.remove(c); // the next one
      if (i === d) {
        list.remove(e); // the last one
        list.add(f);
      }
    });
    assert.deepEqual(seen, ["a", "b", "d", "f"]);
    assert.deepEqual(names(list), ["b", "d", "f"]);
  });

  it("walks inside walks, each with its own place", () => {
    const list = new ClientList<Item>();
    const all = ["a", "b", "c", "d"].map(item);
    for (const i of all) list.add(i);
    const [a, b, c] = all as [Item, Item, Item, Item];
    const seen: string[] = [];
    list.forEach((outer) => {
      seen.push(outer.name);
      if (outer === a) {
        list.forEach((inner) => {
          seen.push(`${inner.name}'`);
          if (inner === b) list.remove(c); // the next one of both walks
        });
      }
    });
    assert.deepEqual(seen, ["a", "a'", "b'", "d'", "b", "d"]);
  });

  it("ends a walk that throws and leaves no place behind", () => {
    const list = new ClientList<Item>();
    const [a, b] = [item("a"), item("b")];
    list.add(a);
    list.add(b);
    assert.throws(() =>
      list.forEach(() => {
        list.forEach(() => {
          throw new Error("visit failed");
        });
      }),
    );
    assert.equal(list.walking, 0);
    list.remove(b);
    assert.deepEqual(names(list), ["a"]);
  });

  it("keeps a connection in one list: its hook says which, and calling it removes it", () => {
    const [one, two] = [new ClientList<Item>(), new ClientList<Item>()];
    const [a, b] = [item("a"), item("b")];
    one.add(a);
    one.add(b);
    two.add(b); // listed in `one`: nothing happens
    two.remove(b);
    two.remove(a);
    assert.deepEqual([one.size, two.size], [2, 0]);
    assert.deepEqual([one.has(b), two.has(b)], [true, false]);
    assert.deepEqual(names(one), ["a", "b"]);
    assert.equal(b.onFinish, one.hook);
    (b.onFinish as (conn: Item) => void)(b); // what a finished connection does
    assert.deepEqual(names(one), ["a"]);
    assert.equal(b.onFinish, undefined);
    two.add(b);
    assert.deepEqual([one.has(b), two.has(b), two.size], [false, true, 1]);
  });

  it("view(): one read-only Set view, live; iterators over those listed when they start", () => {
    const list = new ClientList<Item>();
    const [a, b, c, d] = [item("a"), item("b"), item("c"), item("d")];
    list.add(a);
    list.add(b);
    const view = list.view();
    assert.equal(list.view(), view);
    assert.equal("add" in view || "delete" in view || "clear" in view, false);
    assert.deepEqual(
      [...view].map((i) => i.name),
      ["a", "b"],
    );
    list.add(c);
    list.remove(a);
    assert.equal(view.size, 2);
    assert.deepEqual([view.has(a), view.has(b), view.has(item("x"))], [false, true, false]);
    assert.deepEqual(
      [...view.keys()].map((i) => i.name),
      ["b", "c"],
    );
    assert.deepEqual(
      [...view.entries()].map(([k, v]) => `${k.name}=${v.name}`),
      ["b=b", "c=c"],
    );
    const calls: unknown[] = [];
    const self = {};
    view.forEach(function (this: unknown, value, value2, set) {
      calls.push([value.name, value2 === value, set === view, this === self]);
    }, self);
    assert.deepEqual(calls, [
      ["b", true, true, true],
      ["c", true, true, true],
    ]);
    const seen: string[] = [];
    for (const i of view) {
      seen.push(i.name);
      if (i === b) {
        list.remove(c); // not reached yet: skipped
        list.add(d); // added after the iteration started: not visited
      }
    }
    assert.deepEqual(seen, ["b"]);
    assert.equal(Object.prototype.toString.call(view), "[object ClientSet]");
  });
});

describe("WebSocketServer clients (a view of its list)", () => {
  it("the connections opened before the first read, the same view afterwards, live", async () => {
    const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
    await wss.ready;
    const { port } = wss.address() as { port: number };
    const open = (): Promise<WebSocket> =>
      new Promise((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
        ws.onopen = () => resolve(ws);
        ws.onerror = () => reject(new Error("connect failed"));
      });
    const accepted: unknown[] = [];
    wss.on("connection", (conn) => accepted.push(conn));
    const first = await open();
    const second = await open();
    await until(() => accepted.length === 2);
    const clients = wss.clients;
    assert.deepEqual([...clients], accepted);
    assert.equal(wss.clients, clients);
    first.close();
    await until(() => clients.size === 1);
    assert.deepEqual([...clients], [accepted[1]]);
    const third = await open();
    await until(() => clients.size === 2);
    assert.deepEqual([...clients], [accepted[1], accepted[2]]);
    second.close();
    third.close();
    await wss.close();
    assert.equal(clients.size, 0);
  });

  it("a 'close' listener sees clients without the closing connection (as ws's)", async () => {
    const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
    await wss.ready;
    const { port } = wss.address() as { port: number };
    const seen: Array<[boolean, number]> = [];
    wss.on("connection", (conn) => conn.on("close", () => seen.push([wss.clients.has(conn), wss.clients.size])));
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
    await until(() => wss.clients.size === 1);
    ws.close();
    await until(() => seen.length === 1);
    assert.deepEqual(seen, [[false, 0]]);
    await wss.close();
  });

  it("prints its connections, and has ES2024's set methods exactly where a Set has them", () => {
    const list = new ClientList<Item>();
    const [a, b] = [item("a"), item("b")];
    list.add(a);
    list.add(b);
    const view = list.view() as ReadonlySet<Item> & Record<string, unknown>;
    assert.match(inspect(view), /^ClientSet\(2\) \{.*name: 'a'.*name: 'b'.*\}$/s);
    const set = new Set([a, b]) as Set<Item> & Record<string, unknown>;
    for (const name of [
      "union",
      "intersection",
      "difference",
      "symmetricDifference",
      "isSubsetOf",
      "isSupersetOf",
      "isDisjointFrom",
    ]) {
      assert.equal(typeof view[name], typeof set[name], name);
      if (typeof set[name] !== "function") continue;
      const other = new Set([b, item("c")]);
      const call = (target: unknown) => (target as Record<string, (o: unknown) => unknown>)[name]!(other);
      assert.deepEqual(call(view), call(set), name);
    }
  });
});
