/**
 * Test helper: a throwaway Redis Cluster (Debian's redis-server 7 in cluster mode) on loopback:
 * `primaries` nodes (default 3) plus `replicas` per primary (default 0), each on a free port with
 * its cluster bus on a second free port (`--cluster-port`), in temp dirs, no persistence, made
 * into one cluster by `redis-cli --cluster create`. Resolves once every node reports
 * `cluster_state:ok` and every replica has synced with its primary.
 *
 * Faults for the broker tests: `kill(node)` SIGKILLs a node (its replica, if any, is promoted after
 * `nodeTimeoutMs`; `waitHealthy()` waits for that), `start(node)` brings it back with its
 * nodes.conf (it rejoins, as a replica if it was failed over), `migrateSlot(slot, to)` moves one
 * hash slot (and its keys) to another primary the way `redis-cli --cluster reshard` does.
 * Always call `stop()` in `after`/`finally`: it kills every node and removes the dirs.
 */
import { type ChildProcess, execFile } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort, spawnAndWait, stopProcess, tempDir } from "./service-process.js";

const run = promisify(execFile);

export interface ClusterNodeProcess {
  readonly port: number;
  readonly busPort: number;
  /** The node's cluster id (from CLUSTER MYID, read once the cluster is made). */
  id: string;
  readonly running: boolean;
}

export interface RedisClusterProcess {
  readonly nodes: ClusterNodeProcess[];
  /** `redis+cluster://127.0.0.1:P1,127.0.0.1:P2,…` (every node as a seed). */
  readonly url: string;
  readonly seeds: Array<{ host: string; port: number }>;
  /** Sends `args` to a node with redis-cli; the reply as text. */
  command(node: ClusterNodeProcess, ...args: string[]): Promise<string>;
  /** The node currently serving `slot` as primary (asked of a running node). */
  primaryOf(slot: number): Promise<ClusterNodeProcess>;
  kill(node: ClusterNodeProcess): Promise<void>;
  start(node: ClusterNodeProcess): Promise<void>;
  /** Until every running node says cluster_state:ok and agrees on who serves every slot (bounded). */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /** Moves `slot` (and its keys) to primary `to`. */
  migrateSlot(slot: number, to: ClusterNodeProcess): Promise<void>;
  stop(): Promise<void>;
}

export interface RedisClusterOptions {
  primaries?: number;
  /** Replicas per primary (default 0). */
  replicas?: number;
  /** cluster-node-timeout: how long a primary may be unreachable before failover (default 1000 ms). */
  nodeTimeoutMs?: number;
}

interface NodeState extends ClusterNodeProcess {
  dir: string;
  child: ChildProcess | undefined;
}

export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisClusterProcess> {
  const primaries = options.primaries ?? 3;
  const replicas = options.replicas ?? 0;
  const nodeTimeout = options.nodeTimeoutMs ?? 1000;
  const root = tempDir("wirecable-redis-cluster-");
  const nodes: NodeState[] = [];

  async function launch(node: NodeState): Promise<void> {
    await spawnAndWait({
      name: `redis-server (cluster node ${node.port})`,
      cmd: "redis-server",
      args: [
        "--port",
        String(node.port),
        "--cluster-port",
        String(node.busPort),
        "--bind",
        "127.0.0.1",
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        join(node.dir, "nodes.conf"),
        "--cluster-node-timeout",
        String(nodeTimeout),
        "--dir",
        node.dir,
        "--save",
        "",
        "--appendonly",
        "no",
        // A replica syncs at once (Redis waits 5 s by default); one that never synced cannot fail over.
        "--repl-diskless-sync-delay",
        "0",
        "--loglevel",
        "warning",
      ],
      port: node.port,
      timeoutMs: 5000,
      pollMs: 20,
      onSpawn: (proc) => {
        node.child = proc;
      },
    });
  }

  async function halt(node: NodeState): Promise<void> {
    const proc = node.child;
    if (proc === undefined) return;
    node.child = undefined;
    await stopProcess(proc, "SIGKILL");
  }

  async function command(node: ClusterNodeProcess, ...args: string[]): Promise<string> {
    const { stdout } = await run("redis-cli", ["-h", "127.0.0.1", "-p", String(node.port), ...args], {
      timeout: 5000,
    });
    return stdout.trim();
  }

  /** CLUSTER SHARDS is Redis 7; CLUSTER NODES is stable and enough: id, flags, slots. */
  async function view(node: ClusterNodeProcess): Promise<Map<number, string>> {
    const owners = new Map<number, string>();
    for (const line of (await command(node, "cluster", "nodes")).split("\n")) {
      const [id, , flags, , , , , , ...ranges] = line.split(" ");
      if (id === undefined || !flags?.includes("master") || flags.includes("fail")) continue;
      for (const range of ranges) {
        if (range.startsWith("[")) continue; // a slot being migrated
        const [from, to = from] = range.split("-").map(Number);
        for (let s = from!; s <= to!; s++) owners.set(s, id);
      }
    }
    return owners;
  }

  /** Until every replica's link to its primary is up (its initial sync done), bounded. */
  async function waitReplicasSynced(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const infos = await Promise.all(nodes.map((n) => command(n, "info", "replication")));
      if (infos.every((i) => i.includes("role:master") || i.includes("master_link_status:up"))) return;
      if (Date.now() > deadline) throw new Error(`redis cluster replicas not in sync within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  const cluster: RedisClusterProcess = {
    nodes,
    get url() {
      return `redis+cluster://${nodes.map((n) => `127.0.0.1:${n.port}`).join(",")}`;
    },
    get seeds() {
      return nodes.map((n) => ({ host: "127.0.0.1", port: n.port }));
    },
    command,
    async primaryOf(slot) {
      const asked = nodes.find((n) => n.running);
      if (asked === undefined) throw new Error("no node running");
      const id = (await view(asked)).get(slot);
      const node = nodes.find((n) => n.id === id);
      if (node === undefined) throw new Error(`no primary serves slot ${slot}`);
      return node;
    },
    kill: (node) => halt(node as NodeState),
    start: (node) => launch(node as NodeState),
    async waitHealthy(timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      let last = "";
      while (Date.now() < deadline) {
        try {
          const running = nodes.filter((n) => n.running);
          const infos = await Promise.all(running.map((n) => command(n, "cluster", "info")));
          if (infos.every((i) => i.includes("cluster_state:ok"))) {
            const views = await Promise.all(running.map(view));
            const [first] = views as [Map<number, string>];
            const agree = (v: Map<number, string>) => [...first].every(([slot, id]) => v.get(slot) === id);
            if (first.size === 16384 && views.every(agree)) return;
            last = `nodes disagree on slot owners: ${running.map((n, i) => `${n.port}:${views[i]!.size}`).join(" ")}`;
          } else last = infos.find((i) => !i.includes("cluster_state:ok"))?.split("\n")[0] ?? "";
        } catch (err) {
          last = (err as Error).message;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`redis cluster not healthy within ${timeoutMs} ms: ${last}`);
    },
    async migrateSlot(slot, to) {
      const from = await cluster.primaryOf(slot);
      if (from === to) return;
      await command(to, "cluster", "setslot", String(slot), "importing", from.id);
      await command(from, "cluster", "setslot", String(slot), "migrating", to.id);
      for (;;) {
        const keys = (await command(from, "cluster", "getkeysinslot", String(slot), "100")).split("\n").filter(Boolean);
        if (keys.length === 0) break;
        await command(from, "migrate", "127.0.0.1", String(to.port), "", "0", "5000", "keys", ...keys);
      }
      // As redis-cli does: the new owner first, then the old one, then everyone else.
      const order = [to, from, ...nodes.filter((n) => n !== to && n !== from && n.running)];
      for (const n of order) await command(n, "cluster", "setslot", String(slot), "node", to.id);
      await cluster.waitHealthy();
    },
    async stop() {
      await Promise.all(nodes.map(halt));
      rmSync(root, { recursive: true, force: true });
    },
  };

  try {
    for (let i = 0; i < primaries * (1 + replicas); i++) {
      const dir = join(root, String(i));
      mkdirSync(dir);
      // The ports are free when probed but may be taken before redis binds them: retry a few times.
      for (let attempt = 0; ; attempt++) {
        const node: NodeState = {
          port: await freePort(),
          busPort: await freePort(),
          id: "",
          dir,
          child: undefined,
          get running() {
            return this.child !== undefined;
          },
        };
        try {
          await launch(node);
          nodes.push(node);
          break;
        } catch (err) {
          await halt(node);
          if (attempt >= 2) throw err;
        }
      }
    }
    await run(
      "redis-cli",
      [
        "--cluster",
        "create",
        ...nodes.map((n) => `127.0.0.1:${n.port}`),
        "--cluster-replicas",
        String(replicas),
        "--cluster-yes",
      ],
      { timeout: 20_000 },
    );
    for (const n of nodes) n.id = await command(n, "cluster", "myid");
    await cluster.waitHealthy();
    await waitReplicasSynced();
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}
