/**
 * The channels benchmarks' child processes (servers, client holders): `spawn(file, env)` forks a
 * TypeScript file of this folder through tsx, and `next(type)` waits for its next IPC message of
 * that type (bounded: it fails when the child exits or after `timeoutMs`).
 */
import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";

export interface Proc {
  child: ChildProcess;
  next(type: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  send(msg: unknown): void;
}

export function spawn(file: string, env: Record<string, string> = {}): Proc {
  const child = fork(fileURLToPath(new URL(file, import.meta.url)), [], {
    execArgv: ["--import", "tsx"],
    env: { ...process.env, ...env },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const inbox: Array<Record<string, unknown>> = [];
  const waiting: Array<() => void> = [];
  child.on("message", (m) => {
    inbox.push(m as Record<string, unknown>);
    for (const w of waiting.splice(0)) w();
  });
  return {
    child,
    send: (msg) => child.send(msg as never),
    async next(type, timeoutMs = 300_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const i = inbox.findIndex((m) => m.type === type);
        if (i >= 0) return inbox.splice(i, 1)[0]!;
        if (Date.now() > deadline) throw new Error(`${file}: no ${type} within ${timeoutMs} ms`);
        if (child.exitCode !== null) throw new Error(`${file} exited (${child.exitCode})`);
        await new Promise<void>((r) => {
          const t = setTimeout(r, 200);
          waiting.push(() => {
            clearTimeout(t);
            r();
          });
        });
      }
    },
  };
}
