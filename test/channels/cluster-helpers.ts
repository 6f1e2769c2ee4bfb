/** Spawning cluster-node.ts children (a cable server or a socketless broadcaster) and talking to them. */
import type { ChildProcess } from "node:child_process";
import { after, before } from "node:test";
import { fileURLToPath } from "node:url";
import { forkTied } from "../helpers/tied-process.js";
import { sleep, UNIT } from "../helpers/time.js";
import { type CableTestClient, cableClient } from "./cable-client.js";

const script = fileURLToPath(new URL("./cluster-node.ts", import.meta.url));

export interface Child {
  proc: ChildProcess;
  port: number;
  messages: Array<Record<string, unknown>>;
  broadcast(stream: string, data: unknown): Promise<boolean>;
  /** The same, with Date.now() before and after the publish in the child. */
  broadcastTimed(stream: string, data: unknown): Promise<{ ok: boolean; start: number; end: number }>;
  waitFor(type: string, timeoutMs?: number): Promise<void>;
}

let nextId = 0;
/** Children spawned and not yet exited: stopped after the file's tests, whatever failed. */
const live = new Set<Child>();
after(() => Promise.all([...live].map(stopChild)));

/**
 * How long a child may take to report ready: it compiles the library through tsx (cold on a
 * fresh clone) while the suite's other files run beside it. Waiting for the event costs nothing
 * when it comes early.
 */
const READY_TIMEOUT = 600 * UNIT;

export async function spawnNode(
  broker: string,
  url: string,
  mode: "server" | "broadcaster",
  env: Record<string, string> = {},
): Promise<Child> {
  const proc = forkTied(script, [], {
    execArgv: ["--import", "tsx"],
    env: { ...process.env, BROKER: broker, BROKER_URL: url, PREFIX: "cluster-test", MODE: mode, ...env },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const messages: Array<Record<string, unknown>> = [];
  proc.on("message", (m) => messages.push(m as Record<string, unknown>));
  proc.once("exit", () => live.delete(child));
  const child: Child = {
    proc,
    port: 0,
    messages,
    async waitFor(type, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (!messages.some((m) => m.type === type)) {
        if (proc.exitCode !== null || proc.signalCode !== null) {
          throw new Error(`child: no ${type}: it exited (${proc.exitCode ?? proc.signalCode})`);
        }
        if (Date.now() > deadline) throw new Error(`child: no ${type} within ${timeoutMs} ms`);
        await sleep(20);
      }
    },
    async broadcast(stream, data) {
      return (await child.broadcastTimed(stream, data)).ok;
    },
    async broadcastTimed(stream, data) {
      const id = ++nextId;
      if (!proc.connected) throw new Error("child is gone");
      proc.send({ type: "broadcast", id, stream, data }, () => {});
      const deadline = Date.now() + 10_000;
      for (;;) {
        const at = messages.findIndex((m) => m.type === "broadcasted" && m.id === id);
        if (at >= 0) {
          const [reply] = messages.splice(at, 1) as [{ ok: boolean; start: number; end: number }];
          return { ok: reply.ok === true, start: reply.start, end: reply.end };
        }
        if (Date.now() > deadline) throw new Error("child did not answer");
        await sleep(2);
      }
    },
  };
  live.add(child);
  try {
    await child.waitFor("ready", READY_TIMEOUT);
  } catch (err) {
    await stopChild(child); // not left to load the machine through the file's other tests
    throw err;
  }
  child.port = messages.find((m) => m.type === "ready")?.port as number;
  return child;
}

/** Ask a child to exit; kill it if it does not within 3 s. */
export async function stopChild(child: Child): Promise<void> {
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) return;
  const exited = new Promise((r) => child.proc.once("exit", r));
  // A child whose IPC channel closed (it is exiting) cannot be asked; a send's error goes to the callback.
  if (child.proc.connected) child.proc.send({ type: "exit" }, () => {});
  else child.proc.kill("SIGKILL");
  const timer = setTimeout(() => child.proc.kill("SIGKILL"), 3000);
  await exited;
  clearTimeout(timer);
}

/** The text of a broadcast message, if `m` is one. */
export const textOf = (m: Record<string, unknown>): string | undefined =>
  (m.message as { text?: string } | undefined)?.text;

/** The identifier every cluster test subscribes to. */
export const chatRoomId = JSON.stringify({ channel: "ChatChannel", room: "1" });

/** A broker service (Redis, PostgreSQL) started for the suite. */
export interface BrokerService {
  readonly url: string;
  stop(): Promise<void>;
}

export interface ClusterFixture<S extends BrokerService> {
  /** Set in `before`. */
  service: S;
  children: Child[];
  clients: CableTestClient[];
}

/**
 * Registers the suite's `before` (start the service) and `after` (close the clients, stop the
 * children, stop the service); call it inside `describe`.
 */
export function useClusterFixture<S extends BrokerService>(start: () => Promise<S>): ClusterFixture<S> {
  const fixture = { children: [], clients: [] } as unknown as ClusterFixture<S>;
  before(async () => {
    fixture.service = await start();
  });
  after(async () => {
    for (const c of fixture.clients) c.close();
    await Promise.all(fixture.children.map(stopChild));
    await fixture.service?.stop();
  });
  return fixture;
}

/** Two cable servers and a socketless broadcaster over `url`. */
export function spawnCluster(broker: string, url: string): Promise<[Child, Child, Child]> {
  return spawnAll([
    () => spawnNode(broker, url, "server"),
    () => spawnNode(broker, url, "server"),
    () => spawnNode(broker, url, "broadcaster"),
  ]);
}

/** Spawns them all; if one fails, the others are stopped before the first error is thrown. */
export async function spawnAll<T extends Child[]>(spawns: { [K in keyof T]: () => Promise<T[K]> }): Promise<T> {
  const settled = await Promise.allSettled(spawns.map((spawn) => spawn()));
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
  if (failed === undefined) return settled.map((s) => (s as PromiseFulfilledResult<Child>).value) as T;
  await Promise.all(settled.map((s) => (s.status === "fulfilled" ? stopChild(s.value) : undefined)));
  throw failed.reason;
}

/** A client per entry of `servers`, each subscribed to `id`, added to `clients`. */
export async function subscribeClients(servers: Child[], id: string, clients: CableTestClient[]): Promise<void> {
  for (const server of servers) {
    const client = await cableClient(`ws://127.0.0.1:${server.port}/cable`);
    clients.push(client);
    await client.subscribe(id);
  }
}

/** Broadcasts from `from` until the broker accepts it (bounded: 10 s), e.g. after a restart. */
export async function broadcastUntilAccepted(from: Child, stream: string, data: unknown): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await from.broadcast(stream, data))) {
    if (Date.now() > deadline) throw new Error("worker never published again");
    await sleep(100);
  }
}
