/**
 * Test helper shared by the throwaway services (redis.ts, postgres.ts, nats.ts, redis-cluster.ts):
 * a temp dir, a free loopback port, spawning a server (tied to the test process:
 * tied-process.ts) and polling its port until it accepts TCP, and stopping it (a signal, then
 * SIGKILL if it lingers). Loopback (127.0.0.1) only.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tiedCommand } from "./tied-process.js";
import { sleep } from "./time.js";

/** A fresh directory under the OS temp dir, named `<prefix>XXXXXX`. */
export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A port that was free on 127.0.0.1 when probed (another process may take it before we bind). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ port, host: "127.0.0.1" });
    sock.once("connect", () => {
      sock.destroy();
      resolve(true);
    });
    sock.once("error", () => resolve(false));
  });
}

export interface SpawnServiceOptions {
  /** How errors name the server ("redis-server"). */
  name: string;
  cmd: string;
  args: string[];
  port: number;
  timeoutMs: number;
  /** Pause between two connection attempts. */
  pollMs: number;
  /** Extra wait once the port accepts TCP (a server may accept before it is ready). */
  settleMs?: number;
  /** Keep only the last N characters of stderr in the "exited" error (default: all of it). */
  stderrTail?: number;
  /** Run as this user (tied-process.ts). */
  user?: string;
  /** Called with the child right after the spawn (so the caller can stop it even if the wait fails). */
  onSpawn(proc: ChildProcess): void;
}

/** Spawns the server and resolves once its port accepts TCP; throws if it exits or times out. */
export async function spawnAndWait(o: SpawnServiceOptions): Promise<ChildProcess> {
  const [cmd, args] = tiedCommand(o.cmd, o.args, { user: o.user });
  const proc = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
  o.onSpawn(proc);
  let stderr = "";
  proc.stderr?.on("data", (d) => (stderr += d));
  const deadline = Date.now() + o.timeoutMs;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) {
      throw new Error(`${o.name} exited: ${o.stderrTail === undefined ? stderr : stderr.slice(-o.stderrTail)}`);
    }
    if (await canConnect(o.port)) {
      if (o.settleMs) await sleep(o.settleMs);
      return proc;
    }
    await sleep(o.pollMs);
  }
  proc.kill("SIGKILL");
  throw new Error(`${o.name} did not start within ${o.timeoutMs / 1000} s`);
}

/** Sends `signal` and resolves when the child has exited; SIGKILL after `killAfterMs` if it lingers. */
export function stopProcess(proc: ChildProcess, signal: NodeJS.Signals, killAfterMs = 5000): Promise<void> {
  proc.kill(signal);
  return new Promise<void>((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
    const t = signal === "SIGKILL" ? undefined : setTimeout(() => proc.kill("SIGKILL"), killAfterMs);
    proc.once("exit", () => {
      clearTimeout(t);
      resolve();
    });
  });
}
