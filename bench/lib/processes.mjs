// Starting and stopping the processes of a run: peer servers and load generator workers.
// Contract: every child runs under `ulimit -n <hard limit>`; `startServer` resolves once the server
// printed `LISTENING <port>` and knows its process tree; `stop()` closes stdin (the servers exit on
// it, which also lets --cpu-prof write its profile) and kills after a grace period.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { processTree } from "./procfs.mjs";

const ROOT = new URL("../../", import.meta.url).pathname;
const BUN = `${ROOT}node_modules/.bin/bun`;
// Raise the soft fd limit to the hard one (20000 here), then exec the real command.
const ULIMIT = 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"';
// The CLI servers' preload reading the runner's `gc` line (see startCliServer).
const GC_HOOK = `${ROOT}bench/lib/gc-hook.cjs`;

export const SERVERS = {
  wirecable: { file: "bench/servers/wirecable.mjs", deflate: true },
  // A second build of wirecable in the same run (A/B, interleaved like every server):
  // WIRECABLE_DIST_B=/path/to/build, e.g. `npx tsc -p tsconfig.build.json --outDir bench/.work/dist-b`
  // (inside the repository, so that the optional bufferutil resolves as it does for dist/).
  "wirecable-b": { file: "bench/servers/wirecable.mjs", deflate: true, env: { WIRECABLE_DIST: "WIRECABLE_DIST_B" } },
  // The library server with `lendMessages` (large messages lent to the handler, as `wirecable echo`
  // runs): a row of its own for the large workload, beside the default (owned messages).
  "wirecable-lent": { file: "bench/servers/wirecable.mjs", setEnv: { WIRECABLE_LEND: "1" }, workloads: ["large"] },
  // The library server with its default heartbeat (a ping after 30 s of silence, answered by the
  // load generator), as `wirecable echo` and most applications run: idle memory only (the 40 s
  // reading comes 10 s after every connection's first ping and pong). -b: WIRECABLE_DIST_B's build.
  "wirecable-ping": { file: "bench/servers/wirecable.mjs", setEnv: { WIRECABLE_PING: "1" }, workloads: ["idle"] },
  "wirecable-ping-b": {
    file: "bench/servers/wirecable.mjs",
    setEnv: { WIRECABLE_PING: "1" },
    env: { WIRECABLE_DIST: "WIRECABLE_DIST_B" },
    workloads: ["idle"],
  },
  // The library server with `wirecable broadcast`'s options, to tell what the CLI's process adds
  // from what its options cost: "drop" alone, then "drop" with the default heartbeat (its options).
  "wirecable-drop": {
    file: "bench/servers/wirecable.mjs",
    setEnv: { WIRECABLE_BACKPRESSURE: "drop" },
    workloads: ["broadcast", "broadcast-10k"],
  },
  "wirecable-cliopts": {
    file: "bench/servers/wirecable.mjs",
    setEnv: { WIRECABLE_BACKPRESSURE: "drop", WIRECABLE_PING: "1" },
    workloads: ["broadcast", "broadcast-10k"],
  },
  ws: { file: "bench/servers/ws.mjs", deflate: true },
  "websocket-driver": { file: "bench/servers/websocket-driver.mjs", deflate: false },
  bun: { file: "bench/servers/bun.mjs", deflate: true, bun: true },
  // uWebSockets.js: the uWS C++ server as a Node addon (its own event loop inside the Node process).
  // Not in idle-100k: this build's listen() does not share a port between processes (no
  // SO_REUSEPORT), and one process may hold at most 20,000 descriptors here.
  uws: {
    file: "bench/servers/uws.mjs",
    deflate: true,
    workloads: [
      "small-echo",
      "latency",
      "large",
      "conns-1000",
      "broadcast",
      "broadcast-10k",
      "idle",
      "idle-deflate",
      "handshakes",
      "deflate-echo",
    ],
  },
  // The CLI's own servers exactly as a user starts them (bin/wirecable.js, dist/): `wirecable echo`
  // and `wirecable broadcast` (which has no /pub path: every client's message goes to every client,
  // so it runs in the broadcast workload only, where the other clients only listen).
  "cli-echo": {
    cli: "echo",
    deflate: true,
    workloads: [
      "small-echo",
      "latency",
      "large",
      "conns-1000",
      "handshakes",
      "deflate-echo",
      "idle",
      "idle-deflate",
      "idle-100k",
    ],
  },
  "cli-broadcast": { cli: "broadcast", deflate: false, workloads: ["broadcast", "broadcast-10k"] },
  // `wirecable echo` with docs/scaling.md's tuning for many idle connections, as a user sets it:
  // `NODE_OPTIONS=--max-semi-space-size=8 npx wirecable echo` (idle only; profile.md round fourteen).
  "cli-echo-semi8": { cli: "echo", setEnv: { NODE_OPTIONS: "--max-semi-space-size=8" }, workloads: ["idle"] },
  // The same commands from another build (A/B of the CLI): WIRECABLE_CLI_B=<dir> holding
  // bin/wirecable.js and a dist/ with dist/cli (`npm run build` there, or a tsc build of the
  // library plus this tree's dist/cli when the CLI's own code is the same).
  "cli-echo-b": {
    cli: "echo",
    cliRoot: "WIRECABLE_CLI_B",
    deflate: true,
    workloads: ["small-echo", "latency", "large", "conns-1000", "handshakes", "deflate-echo", "idle", "idle-deflate"],
  },
  "cli-broadcast-b": {
    cli: "broadcast",
    cliRoot: "WIRECABLE_CLI_B",
    deflate: false,
    workloads: ["broadcast", "broadcast-10k"],
  },
  // The channels broadcast: CableServer (ActionCable) from dist/ and from WIRECABLE_DIST_B.
  cable: { file: "bench/servers/cable.mjs", cable: true, workloads: ["broadcast-10k"] },
  "cable-b": {
    file: "bench/servers/cable.mjs",
    cable: true,
    workloads: ["broadcast-10k"],
    env: { WIRECABLE_DIST: "WIRECABLE_DIST_B" },
  },
  bare: { file: "bench/servers/bare.mjs", deflate: false },
  // Idle memory with V8's young generation capped at 8 MB semi-spaces (Node 20's default is 16),
  // the tuning docs/scaling.md gives for many idle connections: the library server and the bare
  // socket under the same flag, so that the two compare like for like (profile.md, round thirteen).
  "wirecable-semi8": {
    file: "bench/servers/wirecable.mjs",
    nodeArgs: ["--max-semi-space-size=8"],
    workloads: ["idle"],
  },
  "bare-semi8": {
    file: "bench/servers/bare.mjs",
    deflate: false,
    nodeArgs: ["--max-semi-space-size=8"],
    workloads: ["idle"],
  },
  // The floor reading into one process-wide buffer (net.Socket `onread`): what Node's per-read
  // buffers cost on large messages. Large echo only (run it with --servers floor-onread).
  "floor-onread": { file: "bench/servers/floor.mjs", setEnv: { FLOOR_ONREAD: "1" }, workloads: ["large"] },
  // The floor writing through each socket's handle, not its Writable (FLOOR_WRITE=handle): what
  // net.Socket's stream layer costs per write.
  "floor-handle": {
    file: "bench/servers/floor.mjs",
    setEnv: { FLOOR_WRITE: "handle" },
    deflate: false,
    workloads: ["small-echo", "latency", "large", "broadcast", "broadcast-10k"],
  },
  // Not a WebSocket implementation: Node's cheapest echo, measured only where it is a floor.
  floor: {
    file: "bench/servers/floor.mjs",
    deflate: false,
    workloads: ["small-echo", "latency", "large", "conns-1000", "broadcast", "broadcast-10k", "handshakes"],
  },
};

/** Whether `name` takes part in workload `wl` (a peer without a `workloads` list runs them all). */
export function runsWorkload(name, wl) {
  const only = SERVERS[name].workloads;
  return !only || only.includes(wl);
}

function spawnLimited(argv, stdio, env = process.env) {
  return spawn("/bin/sh", ["-c", ULIMIT, "sh", ...argv], { cwd: ROOT, stdio, env });
}

/** Keeps the last 8 KiB of the child's stderr; returns a getter. */
function captureStderr(child) {
  let stderr = "";
  child.stderr.on("data", (d) => {
    stderr += d;
    if (stderr.length > 8192) stderr = stderr.slice(-8192);
  });
  return () => stderr;
}

/** Resolves with the port in the first stdout match of `pattern` (20 s at most), then drains stdout. */
async function waitForPort(child, name, pattern, missing, stderr) {
  const port = await new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`${name}: no ${missing} in 20 s\n${stderr()}`)), 20_000);
    child.stdout.on("data", (d) => {
      out += d;
      const m = pattern.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code}) before listening\n${stderr()}`));
    });
  });
  child.stdout.resume();
  return port;
}

/** Asks the server to stop (`ask()`), then kills its whole process tree after 10 s. */
function stopTree(child, pids, ask) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const t = setTimeout(() => {
      for (const p of pids.slice().reverse()) {
        try {
          process.kill(p, "SIGKILL");
        } catch {}
      }
    }, 10_000);
    child.on("exit", () => {
      clearTimeout(t);
      resolve();
    });
    ask();
  });
}

export async function startServer(name, { workers = 1, deflate = false, nodeArgs = [] } = {}) {
  const def = SERVERS[name];
  if (def.cli) {
    const from = def.cliRoot;
    if (from && !process.env[from]) throw new Error(`${name}: set ${from}`);
    const root = from ? resolve(process.env[from]) : undefined;
    return startCliServer(def.cli, { workers, deflate, nodeArgs, name, root, env: def.setEnv });
  }
  const args = [def.file, "--workers", String(workers), ...(deflate ? ["--deflate"] : [])];
  const argv = def.bun
    ? [BUN, ...args]
    : [process.execPath, "--expose-gc", ...(def.nodeArgs ?? []), ...nodeArgs, ...args];
  const env = { ...process.env };
  Object.assign(env, def.setEnv);
  for (const [key, from] of Object.entries(def.env ?? {})) {
    if (!process.env[from]) throw new Error(`${name}: set ${from}`);
    env[key] = resolve(process.env[from]);
  }
  const child = spawnLimited(argv, ["pipe", "pipe", "pipe"], env);
  const stderr = captureStderr(child);
  const port = await waitForPort(child, name, /LISTENING (\d+)/, "LISTENING line", stderr);
  const pids = processTree(child.pid);
  return {
    name,
    port,
    pid: child.pid,
    pids,
    alive: () => child.exitCode === null && child.signalCode === null,
    stderr,
    gc: () => child.stdin.write("gc\n"),
    stop: () => stopTree(child, pids, () => child.stdin.end()),
  };
}

/** One load generator worker process with a request/reply helper over IPC. */
export function startLoadgen() {
  const child = spawnLimited([process.execPath, "bench/lib/loadgen.mjs"], ["ignore", "inherit", "inherit", "ipc"]);
  const waiting = new Map();
  const failAll = new Map();
  child.on("exit", () => {
    for (const f of failAll.values()) f(new Error("load generator exited"));
    failAll.clear();
  });
  child.on("message", (m) => {
    const key = m.type === "mark" ? `mark:${m.id}` : m.type;
    const w = waiting.get(key);
    if (w) {
      waiting.delete(key);
      failAll.delete(key);
      w(m);
    }
  });
  let seq = 0;
  const request = (msg, replyType) =>
    new Promise((resolve, reject) => {
      const key = replyType === "mark" ? `mark:${msg.id}` : replyType;
      waiting.set(key, resolve);
      failAll.set(key, reject);
      child.send(msg);
    });
  return {
    pid: child.pid,
    connect: (config) => request({ type: "connect", config }, "ready"),
    start: () => request({ type: "start" }, "started"),
    mark: () => {
      const id = ++seq;
      return request({ type: "mark", id }, "mark");
    },
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        const t = setTimeout(() => child.kill("SIGKILL"), 5000);
        child.on("exit", () => {
          clearTimeout(t);
          resolve();
        });
        child.send({ type: "stop" });
      }),
  };
}

/**
 * The CLI's own server (`wirecable echo|broadcast --port 0 --workers N`, from dist/ through
 * bin/wirecable.js, or from `root`'s) with the interface of `startServer`, started as a user's
 * shell starts it: the bin file is exec'd, so its shebang decides node's flags (`env node`: none;
 * a build under test may carry `env -S node <flags>`), with the `node` of this runner first on PATH. Resolves once the primary printed its
 * URL (every worker listens by then), so `pids` covers the primary and every worker; `env`: the
 * row's variables (a NODE_OPTIONS of its own comes first). `gc()`
 * collects in every process as for the other servers: NODE_OPTIONS adds --expose-gc and the
 * bench-only preload lib/gc-hook.cjs, which reads the `gc` line on stdin (the CLI is unchanged;
 * cluster workers inherit NODE_OPTIONS). `nodeArgs` (--cpu-prof, not allowed in NODE_OPTIONS)
 * run the bin through node instead, with the flags its shebang gives. `stop()` sends SIGTERM
 * (graceful: 1001 to clients) and kills after a grace period.
 */
export async function startCliServer(
  command,
  { workers = 1, deflate = false, nodeArgs = [], name, root, env: vars } = {},
) {
  const bin = root === undefined ? `${ROOT}bin/wirecable.js` : `${root}/bin/wirecable.js`;
  const args = [command, "--port", "0", "--workers", String(workers), ...(deflate ? ["--deflate"] : [])];
  const argv =
    nodeArgs.length === 0 ? [bin, ...args] : [process.execPath, ...shebangFlags(bin), ...nodeArgs, bin, ...args];
  const options = vars?.NODE_OPTIONS ?? process.env.NODE_OPTIONS ?? "";
  const env = {
    ...process.env,
    ...vars,
    PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ""}`,
    NODE_OPTIONS: `${options} --expose-gc --require "${GC_HOOK}"`.trim(),
  };
  const child = spawnLimited(argv, ["pipe", "pipe", "pipe"], env);
  child.stdin.on("error", () => {}); // a server gone before its `gc` line
  const stderr = captureStderr(child);
  const port = await waitForPort(child, command, /listening on ws:\/\/[^:]+:(\d+)/, "URL", stderr);
  const pids = processTree(child.pid);
  return {
    name: name ?? `${command} --workers ${workers}`,
    port,
    pid: child.pid,
    pids,
    alive: () => child.exitCode === null && child.signalCode === null,
    stderr,
    gc: () => child.stdin.write("gc\n"),
    stop: () => stopTree(child, pids, () => child.kill("SIGTERM")),
  };
}

/** The node flags of a bin file's shebang: [] for this repo's `#!/usr/bin/env node`; `env -S node <flags>` gives its flags. */
export function shebangFlags(bin) {
  const line = readFileSync(bin, "utf8").split("\n", 1)[0];
  const m = /^#!\s*\S*env\s+(?:-S\s+)?node\b(.*)$/.exec(line);
  if (!m) throw new Error(`${bin}: not a node shebang: ${line}`);
  return m[1].trim().split(/\s+/).filter(Boolean);
}
