/**
 * Attacks on the demo's /cable (`wirecable serve`): malformed commands take the documented
 * rejection path (reported as the cable's `error`, counted in /metrics as
 * `wirecable_errors_total{kind="cable"}`, the command ignored, the connection kept: Rails logs
 * and ignores them), never 1011; floods hit the limits (1008 rate limit, 1009 size); the server's
 * memory and descriptors come back, and a healthy client in another room keeps chatting.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  cframe,
  type HealthyClient,
  HostilePeer,
  KiB,
  MiB,
  many,
  type ProcStats,
  repeat,
  startTarget,
  stopTargets,
  type Target,
} from "./harness.js";

let target: Target;
let base: ProcStats;
let healthy: HealthyClient;

before(async () => {
  target = await startTarget("serve");
  base = await target.baseline();
  healthy = await target.healthy({ room: "healthy" });
});
after(stopTargets);

const identifier = (room: string, name = "mallory") => JSON.stringify({ channel: "ChatChannel", room, name });
const command = (value: unknown) => cframe(0x1, typeof value === "string" ? value : JSON.stringify(value));

/** Cable errors counted by the server so far (its /metrics). */
async function cableErrors(): Promise<number> {
  const text = await (await fetch(`${target.httpUrl}/metrics`)).text();
  return Number(/^wirecable_errors_total\{kind="cable"\} (\d+)/m.exec(text)?.[1] ?? 0);
}

/** A welcomed /cable peer. */
async function cablePeer(): Promise<HostilePeer> {
  const peer = await HostilePeer.upgrade(target);
  assert.equal(peer.status, 101, peer.responseHead);
  await peer.until(() => peer.texts.some((t) => t.includes('"welcome"')));
  return peer;
}

/** Subscribe on `peer` and wait for the answer; returns the answer's type. */
async function subscribe(peer: HostilePeer, id: string): Promise<string> {
  const seen = peer.texts.length;
  peer.send(command({ command: "subscribe", identifier: id }));
  await peer.until(() => peer.texts.slice(seen).some((t) => t.includes("_subscription")));
  const answer = peer.texts.slice(seen).find((t) => t.includes("_subscription"))!;
  return (JSON.parse(answer) as { type: string }).type;
}

describe("attacks on /cable (serve)", { timeout: 300_000 }, () => {
  it("malformed commands are reported and ignored; the connection stays usable (never 1011)", async () => {
    const peer = await cablePeer();
    const before = await cableErrors();
    const nested = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`;
    const bad = [
      "not json",
      "{",
      "[]",
      '"a string"',
      "null",
      JSON.stringify({ command: "explode", identifier: identifier("r1") }),
      JSON.stringify({ command: { nested: true }, identifier: identifier("r1") }),
      `{"command": ${nested(5000)}}`, // 5,000 levels: JSON.parse copes, a recursive stringify would not
      `{"command": "subscribe", "identifier": ${nested(5000)}}`,
      `{"command": "message", "identifier": ${JSON.stringify(identifier("r1"))}, "data": ${JSON.stringify(nested(5000))}}`,
      JSON.stringify({ command: "subscribe", identifier: "not json" }),
      JSON.stringify({ command: "subscribe", identifier: "[1,2]" }),
      JSON.stringify({ command: "subscribe", identifier: JSON.stringify({ channel: 42 }) }),
      JSON.stringify({ command: "subscribe", identifier: JSON.stringify({ channel: "NoSuchChannel" }) }),
      JSON.stringify({ command: "message", identifier: identifier("r1"), data: "not json" }),
      JSON.stringify({ command: "message", identifier: identifier("never-subscribed"), data: "{}" }),
      JSON.stringify({ command: "unsubscribe", identifier: identifier("never-subscribed") }),
    ];
    for (const text of bad) peer.send(command(text));
    // Every one of them is counted (NoSuchChannel also gets reject_subscription) ...
    const deadline = Date.now() + 10_000;
    while (peer.closeCode === undefined && (await cableErrors()) < before + bad.length && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(peer.closeCode, undefined, `closed with ${peer.closeCode} ${peer.closeReason}`);
    assert.equal((await cableErrors()) - before, bad.length);
    // ... and the connection still works.
    assert.equal(await subscribe(peer, identifier("r1")), "confirm_subscription");
    peer.destroy();
    await target.settle(base);
    (await healthy.report(3)).assertHealthy();
  });

  it("a subscribe flood: the WebSocket rate limit closes it with 1008 (60 messages per 10 s)", async () => {
    const peer = await cablePeer();
    const flood: Buffer[] = [];
    for (let i = 0; i < 1000; i++) flood.push(command({ command: "subscribe", identifier: identifier(`flood${i}`) }));
    peer.send(Buffer.concat(flood));
    assert.equal(await peer.closed(), 1008);
    assert.match(peer.closeReason, /rate limit/);
    peer.destroy();
    await target.settle(base);
    (await healthy.report(3)).assertHealthy();
  });

  it("a perform payload over 64 KiB: 1009 before it is buffered; under it, a chat message over 2,000 characters is refused", async () => {
    const huge = await cablePeer();
    huge.send(
      command({
        command: "message",
        identifier: identifier("r2"),
        data: JSON.stringify({ action: "speak", id: "x", text: "a".repeat(100 * KiB) }),
      }),
    );
    assert.equal(await huge.closed(), 1009);
    huge.destroy();
    const long = await cablePeer();
    assert.equal(await subscribe(long, identifier("r2")), "confirm_subscription");
    const text = "a".repeat(60 * KiB);
    long.send(
      command({
        command: "message",
        identifier: identifier("r2"),
        data: JSON.stringify({ action: "speak", id: "long1", text }),
      }),
    );
    await long.until(() => long.texts.some((t) => t.includes('"refused"')));
    assert.match(long.texts.find((t) => t.includes('"refused"'))!, /longer than 2000/);
    assert.equal(long.closeCode, undefined);
    long.destroy();
    await target.settle(base);
    (await healthy.report(3)).assertHealthy();
  });

  it("a ping flood from a peer that never reads: pongs do not pile up", async () => {
    const retainedBase = await target.retained();
    const peer = await HostilePeer.upgrade(target, { noRead: true, keepData: false });
    const batch = repeat(cframe(0x9, Buffer.alloc(125, 0x70)), 1000);
    for (let i = 0; i < 500; i++) assert.ok(await peer.write(batch), "the server kept reading");
    await peer.until(() => peer.socket.writableLength === 0);
    // Retained after a full GC (heap + Buffers; 500,000 queued pongs would be >= 63 MB), and RSS
    // as a coarse check (before holdPongs: +61.9 MB): see echo-frames' ping flood.
    const retained = (await target.retained()) - retainedBase;
    const held = target.stats();
    const figures = `retained +${(retained / MiB).toFixed(1)} MB, RSS +${((held.rss - base.rss) / MiB).toFixed(1)} MB while connected`;
    console.log(figures);
    assert.ok(retained < 16 * MiB, figures);
    assert.ok(held.rss - base.rss < 48 * MiB, figures);
    peer.destroy();
    await target.settle(base);
    (await healthy.report(3)).assertHealthy();
  });

  it("cross-site WebSocket hijacking: a foreign Origin gets 403 on /cable, 200 times, nothing kept", async () => {
    const own = new URL(target.httpUrl!).origin;
    const ok = await HostilePeer.upgrade(target, { headers: { Origin: own } });
    assert.equal(ok.status, 101, `the server's own origin ${own}: ${ok.responseHead}`);
    ok.destroy();
    for (const origin of ["http://evil.example", "null", `${own}.evil.example`, own.replace("http:", "https:")]) {
      const peer = await HostilePeer.upgrade(target, { headers: { Origin: origin } });
      assert.equal(peer.status, 403, `${origin}: ${peer.responseHead}`);
      peer.destroy();
    }
    const refused = await many(
      200,
      () => HostilePeer.upgrade(target, { headers: { Origin: "http://evil.example" } }),
      20,
    );
    for (const peer of refused) {
      assert.equal(peer.status, 403);
      peer.destroy();
    }
    await target.settle(base);
    (await healthy.report(3)).assertHealthy();
  });

  it("binary messages are ignored (the protocol is JSON text); the connection stays", async () => {
    const peer = await cablePeer();
    peer.send(cframe(0x2, Buffer.from(JSON.stringify({ command: "subscribe", identifier: identifier("r3") }))));
    assert.equal(await subscribe(peer, identifier("r3")), "confirm_subscription");
    assert.equal(peer.texts.filter((t) => t.includes("_subscription")).length, 1);
    peer.destroy();
  });
});
