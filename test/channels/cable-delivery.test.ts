// The cable server's delivery extensions (src/cable/extensions.ts) driven through CableCore with
// fake transports: negotiation, positions, resumption (exact, too old, another epoch, the
// history command, a gap the broker subscription missed), acknowledgements with dedup, presence
// coalesced, and Rails' protocol unchanged for connections without the extensions.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CableError } from "../../src/cable/errors.js";
import { PROTOCOL_V1_EXT_JSON } from "../../src/cable/extensions.js";
import { PROTOCOL_V1_JSON, selectProtocol } from "../../src/cable/protocol.js";
import type { Broker, BrokerHandler } from "../../src/channels/brokers/broker.js";
import { MemoryBroker } from "../../src/channels/brokers/memory.js";
import { CableCore } from "../../src/channels/cable-core.js";
import { ActionError, Channel } from "../../src/channels/channel.js";
import { FakeTransport, flush, prepare } from "./fakes.js";

class Room extends Channel<unknown, { channel: string; room: string; member?: string }> {
  static runs = 0;
  override async subscribed(): Promise<void> {
    const stream = `room:${this.params.room}`;
    await this.streamFrom(stream, { presence: true, recent: this.params.room === "backlog" ? 3 : undefined });
    if (this.params.member)
      await this.joinPresence(stream, { id: this.params.member, info: { n: this.params.member } });
  }
  add(data: { a: number; b: number }): number {
    Room.runs++;
    return data.a + data.b;
  }
  refuse(): void {
    throw new ActionError("NOPE", "not allowed");
  }
  crash(): void {
    throw new Error("secret internals");
  }
  async slow(data: { ms: number }): Promise<string> {
    Room.runs++;
    await new Promise((r) => setTimeout(r, data.ms));
    return "done";
  }
  late(): Promise<void> {
    return this.streamFrom("late");
  }
}

const id = (room: string, member?: string) =>
  JSON.stringify(member === undefined ? { channel: "Room", room } : { channel: "Room", room, member });
const sub = (identifier: string, history?: unknown) =>
  JSON.stringify(
    history === undefined ? { command: "subscribe", identifier } : { command: "subscribe", identifier, history },
  );
const perform = (identifier: string, data: Record<string, unknown>, messageId?: string) =>
  JSON.stringify({
    command: "message",
    identifier,
    data: JSON.stringify(data),
    ...(messageId ? { id: messageId } : {}),
  });

function setup(broker: Broker = new MemoryBroker({ history: { limit: 5 } }), interval = 20) {
  const core = new CableCore({ channels: { Room }, broker, prepare, pingInterval: 0, presence: { interval } });
  const errors: CableError[] = [];
  core.on("error", (e: CableError) => errors.push(e));
  async function connect(protocol = PROTOCOL_V1_EXT_JSON) {
    const transport = new FakeTransport(protocol);
    const connection = core.accept(transport);
    await flush();
    return { transport, connection };
  }
  return { core, broker, errors, connect };
}

const until = async (condition: () => boolean, what: string) => {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

const broadcasts = (t: FakeTransport) => t.messages.filter((m) => "message" in m && m.type === undefined);

describe("cable extensions: negotiation", () => {
  it("selects actioncable-v1-ext-json when offered; the official client's offer gets v1-json", () => {
    assert.equal(
      selectProtocol([PROTOCOL_V1_EXT_JSON, PROTOCOL_V1_JSON, "actioncable-unsupported"]),
      PROTOCOL_V1_EXT_JSON,
    );
    assert.equal(selectProtocol([PROTOCOL_V1_JSON, "actioncable-unsupported"]), PROTOCOL_V1_JSON);
  });

  it("the welcome lists the features the broker allows", async () => {
    const { connect } = setup();
    assert.deepEqual((await connect()).transport.messages[0], {
      type: "welcome",
      features: ["acks", "history", "presence"],
    });
    const plain = setup(new MemoryBroker());
    assert.deepEqual((await plain.connect()).transport.messages[0], {
      type: "welcome",
      features: ["acks", "presence"],
    });
  });
});

describe("cable extensions: resumable streams", () => {
  it("the confirmation gives the starting position; broadcasts carry stream_id, epoch, offset", async () => {
    const { core, connect } = setup();
    await core.broadcast("room:1", { n: 0 }); // before the subscriber: not for it
    const { transport, connection } = await connect();
    connection.receive(sub(id("1")));
    await flush();
    const confirm = transport.messages[1]!;
    assert.equal(confirm.type, "confirm_subscription");
    const start = (confirm.streams as Record<string, { epoch: string; offset: number }>)["room:1"]!;
    assert.equal(start.offset, 1);
    await core.broadcast("room:1", { n: 1 });
    await core.broadcast("room:1", { n: 2 });
    assert.deepEqual(broadcasts(transport), [
      { identifier: id("1"), message: { n: 1 }, stream_id: "room:1", epoch: start.epoch, offset: 2 },
      { identifier: id("1"), message: { n: 2 }, stream_id: "room:1", epoch: start.epoch, offset: 3 },
    ]);
  });

  it("resubscribing with its positions: exactly the missed messages, in order, then confirm_history", async () => {
    const { core, connect } = setup(new MemoryBroker({ history: { limit: 50 } }));
    const first = await connect();
    first.connection.receive(sub(id("r")));
    await flush();
    const { epoch } = (first.transport.messages[1]!.streams as Record<string, { epoch: string }>)["room:r"]!;
    for (let i = 1; i <= 3; i++) await core.broadcast("room:r", { n: i });
    first.transport.close(1006, "");
    await first.connection.closed();
    for (let i = 4; i <= 7; i++) await core.broadcast("room:r", { n: i }); // missed while away
    const again = await connect();
    again.connection.receive(sub(id("r"), { streams: { "room:r": { epoch, offset: 3 } } }));
    await flush();
    await core.broadcast("room:r", { n: 8 });
    const texts = again.transport.messages.slice(1);
    assert.deepEqual(texts[0], { identifier: id("r"), type: "confirm_subscription", streams: {} });
    assert.deepEqual(
      broadcasts(again.transport).map((m) => [(m.message as { n: number }).n, m.offset]),
      [
        [4, 4],
        [5, 5],
        [6, 6],
        [7, 7],
        [8, 8],
      ],
    );
    const confirmAt = texts.findIndex((m) => m.type === "confirm_history");
    assert.equal(confirmAt, 5, "confirm_history after the missed messages, before the live one");
  });

  it("a position older than the history: reject_history first, then what history still has, then live", async () => {
    const { core, connect } = setup();
    const a = await connect();
    a.connection.receive(sub(id("old")));
    await flush();
    const { epoch } = (a.transport.messages[1]!.streams as Record<string, { epoch: string }>)["room:old"]!;
    for (let i = 1; i <= 9; i++) await core.broadcast("room:old", { n: i }); // limit 5: 1-4 gone
    const b = await connect();
    b.connection.receive(sub(id("old"), { streams: { "room:old": { epoch, offset: 2 } } }));
    await flush();
    await core.broadcast("room:old", { n: 10 });
    const msgs = b.transport.messages.slice(1);
    assert.equal(msgs[0]!.type, "confirm_subscription");
    assert.deepEqual(msgs[1], {
      identifier: id("old"),
      type: "reject_history",
      streams: { "room:old": { epoch, offset: 4, reason: "too_old" } },
    });
    assert.deepEqual(
      msgs
        .slice(2)
        .filter((m) => "stream_id" in m) // (presence messages may come in between)
        .map((m) => m.offset),
      [5, 6, 7, 8, 9, 10],
    );
  });

  it("another epoch (the history was reset): reject_history reason epoch", async () => {
    const { connect } = setup();
    const c = await connect();
    c.connection.receive(sub(id("e"), { streams: { "room:e": { epoch: "gone", offset: 12 } } }));
    await flush();
    const reject = c.transport.messages.find((m) => m.type === "reject_history")!;
    assert.equal((reject.streams as Record<string, { reason: string }>)["room:e"]!.reason, "epoch");
  });

  it("the history command resumes a live subscription's stream", async () => {
    const { core, connect } = setup(new MemoryBroker({ history: { limit: 50 } }));
    const c = await connect();
    c.connection.receive(sub(id("h")));
    await flush();
    const { epoch } = (c.transport.messages[1]!.streams as Record<string, { epoch: string }>)["room:h"]!;
    for (let i = 1; i <= 3; i++) await core.broadcast("room:h", { n: i });
    c.connection.receive(
      JSON.stringify({
        command: "history",
        identifier: id("h"),
        history: { streams: { "room:h": { epoch, offset: 1 } } },
      }),
    );
    await until(() => c.transport.messages.some((m) => m.type === "confirm_history"), "confirm_history");
    // already sent on this connection: the history adds nothing twice. The stream's presence
    // snapshot comes on its own timer (interval 20 ms), so it may fall anywhere in between.
    const frames = c.transport.messages.filter((m) => m.type !== "presence");
    assert.deepEqual(
      frames.slice(2).map((m) => m.type ?? m.offset),
      [1, 2, 3, "confirm_history"],
    );
  });

  it("a new subscriber asking for `recent` gets the backlog after its confirmation, then live", async () => {
    const { core, connect } = setup();
    for (let i = 1; i <= 4; i++) await core.broadcast("room:backlog", { n: i });
    const c = await connect();
    c.connection.receive(sub(id("backlog")));
    await flush();
    await core.broadcast("room:backlog", { n: 5 });
    const confirm = c.transport.messages[1]!;
    assert.deepEqual((confirm.streams as Record<string, { offset: number }>)["room:backlog"]!.offset, 1);
    assert.deepEqual(
      broadcasts(c.transport).map((m) => (m.message as { n: number }).n),
      [2, 3, 4, 5],
    );
  });

  it("fills a gap the broker subscription missed from history, in order, exactly once", async () => {
    // A broker that drops the deliveries of offsets 3 and 4 (as pub/sub does while disconnected).
    const inner = new MemoryBroker({ history: { limit: 50 } });
    const lossy = Object.create(inner) as MemoryBroker;
    lossy.subscribe = (stream: string, handler: BrokerHandler) =>
      inner.subscribe(stream, (payload, position) => {
        if (position?.offset === 3 || position?.offset === 4) return;
        handler(payload, position);
      });
    const { core, connect } = setup(lossy);
    const c = await connect();
    c.connection.receive(sub(id("gap")));
    await flush();
    for (let i = 1; i <= 6; i++) await core.broadcast("room:gap", { n: i });
    await until(() => broadcasts(c.transport).length === 6, "six deliveries");
    assert.deepEqual(
      broadcasts(c.transport).map((m) => (m.message as { n: number }).n),
      [1, 2, 3, 4, 5, 6],
    );
    // 3 and 4 came from history (and whatever had been stored by the time it was read)
    assert.ok(core.hub.recovered >= 2);
  });
  it("a gap history cannot fill: reject_history with the restart position, then what history still has", async () => {
    // Offsets 3-5 never reach this process and history keeps only 2: 3 and 4 are gone for good.
    const inner = new MemoryBroker({ history: { limit: 2 } });
    const lossy = Object.create(inner) as MemoryBroker;
    lossy.subscribe = (stream: string, handler: BrokerHandler) =>
      inner.subscribe(stream, (payload, position) => {
        if (position !== undefined && position.offset >= 3 && position.offset <= 5) return;
        handler(payload, position);
      });
    const { core, connect } = setup(lossy);
    const c = await connect();
    c.connection.receive(sub(id("lost")));
    await flush();
    for (let i = 1; i <= 6; i++) await core.broadcast("room:lost", { n: i });
    await until(() => broadcasts(c.transport).length === 4, "four deliveries");
    const msgs = c.transport.messages.filter((m) => m.type === "reject_history" || "stream_id" in m);
    assert.deepEqual(
      msgs.map((m) => (m.type === "reject_history" ? m.streams : m.offset)),
      [1, 2, { "room:lost": { epoch: msgs[0]!.epoch as string, offset: 4, reason: "too_old" } }, 5, 6],
    );
    assert.equal(core.hub.resyncs, 1);
  });
});

describe("cable extensions: Rails' protocol is unchanged without them", () => {
  it("a v1-json connection: plain welcome, confirmation and broadcasts; history and ids ignored", async () => {
    const { core, connect, errors } = setup();
    const { transport, connection } = await connect(PROTOCOL_V1_JSON);
    connection.receive(sub(id("plain", "m1"), { streams: { "room:plain": { epoch: "x", offset: 0 } } }));
    await flush();
    await core.broadcast("room:plain", { n: 1 });
    connection.receive(perform(id("plain", "m1"), { action: "add", a: 1, b: 2 }, "m-1"));
    connection.receive(JSON.stringify({ command: "history", identifier: id("plain", "m1"), history: { streams: {} } }));
    await until(() => transport.messages.some((m) => (m.message as { presence?: unknown })?.presence), "presence");
    const msgs = transport.messages;
    assert.deepEqual(msgs[0], { type: "welcome" });
    assert.deepEqual(msgs[1], { identifier: id("plain", "m1"), type: "confirm_subscription" });
    assert.deepEqual(msgs[2], { identifier: id("plain", "m1"), message: { n: 1 } });
    assert.ok(!msgs.some((m) => m.type === "ack" || m.type === "confirm_history" || "stream_id" in m));
    // the channel asked for presence: an ordinary message, which Rails' client hands to `received`
    assert.deepEqual(msgs.at(-1), {
      identifier: id("plain", "m1"),
      message: { presence: { type: "info", total: 1, records: [{ id: "m1", info: { n: "m1" } }] } },
    });
    assert.ok(errors.some((e) => e.code === "UNKNOWN_COMMAND"));
  });
});

describe("cable extensions: acknowledgements", () => {
  it("answers the reply; a retried id runs once and gets the same reply", async () => {
    const { connect } = setup();
    const { transport, connection } = await connect();
    connection.receive(sub(id("ack")));
    await flush();
    Room.runs = 0;
    connection.receive(perform(id("ack"), { action: "add", a: 2, b: 3 }, "c1-1"));
    connection.receive(perform(id("ack"), { action: "add", a: 2, b: 3 }, "c1-1"));
    await until(() => transport.messages.filter((m) => m.type === "ack").length === 2, "two acks");
    assert.equal(Room.runs, 1);
    for (const ack of transport.messages.filter((m) => m.type === "ack")) {
      assert.deepEqual(ack, { identifier: id("ack"), type: "ack", id: "c1-1", reply: 5 });
    }
  });

  it("a duplicate while the first runs waits for it; on another connection too", async () => {
    const { connect } = setup();
    const a = await connect();
    const b = await connect();
    a.connection.receive(sub(id("dup")));
    b.connection.receive(sub(id("dup")));
    await flush();
    Room.runs = 0;
    a.connection.receive(perform(id("dup"), { action: "slow", ms: 50 }, "x-1"));
    await flush();
    b.connection.receive(perform(id("dup"), { action: "slow", ms: 50 }, "x-1"));
    await until(() => [a, b].every((c) => c.transport.messages.some((m) => m.type === "ack")), "both acknowledged");
    assert.equal(Room.runs, 1);
    assert.equal(b.transport.messages.find((m) => m.type === "ack")!.reply, "done");
  });

  it("errors: ActionError's code, HANDLER_ERROR without details, ACTION_NOT_FOUND not recorded", async () => {
    const { connect } = setup();
    const { transport, connection } = await connect();
    connection.receive(sub(id("err")));
    await flush();
    connection.receive(perform(id("err"), { action: "refuse" }, "e1"));
    connection.receive(perform(id("err"), { action: "crash" }, "e2"));
    connection.receive(perform(id("err"), { action: "nope" }, "e3"));
    connection.receive(perform(id("missing"), { action: "add" }, "e4"));
    await until(() => transport.messages.filter((m) => m.type === "ack").length === 4, "four acks");
    const acks = Object.fromEntries(transport.messages.filter((m) => m.type === "ack").map((m) => [m.id, m.error]));
    assert.deepEqual(acks.e1, { code: "NOPE", message: "not allowed" });
    assert.deepEqual(acks.e2, { code: "HANDLER_ERROR", message: "the action failed" });
    assert.equal((acks.e3 as { code: string }).code, "ACTION_NOT_FOUND");
    assert.equal((acks.e4 as { code: string }).code, "UNKNOWN_SUBSCRIPTION");
    assert.ok(!JSON.stringify(transport.messages).includes("secret internals"));
  });

  it("a malformed id is refused as a malformed command", async () => {
    const { connect, errors } = setup();
    const { transport, connection } = await connect();
    connection.receive(sub(id("bad")));
    await flush();
    connection.receive(perform(id("bad"), { action: "add", a: 1, b: 1 }, "not ok!"));
    await flush();
    assert.ok(!transport.messages.some((m) => m.type === "ack"));
    assert.equal(errors.at(-1)?.code, "MALFORMED_COMMAND");
  });
});

describe("cable extensions: presence", () => {
  it("a watcher gets the members once, then coalesced changes; leaving on unsubscribe", async () => {
    const { core, connect } = setup(new MemoryBroker(), 250);
    const watcher = await connect();
    watcher.connection.receive(sub(id("p", "w")));
    await until(() => watcher.transport.messages.some((m) => m.type === "presence"), "the snapshot");
    const snapshot = watcher.transport.messages.find((m) => m.type === "presence")!;
    assert.deepEqual(snapshot.message, { type: "info", total: 1, records: [{ id: "w", info: { n: "w" } }] });
    const others = await Promise.all(Array.from({ length: 30 }, () => connect()));
    for (const [i, o] of others.entries()) o.connection.receive(sub(id("p", `m${i}`)));
    await until(() => core.presence.flushes >= 2 && presenceTotal(watcher.transport) === 31, "31 members");
    const updates = watcher.transport.messages.filter((m) => m.type === "presence").slice(1);
    assert.ok(updates.length <= 4, `30 joins in ${updates.length} updates`);
    const joined = updates.flatMap((u) => (u.message as { joins: Array<{ id: string }> }).joins.map((j) => j.id));
    assert.deepEqual(joined.sort(), Array.from({ length: 30 }, (_, i) => `m${i}`).sort());
    // a join and a leave within one window cancel out; an unsubscribe leaves
    const flicker = await connect();
    flicker.connection.receive(sub(id("p", "flicker")));
    await flush();
    flicker.connection.receive(JSON.stringify({ command: "unsubscribe", identifier: id("p", "flicker") }));
    others[0]!.connection.receive(JSON.stringify({ command: "unsubscribe", identifier: id("p", "m0") }));
    await until(() => presenceTotal(watcher.transport) === 30, "30 members");
    const last = watcher.transport.messages.filter((m) => m.type === "presence").at(-1)!.message as {
      joins: unknown[];
      leaves: Array<{ id: string }>;
    };
    assert.deepEqual(
      last.leaves.map((l) => l.id),
      ["m0"],
    );
    assert.ok(!JSON.stringify(watcher.transport.messages).includes('"flicker"'));
  });
});

function presenceTotal(t: FakeTransport): number | undefined {
  return (t.messages.filter((m) => m.type === "presence").at(-1)?.message as { total?: number } | undefined)?.total;
}
