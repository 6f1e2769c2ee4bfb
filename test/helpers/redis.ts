/**
 * Test helper: a throwaway redis-server (Debian's, installed by scripts/setup-test-env.sh) on a
 * free loopback port, with a temp dir, no persistence (`--save "" --appendonly no`).
 * `restart()` stops it and starts it again on the same port (to test reconnection); `stop()`
 * kills it and removes the dir. Always call `stop()` in `after`/`finally`.
 */
import type { ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import { freePort, spawnAndWait, stopProcess, tempDir } from "./service-process.js";
import { sleep } from "./time.js";

export interface RedisProcess {
  readonly port: number;
  readonly url: string;
  restart(options?: { downMs?: number }): Promise<void>;
  /** Stop the server but keep the port and dir, to `start()` it later. */
  pause(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export async function startRedis(): Promise<RedisProcess> {
  const dir = tempDir("wirecable-redis-");
  let child: ChildProcess | undefined;
  let port = 0;

  async function launch(): Promise<void> {
    await spawnAndWait({
      name: "redis-server",
      cmd: "redis-server",
      args: [
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
      port,
      timeoutMs: 5000,
      pollMs: 20,
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
      await sleep(downMs);
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
