// Presence across processes when one is killed: two cable server processes share Redis (then
// PostgreSQL); a member joins through the second, an observer on the first sees it; the second
// is SIGKILLed (no leave, no goodbye); the observer sees the member leave within the broker's
// presence timeout (ttl + heartbeat), and never before the process died.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import WebSocket from "ws";
import { startPostgres } from "../helpers/postgres.js";
import { startRedis } from "../helpers/redis.js";
import { type Child, spawnAll, spawnNode, stopChild } from "./cluster-helpers.js";

const TTL = 2000; // presence ttl of the children (heartbeat: a quarter of it)
const TIMEOUT = TTL + TTL / 4;

interface Peer {
  ws: WebSocket;
  messages: Array<Record<string, unknown>>;
  until(check: (m: Record<string, unknown>) => boolean, ms?: number): Promise<Record<string, unknown>>;
}

async function peer(port: number, identifier: string): Promise<Peer> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/cable`, ["actioncable-v1-ext-json"]);
  const messages: Array<Record<string, unknown>> = [];
  ws.on("message", (data) => messages.push(JSON.parse(String(data))));
  ws.on("error", () => {});
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  ws.send(JSON.stringify({ command: "subscribe", identifier }));
  const p: Peer = {
    ws,
    messages,
    async until(check, ms = 10_000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const found = messages.find(check);
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`timed out; got ${JSON.stringify(messages).slice(-400)}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
  };
  await p.until((m) => m.type === "confirm_subscription");
  return p;
}

const room = (member: string) => JSON.stringify({ channel: "ChatChannel", room: "kill", member });
const change = (m: Record<string, unknown>) =>
  m.type === "presence"
    ? (m.message as {
        type: string;
        records?: Array<{ id: string }>;
        joins?: Array<{ id: string }>;
        leaves?: Array<{ id: string }>;
      })
    : undefined;
/** The member shows in the watcher's first snapshot (it joined before that was taken) or joins later. */
const present = (m: Record<string, unknown>, id: string) =>
  [...(change(m)?.records ?? []), ...(change(m)?.joins ?? [])].some((r) => r.id === id);

async function scenario(kind: "redis" | "postgres", url: string): Promise<number> {
  const children: Child[] = [];
  const peers: Peer[] = [];
  try {
    const env = { PRESENCE_TTL: String(TTL) };
    const [one, two] = await spawnAll([
      () => spawnNode(kind, url, "server", env),
      () => spawnNode(kind, url, "server", env),
    ]);
    children.push(one!, two!);
    const observer = await peer(one!.port, room("observer"));
    peers.push(observer);
    const doomed = await peer(two!.port, room("doomed"));
    peers.push(doomed);
    await observer.until((m) => present(m, "doomed"));
    const killed = Date.now();
    two!.proc.kill("SIGKILL");
    await new Promise((resolve) => two!.proc.once("exit", resolve));
    await observer.until((m) => change(m)?.leaves?.some((l) => l.id === "doomed") === true, TIMEOUT + 5000);
    const took = Date.now() - killed;
    assert.ok(
      took <= TIMEOUT + 1000,
      `${kind}: the killed process's member left after ${took} ms (timeout ${TIMEOUT})`,
    );
    // The observer's own membership is untouched.
    const last = [...observer.messages].reverse().find((m) => m.type === "presence")!;
    assert.equal((last.message as { total: number }).total, 1);
    return took;
  } finally {
    for (const p of peers) p.ws.terminate();
    await Promise.all(children.map(stopChild));
  }
}

describe("presence after a process is SIGKILLed", { timeout: 120_000 }, () => {
  const stops: Array<() => Promise<void>> = [];
  after(async () => {
    for (const stop of stops) await stop();
  });

  it("Redis: its members leave within ttl + heartbeat", async () => {
    const redis = await startRedis();
    stops.push(() => redis.stop());
    const took = await scenario("redis", redis.url);
    console.log(`redis: gone ${took} ms after SIGKILL (ttl ${TTL}, heartbeat ${TTL / 4})`);
  });

  it("PostgreSQL: its members leave within ttl + heartbeat", async () => {
    const postgres = await startPostgres();
    stops.push(() => postgres.stop());
    const took = await scenario("postgres", postgres.url);
    console.log(`postgres: gone ${took} ms after SIGKILL (ttl ${TTL}, heartbeat ${TTL / 4})`);
  });
});
