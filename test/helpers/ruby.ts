/**
 * Running the Ruby reference implementations from Debian (faye-websocket, websocket-driver,
 * Rails' ActionCable on puma; scripts/setup-test-env.sh installs them) as test peers: a child
 * process whose stdout is JSON lines (events) or puma's banner, waited on by predicate, and
 * stopped in `after` even when a test failed. Loopback only, port 0.
 */
import type { ChildProcess } from "node:child_process";
import { spawnTied } from "./tied-process.js";

export const RUBY = "/usr/bin/ruby";
export const PUMA = "/usr/bin/puma";
export const FIXTURES = new URL("../fixtures/ruby/", import.meta.url).pathname;

export type RubyEvent = Record<string, unknown> & { event?: string };

export class RubyProcess {
  readonly child: ChildProcess;
  /** stdout lines that parsed as JSON objects, in order. */
  readonly events: RubyEvent[] = [];
  #stdout = "";
  #stderr = "";
  #waiters = new Set<() => void>();
  #exited = false;

  constructor(cmd: string, args: string[], env: Record<string, string> = {}) {
    this.child = spawnTied(cmd, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
    this.child.stdout!.on("data", (d: Buffer) => {
      this.#stdout += d.toString();
      let nl = this.#stdout.indexOf("\n");
      while (nl !== -1) {
        const line = this.#stdout.slice(0, nl).trim();
        this.#stdout = this.#stdout.slice(nl + 1);
        this.#line(line);
        nl = this.#stdout.indexOf("\n");
      }
      this.#wake();
    });
    this.child.stderr!.on("data", (d: Buffer) => {
      this.#stderr = (this.#stderr + d.toString()).slice(-8000);
    });
    this.child.on("exit", () => {
      this.#exited = true;
      this.#wake();
    });
  }

  /** Lines that are not JSON (puma's banner), kept for `waitForLine`. */
  readonly lines: string[] = [];

  #line(line: string): void {
    if (line === "") return;
    if (line.startsWith("{")) {
      try {
        this.events.push(JSON.parse(line) as RubyEvent);
        return;
      } catch {
        // not JSON after all: keep it as a line
      }
    }
    this.lines.push(line);
  }

  #wake(): void {
    for (const w of [...this.#waiters]) w();
  }

  get exited(): boolean {
    return this.#exited;
  }

  /** The last 8000 characters of stderr (for failure messages). */
  get stderr(): string {
    return this.#stderr;
  }

  /** Resolve with the first value `probe` returns that is not undefined; reject on timeout or exit. */
  async waitFor<T>(probe: () => T | undefined, ms: number, what: string): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const value = probe();
      if (value !== undefined) return value;
      if (this.#exited) throw new Error(`${what}: the process exited. stderr: ${this.#stderr}`);
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `${what}: not within ${ms} ms. events: ${JSON.stringify(this.events)}; stderr: ${this.#stderr}`,
        );
      }
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.#waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, left);
        this.#waiters.add(done);
      });
    }
  }

  /** The first event matching `predicate`. */
  event(predicate: (e: RubyEvent) => boolean, ms: number, what: string): Promise<RubyEvent> {
    return this.waitFor(() => this.events.find(predicate), ms, what);
  }

  /** Wait for the process to exit by itself. */
  async exit(ms: number): Promise<number | null> {
    await this.waitFor(() => (this.#exited ? true : undefined), ms, "exit");
    return this.child.exitCode;
  }

  /** SIGTERM, then SIGKILL if it lingers; resolves once it exited. */
  async stop(): Promise<void> {
    if (this.#exited) return;
    const exited = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 3000);
    await exited;
    clearTimeout(timer);
  }
}

/** `puma -b tcp://127.0.0.1:0 <config.ru>`; resolves once it listens, with its port. */
export async function startPuma(
  configRu: string,
  env: Record<string, string> = {},
  ms = 20_000,
): Promise<{ puma: RubyProcess; port: number }> {
  const puma = new RubyProcess(PUMA, ["-b", "tcp://127.0.0.1:0", "-t", "0:16", "-e", "test", configRu], env);
  const port = await puma.waitFor(
    () => {
      for (const line of puma.lines) {
        const m = /Listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(line);
        if (m) return Number(m[1]);
      }
      return undefined;
    },
    ms,
    `puma ${configRu}`,
  );
  return { puma, port };
}
