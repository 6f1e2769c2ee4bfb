/**
 * CLI test helpers: run `node bin/wirecable.js ...` (built by `npm run build`; the suite builds
 * once in `ensureBuilt`) bounded in time, or start a long-running command and read its output.
 * Every child is killed in `stopAll()` (call it in `after`).
 *
 * On a busy machine a CLI process may take seconds to start: every wait here is for an event
 * (output, exit), and the bounds ({@link CLI_BOUND}) only stop a process that hangs, so they are
 * generous and scaled by WIRECABLE_TEST_TIME_SCALE; a passing test never waits for them.
 */
import { type ChildProcess, execFileSync } from "node:child_process";
import { join } from "node:path";
import { spawnTied } from "../helpers/tied-process.js";
import { TIME_SCALE } from "../helpers/time.js";

/** How long a CLI process may take to print what a test waits for, or to finish (ms). */
export const CLI_BOUND = 60_000 * TIME_SCALE;
/** The node:test timeout of a test that starts CLI processes (several bounds). */
export const CLI_TEST_TIMEOUT = 4 * CLI_BOUND;

export const root = join(import.meta.dirname, "..", "..");
/** The entry point under test (override with WIRECABLE_CLI to try a different launcher). */
export const CLI = process.env.WIRECABLE_CLI ?? join(root, "bin", "wirecable.js");

const children = new Set<ChildProcess>();
let built = false;

/** Build dist/ (library, CLI bundle, demo page: scripts/build.mjs) once per test process when src/ is newer. */
export function ensureBuilt(): void {
  if (built) return;
  // Serialised, and the staleness check made inside the lock: test files run in parallel and
  // must neither write dist/ at the same time nor rebuild what another file just built.
  execFileSync("flock", ["/tmp/wirecable-cli-test-build.lock", process.execPath, "scripts/build.mjs", "--if-stale"], {
    cwd: root,
    stdio: "pipe",
  });
  built = true;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run the CLI to completion (killed after `timeout` ms), feeding `input` on stdin. */
export function runCli(
  args: string[],
  options: { input?: string; timeout?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawnTied(process.execPath, [CLI, ...args], {
      cwd: root,
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, ...options.env },
    });
    children.add(child);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeout ?? CLI_BOUND);
    // "close", not "exit": the process can be gone before its last output has been read from
    // the pipes (on a busy machine an error line then went missing: empty stderr, exit code 1).
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.on("error", () => {});
    if (options.input !== undefined) child.stdin.end(options.input);
  });
}

export interface Running {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first stdout line matching `pattern` (rejects after `timeout` ms). */
  waitFor(pattern: RegExp, timeout?: number): Promise<RegExpMatchArray>;
  /** The exit status, once the process has exited and its output has been read to the end. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startCli(args: string[], env: NodeJS.ProcessEnv = {}): Running {
  const child = spawnTied(process.execPath, [CLI, ...args], {
    cwd: root,
    stdio: ["pipe", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  children.add(child);
  let out = "";
  let err = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (err += d));
  let closed = false;
  child.on("close", () => (closed = true));
  // Settles once the output is read to its end too (see runCli).
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("close", (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    }),
  );
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor(pattern, timeout = CLI_BOUND) {
      return new Promise((resolve, reject) => {
        // Checked on each chunk of output (after the listener above appended it) and when the
        // process's output ends; the timer only stops a process that never prints the line.
        const finish = (error?: Error, match?: RegExpMatchArray): void => {
          clearTimeout(timer);
          child.stdout!.off("data", onData);
          child.off("close", onClose);
          if (match) resolve(match);
          else reject(error);
        };
        const onData = (): void => {
          const m = out.match(pattern);
          if (m) finish(undefined, m);
        };
        const onClose = (): void => {
          const m = out.match(pattern);
          if (m) finish(undefined, m);
          else finish(new Error(`exited (${child.exitCode ?? child.signalCode}) before ${pattern}: ${err}`));
        };
        const timer = setTimeout(
          () => finish(new Error(`no ${pattern} within ${timeout} ms; stderr: ${err}`)),
          timeout,
        );
        child.stdout!.on("data", onData);
        child.on("close", onClose);
        if (closed) onClose();
        else onData();
      });
    },
  };
}

export function stopAll(): void {
  for (const child of children) child.kill("SIGKILL");
  children.clear();
}
