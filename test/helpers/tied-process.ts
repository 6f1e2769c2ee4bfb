/**
 * Every process a test starts (services, CLI and example children, peers, browsers) is started
 * through here, so that it dies with the test process, however that ends: the runner's file
 * timeout, SIGKILL, a crash, Ctrl-C. `after()` hooks stop children when a test file ends well;
 * this covers the cases where no hook runs.
 *
 * How: the child is exec'd by util-linux `setpriv --pdeathsig KILL` (Linux prctl
 * PR_SET_PDEATHSIG): when the thread that spawned it (Node's main thread, so the test process)
 * exits, the kernel sends the child SIGKILL. setpriv execs in place, so the child's pid,
 * signals, stdio and IPC channel are the program's own (a test may still SIGKILL a service
 * itself, or wait for its exit code). A credential change clears the parent-death signal, so a
 * child that runs as another user (`user`) gets both from the same setpriv.
 *
 * A child's own children are the child's business: servers tie their workers to themselves
 * (PostgreSQL backends watch the postmaster, Chromium's helpers their browser, cluster workers
 * their IPC channel). test/helpers/tied-process.test.ts kills a process holding one of each and
 * checks that nothing it started outlives it.
 */
import { type ChildProcess, type ForkOptions, type SpawnOptions, type StdioOptions, spawn } from "node:child_process";
import { existsSync } from "node:fs";

const SETPRIV = "/usr/bin/setpriv";

/** Whether children can be tied (Linux with util-linux; scripts/setup-test-env.sh installs it). */
export const canTie = process.platform === "linux" && existsSync(SETPRIV);

export interface TieOptions {
  /** Run as this user (and its group), e.g. "postgres" for PostgreSQL when the tests run as root. */
  user?: string;
}

/** The command line that runs `cmd args` tied to this process: `[command, args]` for spawn. */
export function tiedCommand(cmd: string, args: readonly string[], options: TieOptions = {}): [string, string[]] {
  const user =
    options.user === undefined ? [] : [`--reuid=${options.user}`, `--regid=${options.user}`, "--init-groups"];
  if (!canTie) {
    if (options.user !== undefined) throw new Error(`running ${cmd} as ${options.user} needs ${SETPRIV}`);
    return [cmd, [...args]];
  }
  return [SETPRIV, ["--pdeathsig", "KILL", ...user, "--", cmd, ...args]];
}

/** `child_process.spawn` (same overloads and options), the child tied to this process. */
export const spawnTied = ((cmd: string, args: readonly string[] = [], options: SpawnOptions = {}) => {
  const [command, argv] = tiedCommand(cmd, args);
  return spawn(command, argv, options);
}) as typeof spawn;

/**
 * `child_process.fork` (a Node child with an IPC channel), tied to this process. Options as
 * fork's: `execArgv` defaults to this process's, `stdio` must include "ipc" when given.
 */
export function forkTied(modulePath: string, args: readonly string[] = [], options: ForkOptions = {}): ChildProcess {
  const { execArgv = process.execArgv, execPath = process.execPath, stdio, silent, ...rest } = options;
  const io = stdio ?? (silent === true ? ["pipe", "pipe", "pipe", "ipc"] : ["inherit", "inherit", "inherit", "ipc"]);
  if (!Array.isArray(io) || !io.includes("ipc")) throw new TypeError("forkTied: stdio must include 'ipc'");
  return spawnTied(execPath, [...execArgv, modulePath, ...args], { ...rest, stdio: io as StdioOptions });
}

/** An executable that runs Chromium tied to this process (playwright's `executablePath`). */
export const TIED_CHROMIUM = new URL("./tied-chromium.sh", import.meta.url).pathname;
