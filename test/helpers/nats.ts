/**
 * Test helper: a throwaway nats-server (Debian's, installed by scripts/setup-test-env.sh) with
 * JetStream on, on a free loopback port, its store in a temp dir (startNatsCluster: several nodes
 * joined by routes). `pause()` SIGKILLs it and
 * `start()` brings it back on the same port with the same store (to test reconnection and what
 * JetStream kept); `stop()` kills it and removes the dir. Always call `stop()` in `after`/`finally`.
 */
import type { ChildProcess } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { freePort, spawnAndWait, stopProcess, tempDir } from "./service-process.js";

export interface NatsProcess {
  readonly port: number;
  readonly url: string;
  readonly pid: number | undefined;
  pause(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Debian installs it in /usr/sbin, which is not on every user's PATH. */
const NATS_SERVER = existsSync("/usr/sbin/nats-server") ? "/usr/sbin/nats-server" : "nats-server";

export async function startNats(options: { jetstream?: boolean } = {}): Promise<NatsProcess> {
  const dir = tempDir("wirecable-nats-");
  let child: ChildProcess | undefined;
  let port = 0;

  async function launch(): Promise<void> {
    await spawnAndWait({
      name: "nats-server",
      cmd: NATS_SERVER,
      args: ["-a", "127.0.0.1", "-p", String(port), ...(options.jetstream === false ? [] : ["-js", "-sd", dir])],
      port,
      timeoutMs: 10_000,
      pollMs: 20,
      stderrTail: 2000,
      onSpawn: (proc) => {
        child = proc;
      },
    });
  }

  async function halt(): Promise<void> {
    if (child === undefined) return;
    const proc = child;
    child = undefined;
    await stopProcess(proc, "SIGKILL");
  }

  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    try {
      await launch();
      break;
    } catch (err) {
      await halt();
      if (attempt >= 2) {
        rmSync(dir, { recursive: true, force: true });
        throw err;
      }
    }
  }

  return {
    port,
    url: `nats://127.0.0.1:${port}`,
    get pid() {
      return child?.pid;
    },
    pause: halt,
    start: launch,
    async stop() {
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface NatsClusterProcess {
  /** One URL per node: `nats://127.0.0.1:PORT`. */
  readonly urls: string[];
  /** SIGKILLs node `i`. */
  kill(i: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * `size` nats-servers (core NATS, no JetStream) joined by routes into one cluster on loopback.
 * Clients connected to one node learn the others from the server (INFO `connect_urls`) and fail
 * over to them. Routes form asynchronously: wait for a message to cross nodes before relying on it.
 */
export async function startNatsCluster(size = 3): Promise<NatsClusterProcess> {
  const nodes: Array<{ port: number; routePort: number; child: ChildProcess | undefined }> = [];
  for (let i = 0; i < size; i++) nodes.push({ port: await freePort(), routePort: await freePort(), child: undefined });
  const halt = async (node: (typeof nodes)[number]) => {
    const proc = node.child;
    node.child = undefined;
    if (proc !== undefined) await stopProcess(proc, "SIGKILL");
  };
  try {
    await Promise.all(
      nodes.map((node, i) =>
        spawnAndWait({
          name: `nats-server (cluster node ${i})`,
          cmd: NATS_SERVER,
          args: [
            "-a",
            "127.0.0.1",
            "-p",
            String(node.port),
            "-n",
            `wirecable-test-${i}`,
            "--cluster_name",
            "wirecable-test",
            "--cluster",
            `nats://127.0.0.1:${node.routePort}`,
            "--routes",
            nodes
              .filter((other) => other !== node)
              .map((other) => `nats://127.0.0.1:${other.routePort}`)
              .join(","),
          ],
          port: node.port,
          timeoutMs: 10_000,
          pollMs: 20,
          stderrTail: 2000,
          onSpawn: (proc) => {
            node.child = proc;
          },
        }),
      ),
    );
  } catch (err) {
    await Promise.all(nodes.map(halt));
    throw err;
  }
  return {
    urls: nodes.map((n) => `nats://127.0.0.1:${n.port}`),
    kill: (i) => halt(nodes[i]!),
    stop: async () => {
      await Promise.all(nodes.map(halt));
    },
  };
}
