/**
 * CLI test helpers: run `node bin/wirecable.js ...` (built by `npm run build`; the suite builds
 * once in `ensureBuilt`) bounded in time, or start a long-running command and read its output.
 * Every child is killed in `stopAll()` (call it in `after`).
 */
import { type ChildProcess, execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { spawnTied } from "../helpers/tied-process.js";

export const root = join(import.meta.dirname, "..", "..");
/** The entry point under test (override with WIRECABLE_CLI to try a different launcher). */
export const CLI = process.env.WIRECABLE_CLI ?? join(root, "bin", "wirecable.js");

const children = new Set<ChildProcess>();
let built = false;

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (/\.(ts|html|css)$/.test(entry.name)) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/** Build dist/ (tsc + demo page) once per test process when the sources are newer. */
export function ensureBuilt(): void {
  if (built) return;
  const entry = join(root, "dist", "cli", "index.js");
  const page = join(root, "dist", "cli", "demo", "public", "app.js");
  const stale = !existsSync(entry) || !existsSync(page) || newestSource(join(root, "src")) > statSync(entry).mtimeMs;
  if (stale) {
    // Serialised: test files run in parallel and must not write dist/ at the same time.
    const lock = "/tmp/wirecable-cli-test-build.lock";
    const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
    try {
      execFileSync("flock", [lock, process.execPath, tsc, "-p", "tsconfig.build.json"], { cwd: root, stdio: "pipe" });
    } catch (err) {
      // tsc still emits on type errors (`npm run typecheck` reports them): run what was built.
      console.warn(`tsc reported errors: ${String((err as { stdout?: Buffer }).stdout ?? err).slice(0, 500)}`);
    }
    execFileSync("flock", [lock, process.execPath, join(root, "scripts", "build-demo.mjs")], {
      cwd: root,
      stdio: "pipe",
    });
  }
  built = true;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run the CLI to completion (killed after `timeout` ms), feeding `input` on stdin. */
export function runCli(args: string[], options: { input?: string; timeout?: number } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawnTied(process.execPath, [CLI, ...args], { cwd: root, stdio: ["pipe", "pipe", "pipe"] });
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
