// Shared plumbing for the Node peer servers (not the app logic, which each server file spells out).
// Contract: `serve(start)` parses `--workers N --deflate --host H`, runs `start(options)` in this
// process (workers = 1) or in N `cluster` workers sharing one port, then prints `LISTENING <port>` on
// stdout. A line `gc` on stdin runs a full GC in every process (the runner starts Node with
// --expose-gc) so idle-memory readings do not depend on when the collector last ran.
import cluster from "node:cluster";
import { parseArgs } from "node:util";

export const MAX_PAYLOAD = 16 * 1024 * 1024; // the same cap for every peer (Bun's default)

export function serverArgs() {
  const { values } = parseArgs({
    options: {
      workers: { type: "string", default: "1" },
      deflate: { type: "boolean", default: false },
      host: { type: "string", default: "127.0.0.1" },
    },
    strict: false,
  });
  return { workers: Number(values.workers), deflate: !!values.deflate, host: String(values.host) };
}

/** `start(opts)` must return a Promise of the listening port. */
export async function serve(start) {
  const opts = serverArgs();
  if (opts.workers <= 1) {
    const port = await start(opts);
    process.stdout.write(`LISTENING ${port}\n`);
    onStdinGc(() => globalThis.gc?.());
    return;
  }
  if (cluster.isPrimary) {
    cluster.schedulingPolicy = cluster.SCHED_RR;
    const ports = [];
    for (let i = 0; i < opts.workers; i++) {
      const w = cluster.fork();
      ports.push(new Promise((resolve) => w.on("message", (m) => m?.port && resolve(m.port))));
    }
    const all = await Promise.all(ports);
    process.stdout.write(`LISTENING ${all[0]}\n`);
    onStdinGc(() => {
      globalThis.gc?.();
      for (const w of Object.values(cluster.workers ?? {})) w?.send("gc");
    });
    return;
  }
  const port = await start(opts);
  process.send?.({ port });
  process.on("message", (m) => m === "gc" && globalThis.gc?.());
}

function onStdinGc(run) {
  process.stdin.setEncoding("utf8");
  process.stdin.on("data", (s) => {
    if (s.includes("gc")) run();
  });
  process.stdin.on("end", () => process.exit(0));
}
