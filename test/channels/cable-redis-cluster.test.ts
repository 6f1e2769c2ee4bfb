/**
 * Several server processes over one real Redis: a broadcast from any process, and from a
 * process with no sockets, reaches the subscribers of all; Redis restarted mid-test, delivery
 * resumes without restarting the app processes.
 */
import assert from "node:assert/strict";
import { type ChildProcess, fork } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { type RedisProcess, startRedis } from "../helpers/redis.js";
import { type CableTestClient, cableClient } from "./cable-client.js";

const script = fileURLToPath(new URL("./cluster-node.ts", import.meta.url));

interface Child {
  proc: ChildProcess;
  port: number;
  messages: Array<Record<string, unknown>>;
  broadcast(stream: string, data: unknown): Promise<boolean>;
  waitFor(type: string, timeoutMs?: number): Promise<void>;
}

let nextId = 0;
async function spawnNode(redisUrl: string, mode: "server" | "broadcaster"): Promise<Child> {
  const proc = fork(script, [], {
    execArgv: ["--import", "tsx"],
    env: { ...process.env, REDIS_URL: redisUrl, PREFIX: "cluster-test", MODE: mode },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const messages: Array<Record<string, unknown>> = [];
  proc.on("message", (m) => messages.push(m as Record<string, unknown>));
  const child: Child = {
    proc,
    port: 0,
    messages,
    async waitFor(type, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (!messages.some((m) => m.type === type)) {
        if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`child: no ${type}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async broadcast(stream, data) {
      const id = ++nextId;
      proc.send({ type: "broadcast", id, stream, data });
      const deadline = Date.now() + 5000;
      for (;;) {
        const reply = messages.find((m) => m.type === "broadcasted" && m.id === id);
        if (reply) return reply.ok === true;
        if (Date.now() > deadline) throw new Error("child did not answer");
        await new Promise((r) => setTimeout(r, 10));
      }
    },
  };
  await child.waitFor("ready", 20_000);
  child.port = messages.find((m) => m.type === "ready")?.port as number;
  return child;
}

describe("cable cluster over Redis (child processes)", () => {
  let redis: RedisProcess;
  const children: Child[] = [];
  const clients: CableTestClient[] = [];
  const id = JSON.stringify({ channel: "ChatChannel", room: "1" });

  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    for (const c of clients) c.close();
    for (const child of children) {
      if (child.proc.exitCode === null) {
        child.proc.send({ type: "exit" });
        const exited = new Promise((r) => child.proc.once("exit", r));
        const timer = setTimeout(() => child.proc.kill("SIGKILL"), 3000);
        await exited;
        clearTimeout(timer);
      }
    }
    await redis?.stop();
  });

  it("a broadcast from any process, or from one with no sockets, reaches every subscriber", async () => {
    const [a, b, worker] = await Promise.all([
      spawnNode(redis.url, "server"),
      spawnNode(redis.url, "server"),
      spawnNode(redis.url, "broadcaster"),
    ]);
    children.push(a, b, worker);
    for (const server of [a, a, b, b]) {
      const client = await cableClient(`ws://127.0.0.1:${server.port}/cable`);
      clients.push(client);
      await client.subscribe(id);
    }
    const expectAll = async (text: string) => {
      for (const c of clients) await c.waitFor((m) => (m.message as { text?: string } | undefined)?.text === text);
    };
    assert.equal(await a.broadcast("chat:1", { text: "from A" }), true);
    await expectAll("from A");
    assert.equal(await b.broadcast("chat:1", { text: "from B" }), true);
    await expectAll("from B");
    assert.equal(await worker.broadcast("chat:1", { text: "from a worker" }), true);
    await expectAll("from a worker");
    clients[3].perform(id, { action: "speak", text: "a client on B speaks" });
    await expectAll("a client on B speaks");
    // each client got each message exactly once (local delivery + dropped echo)
    for (const c of clients) assert.equal(c.messages.filter((m) => m.message !== undefined).length, 4);
  });

  it("Redis restarted mid-test: delivery resumes without restarting the app", async () => {
    const [a, b, worker] = children;
    await redis.pause();
    assert.equal(await worker.broadcast("chat:1", { text: "while down" }), false, "reported as lost");
    await worker.waitFor("lost");
    await redis.start();
    await Promise.all([a.waitFor("reconnected"), b.waitFor("reconnected")]);
    // the publisher connection may still be reconnecting: retry (bounded)
    const deadline = Date.now() + 10_000;
    while (!(await worker.broadcast("chat:1", { text: "after restart" }))) {
      if (Date.now() > deadline) throw new Error("worker never published again");
      await new Promise((r) => setTimeout(r, 100));
    }
    for (const c of clients)
      await c.waitFor((m) => (m.message as { text?: string } | undefined)?.text === "after restart");
    assert.equal(await a.broadcast("chat:1", { text: "A after restart" }), true);
    for (const c of clients) {
      await c.waitFor((m) => (m.message as { text?: string } | undefined)?.text === "A after restart");
      assert.ok(!c.messages.some((m) => (m.message as { text?: string } | undefined)?.text === "while down"));
    }
  });
});
