/**
 * Test helper: a throwaway PostgreSQL (Debian's, installed by scripts/setup-test-env.sh) on a free
 * loopback port, in a temp dir, with fsync off. Postgres refuses to run as root, so when we are
 * root the cluster is created and run as the `postgres` user (setpriv). `restart()` stops and
 * starts it on the same port; `stop()` kills it and removes the dir. Call `stop()` in `after`.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

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

export async function startPostgres(): Promise<PostgresProcess> {
  const bin = binDir();
  const root = process.getuid?.() === 0;
  const asUser = (cmd: string, args: string[]): [string, string[]] =>
    // setpriv execs in place (runuser forks): signals reach postgres itself
    root ? ["setpriv", ["--reuid=postgres", "--regid=postgres", "--init-groups", cmd, ...args]] : [cmd, args];
  const dir = mkdtempSync(join(tmpdir(), "wirecable-pg-"));
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
    const [cmd, args] = asUser(join(bin, "postgres"), [
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
    ]);
    const proc = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
    child = proc;
    let stderr = "";
    proc.stderr?.on("data", (d) => (stderr += d));
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null) throw new Error(`postgres exited: ${stderr.slice(-500)}`);
      if (await canConnect(port)) {
        await new Promise((r) => setTimeout(r, 100)); // accepting TCP before it accepts logins
        return;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    proc.kill("SIGKILL");
    throw new Error("postgres did not start within 15 s");
  }

  async function halt(): Promise<void> {
    if (child === undefined) return;
    const proc = child;
    child = undefined;
    // SIGQUIT: immediate shutdown (the postmaster kills its backends).
    proc.kill("SIGQUIT");
    await new Promise<void>((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
      const t = setTimeout(() => proc.kill("SIGKILL"), 5000);
      proc.once("exit", () => {
        clearTimeout(t);
        resolve();
      });
    });
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
