// A bench-only preload giving the CLI's servers (`wirecable echo|broadcast`, rows cli-*) the
// forced GC the library's peer servers get from bench/servers/common.mjs, without touching the
// shipped CLI: `node --expose-gc --require bench/lib/gc-hook.cjs bin/wirecable.js echo ...`.
// Contract: a line `gc` on stdin runs a full GC in this process and in every cluster worker
// (`--workers N`: the workers inherit --expose-gc and this preload through process.execArgv and
// hear the primary over the cluster's IPC channel, where the CLI ignores a message without its
// tag). Stdin does not keep the process alive: the CLI still exits when its shutdown is done.
"use strict";
const cluster = require("node:cluster");

const GC = "wirecable-bench-gc";

if (cluster.isWorker) {
  process.on("message", (m) => {
    if (m === GC) globalThis.gc?.();
  });
} else {
  process.stdin.setEncoding("utf8");
  process.stdin.on("data", (s) => {
    if (!s.includes("gc")) return;
    globalThis.gc?.();
    for (const w of Object.values(cluster.workers ?? {})) {
      if (w?.isConnected()) w.send(GC, () => {}); // a worker gone meanwhile: nothing to collect
    }
  });
  process.stdin.on("error", () => {});
  process.stdin.unref();
}
