/**
 * Test helper: a throwaway PostgreSQL (Debian's, installed by scripts/setup-test-env.sh) on a free
 * loopback port, in a temp dir, with fsync off. Postgres refuses to run as root, so when we are
 * root the cluster is created and run as the `postgres` user (setpriv). `restart()` stops and
 * starts it on the same port; `stop()` kills it and removes the dir. Call `stop()` in `after`.
 */
import { type ChildProcess, execFileSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { freePort, spawnAndWait, stopProcess, tempDir } from "./service-process.js";

export interface PostgresProcess {
  readonly port: number;
  readonly url: string;
  pause(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

function binDir(): string {
  const versions = readdirSync("/usr/lib/postgresql").sort();
  const dir = `/usr/lib/postgresql/${versions.at(-1)}/bin`;
  if (!existsSync(join(dir, "initdb"))) throw new Error("PostgreSQL not installed: run scripts/setup-test-env.sh");
  return dir;
}

export async function startPostgres(): Promise<PostgresProcess> {
  const bin = binDir();
  const root = process.getuid?.() === 0;
  const asUser = (cmd: string, args: string[]): [string, string[]] =>
    root ? ["setpriv", ["--reuid=postgres", "--regid=postgres", "--init-groups", cmd, ...args]] : [cmd, args];
  const dir = tempDir("wirecable-pg-");
  const data = join(dir, "data");
  if (root) {
    chownSync(dir, Number(execFileSync("id", ["-u", "postgres"]).toString()), 0);
    chmodSync(dir, 0o700);
  }
  const [initCmd, initArgs] = asUser(join(bin, "initdb"), ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8"]);
  execFileSync(initCmd, initArgs, { stdio: "ignore" });
  const port = await freePort();
  let child: ChildProcess | undefined;

  async function launch(): Promise<void> {
    const args = [
      "-D",
      data,
      "-p",
      String(port),
      "-h",
      "127.0.0.1",
      "-k",
      dir,
      "-c",
      "fsync=off",
      "-c",
      "synchronous_commit=off",
      "-c",
      "full_page_writes=off",
    ];
    await spawnAndWait({
      name: "postgres",
      cmd: join(bin, "postgres"),
      args,
      user: root ? "postgres" : undefined,
      port,
      timeoutMs: 15_000,
      pollMs: 50,
      settleMs: 100, // accepting TCP before it accepts logins
      stderrTail: 500,
      onSpawn: (proc) => {
        child = proc;
      },
    });
  }

  async function halt(): Promise<void> {
    if (child === undefined) return;
    const proc = child;
    child = undefined;
    // SIGQUIT: immediate shutdown (the postmaster kills its backends).
    await stopProcess(proc, "SIGQUIT", 5000);
    // a postmaster killed hard may leave its pid file: a later start must not trip over it
    rmSync(join(data, "postmaster.pid"), { force: true });
  }

  await launch();
  return {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    pause: halt,
    start: launch,
    async stop() {
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
