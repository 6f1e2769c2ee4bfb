/**
 * Test helper: a throwaway redis-server (Debian's, installed by scripts/setup-test-env.sh) on a
 * free loopback port, with a temp dir, no persistence (`--save "" --appendonly no`).
 * `restart()` stops it and starts it again on the same port (to test reconnection); `stop()`
 * kills it and removes the dir. Always call `stop()` in `after`/`finally`.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface RedisProcess {
  readonly port: number;
  readonly url: string;
  restart(options?: { downMs?: number }): Promise<void>;
  /** Stop the server but keep the port and dir, to `start()` it later. */
  pause(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ port, host: "127.0.0.1" });
    sock.once("connect", () => {
      sock.destroy();
      resolve(true);
    });
    sock.once("error", () => resolve(false));
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

export async function startRedis(): Promise<RedisProcess> {
  const dir = mkdtempSync(join(tmpdir(), "wirecable-redis-"));
  let child: ChildProcess | undefined;
  let port = 0;

  async function launch(): Promise<void> {
    const proc = spawn(
      "redis-server",
      [
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        dir,
        "--save",
        "",
        "--appendonly",
        "no",
        "--loglevel",
        "warning",
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    child = proc;
    let stderr = "";
    proc.stderr?.on("data", (d) => (stderr += d));
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null) throw new Error(`redis-server exited: ${stderr}`);
      if (await canConnect(port)) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    proc.kill("SIGKILL");
    throw new Error("redis-server did not start within 5 s");
  }

  async function halt(): Promise<void> {
    if (child === undefined) return;
    const proc = child;
    child = undefined;
    proc.kill("SIGKILL");
    await exited(proc);
  }

  // The port is free when probed but may be taken before redis binds it: retry a few times.
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    try {
      await launch();
      break;
    } catch (err) {
      if (attempt >= 2) {
        rmSync(dir, { recursive: true, force: true });
        throw err;
      }
    }
  }

  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async restart({ downMs = 200 } = {}) {
      await halt();
      await new Promise((r) => setTimeout(r, downMs));
      await launch();
    },
    pause: halt,
    start: launch,
    async stop() {
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
