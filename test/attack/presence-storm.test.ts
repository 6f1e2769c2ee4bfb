/**
 * A presence storm on the demo (`wirecable serve`, issue 25 finding 2): 1,000 clients join one
 * room with presence, then all leave. Before presence was incremental, 996 joins cost 53 s of
 * server CPU and every join sent the whole member list to every member (an observer got 2 MiB).
 * Now: server CPU per join is bounded, an observer gets the members once and then coalesced
 * changes (bytes bounded per room, not joins x members), a client in another room keeps its
 * round trips under 100 ms, and memory comes back near its baseline after.
 */
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import {
  cframe,
  type HealthyClient,
  HostilePeer,
  MiB,
  many,
  type ProcStats,
  startTarget,
  stopTargets,
  type Target,
} from "./harness.js";

const JOINERS = 1000;

let target: Target;
let base: ProcStats;
let healthy: HealthyClient;

before(async () => {
  target = await startTarget("serve");
  base = await target.baseline();
  healthy = await target.healthy({ room: "elsewhere" });
});
after(stopTargets);

const identifier = (i: number | string) =>
  JSON.stringify({ channel: "ChatChannel", room: "storm", name: `n${i}`, member: `m${i}` });
const subscribe = (i: number | string) =>
  cframe(0x1, JSON.stringify({ command: "subscribe", identifier: identifier(i) }));

/** The last presence total an observer saw (extension `presence` messages). */
function total(observer: HostilePeer): number | undefined {
  for (let i = observer.texts.length - 1; i >= 0; i--) {
    const m = JSON.parse(observer.texts[i]!) as { type?: string; message?: { total?: number } };
    if (m.type === "presence") return m.message?.total;
  }
  return undefined;
}

it(`${JOINERS} clients join one room with presence, then leave: bounded CPU, bytes and memory`, async () => {
  const observer = await HostilePeer.upgrade(target, { protocol: "actioncable-v1-ext-json" });
  observer.send(subscribe("observer"));
  await observer.until(() => total(observer) === 1);
  const before = await target.stats();

  // Half the joiners speak the extensions (they get presence messages), half are plain Rails
  // clients (presence as ordinary messages); none of them keeps what it receives.
  const peers = await many(
    JOINERS,
    async (i) => {
      const peer = await HostilePeer.upgrade(target, {
        protocol: i % 2 === 0 ? "actioncable-v1-ext-json" : "actioncable-v1-json",
        keepData: false,
      });
      peer.send(subscribe(i));
      return peer;
    },
    64,
  );
  await observer.until(() => total(observer) === JOINERS + 1, 120_000);
  const joined = await target.stats();
  const cpuPerJoin = ((joined.cpu - before.cpu) / JOINERS) * 1000;

  const presenceFrames = observer.texts.filter((t) => t.includes('"type":"presence"'));
  const presenceBytes = presenceFrames.reduce((sum, t) => sum + Buffer.byteLength(t), 0);
  // ~70 bytes per member joining, in at most one frame per 100 ms: nowhere near the whole list per join.
  assert.ok(presenceBytes < 256 * 1024, `the observer got ${presenceBytes} bytes of presence`);
  assert.ok(presenceFrames.length < JOINERS / 4, `${presenceFrames.length} presence frames for ${JOINERS} joins`);
  // Every join is a subscription (a channel, two streams, a presence join, a backlog read) and
  // 1,000 connections; 53 ms of CPU each before presence was incremental.
  assert.ok(cpuPerJoin < 5, `${cpuPerJoin.toFixed(2)} ms of server CPU per join`);
  // The joiners got something each, bounded: their own snapshot and the coalesced changes.
  const received = peers.reduce((sum, p) => sum + p.dataBytes, 0) / JOINERS;
  assert.ok(received < 512 * 1024, `${Math.round(received)} bytes per joiner`);
  (await healthy.report()).assertHealthy();

  for (const peer of peers) peer.destroy();
  await observer.until(() => total(observer) === 1, 60_000);
  (await healthy.report()).assertHealthy();
  observer.destroy();
  await target.settle(base, { rss: 64 * MiB });
  console.log(
    `presence storm: ${cpuPerJoin.toFixed(2)} ms CPU per join, observer ${presenceFrames.length} frames / ${presenceBytes} B, ${Math.round(received)} B per joiner`,
  );
});
