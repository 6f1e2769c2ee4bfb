/**
 * tied-process.ts: a test process killed outright (SIGKILL, as the runner's file timeout does)
 * takes every child the test helpers started with it — redis-server, nats-server, PostgreSQL and
 * its backends, puma, Chromium and its helper processes, a forked Node child — though no
 * `after()` hook ran.
 */
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, it } from "node:test";
import { canTie, spawnTied } from "./tied-process.js";
import { sleep, UNIT } from "./time.js";

const root = join(import.meta.dirname, "..", "..");
const temp = mkdtempSync(join(tmpdir(), "wirecable-tied-"));
chmodSync(temp, 0o755); // the fixture's TMPDIR: PostgreSQL runs as its own user
after(() => rmSync(temp, { recursive: true, force: true }));

/** pid -> [ppid, state, comm] of every process, from /proc. */
function processes(): Map<number, { ppid: number; state: string; comm: string }> {
  const all = new Map<number, { ppid: number; state: string; comm: string }>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      // "pid (comm) state ppid ...": comm may hold spaces and parentheses
      const close = stat.lastIndexOf(")");
      const [state, ppid] = stat.slice(close + 2).split(" ");
      all.set(Number(name), { ppid: Number(ppid), state: state!, comm: stat.slice(stat.indexOf("(") + 1, close) });
    } catch {
      // gone meanwhile
    }
  }
  return all;
}

function descendants(pid: number): Map<number, string> {
  const all = processes();
  const found = new Map<number, string>();
  let frontier = [pid];
  while (frontier.length > 0) {
    const next: number[] = [];
    for (const [p, info] of all) {
      if (frontier.includes(info.ppid) && !found.has(p)) {
        found.set(p, info.comm);
        next.push(p);
      }
    }
    frontier = next;
  }
  return found;
}

/** Running (not exited; a zombie waiting for a reaper has exited). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

it("a SIGKILLed test process leaves none of the services its helpers started", async () => {
  assert.ok(canTie, "setpriv (util-linux) ties children on Linux: run scripts/setup-test-env.sh");
  const fixture = spawnTied(
    process.execPath,
    ["--import", "tsx", join(import.meta.dirname, "tied-process-fixture.ts")],
    {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, TMPDIR: temp },
    },
  );
  let out = "";
  let err = "";
  fixture.stdout.on("data", (d) => (out += d));
  fixture.stderr.on("data", (d) => (err += d));
  const exited = new Promise((resolve) => fixture.once("exit", resolve));
  const deadline = Date.now() + 600 * UNIT;
  while (!out.includes("ready")) {
    if (fixture.exitCode !== null) assert.fail(`the fixture exited: ${err}`);
    if (Date.now() > deadline) {
      fixture.kill("SIGKILL");
      assert.fail(`the fixture did not start: ${err}`);
    }
    await sleep(50);
  }
  const started = descendants(fixture.pid!);
  const names = new Set(started.values());
  for (const expected of ["redis-server", "nats-server", "postgres", "chromium", "puma", "node"]) {
    assert.ok(
      [...names].some((n) => n.startsWith(expected)),
      `${expected} among ${[...names].join(", ")}`,
    );
  }
  assert.ok(started.size >= 8, `${started.size} processes`);

  fixture.kill("SIGKILL");
  await exited;
  const gone = Date.now() + 100 * UNIT;
  let left = [...started.keys()].filter(alive);
  while (left.length > 0 && Date.now() < gone) {
    await sleep(50);
    left = left.filter(alive);
  }
  for (const pid of left) process.kill(pid, "SIGKILL"); // a failure leaves nothing behind either
  assert.deepEqual(
    left.map((pid) => `${pid} ${started.get(pid)}`),
    [],
    "processes that outlived the killed test process",
  );
});
