/**
 * CLI test helpers: run `node bin/wirecable.js ...` (built by `npm run build`; the suite builds
 * once in `ensureBuilt`) bounded in time, or start a long-running command and read its output.
 * Every child is killed in `stopAll()` (call it in `after`).
 */
import { type ChildProcess, execFileSync } from "node:child_process";
import { join } from "node:path";
import { spawnTied } from "../helpers/tied-process.js";

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
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeout ?? 15_000);
    child.on("exit", (code, signal) => {
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
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    }),
  );
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor(pattern, timeout = 15_000) {
      return new Promise((resolve, reject) => {
        const deadline = Date.now() + timeout;
        const check = (): void => {
          const m = out.match(pattern);
          if (m) resolve(m);
          else if (child.exitCode !== null || child.signalCode !== null) {
            reject(new Error(`exited (${child.exitCode ?? child.signalCode}) before ${pattern}: ${err}`));
          } else if (Date.now() > deadline) reject(new Error(`timed out waiting for ${pattern}; stderr: ${err}`));
          else setTimeout(check, 20);
        };
        check();
      });
    },
  };
}

export function stopAll(): void {
  for (const child of children) child.kill("SIGKILL");
  children.clear();
}
