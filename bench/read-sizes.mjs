#!/usr/bin/env node
// How the way a large message reaches a server changes its cost: the same large echo driven by
// the JS load generator (one write per batch of frames) and by the native one (loadgen.c) with
// several write sizes, every server in interleaved rounds. Prints, per server and load: server
// CPU per message (/proc/PID/stat), read() and write() syscalls per message (/proc/PID/io: how
// many reads a frame spans), minor page faults per message, and the load generator's own CPU.
// Usage: node bench/read-sizes.mjs [--servers wirecable,ws,uws] [--sizes js,0,65536,16384]
//          [--rounds N] [--window S] [--size BYTES] [--conns N] [--inflight N] [--read-mode copy|trunc]
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { startNativeLoadgen } from "./lib/native-loadgen.mjs";
import { startLoadgen, startServer } from "./lib/processes.mjs";
import { cpuSeconds, io } from "./lib/procfs.mjs";

const { values: opt } = parseArgs({
  options: {
    servers: { type: "string", default: "wirecable,ws" },
    sizes: { type: "string", default: "js,0,65536,16384" },
    rounds: { type: "string", default: "2" },
    window: { type: "string", default: "4" },
    size: { type: "string", default: String(1 << 20) },
    conns: { type: "string", default: "4" },
    inflight: { type: "string", default: "2" },
    "read-mode": { type: "string", default: "copy" },
  },
});

const servers = opt.servers.split(",");
const loads = opt.sizes.split(",");
const group = {
  name: "echo",
  count: Number(opt.conns),
  inflight: Number(opt.inflight),
  size: Number(opt.size),
  binary: true,
  latency: true,
};
const results = new Map();
const load = `${new Date().toISOString()} load ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`;
process.stderr.write(`${load}\n`);

for (let round = 0; round < Number(opt.rounds); round++) {
  for (const load of loads) {
    for (const name of servers) {
      const server = await startServer(name);
      const lg =
        load === "js" ? startLoadgen() : startNativeLoadgen({ writeSize: Number(load), readMode: opt["read-mode"] });
      try {
        await lg.connect({ host: "127.0.0.1", port: server.port, groups: [group] });
        await lg.start();
        await sleep(1000);
        await lg.mark();
        const t0 = performance.now();
        const c0 = cpuSeconds(server.pids);
        const l0 = cpuSeconds([lg.pid]);
        const io0 = io(server.pids);
        await sleep(Number(opt.window) * 1000);
        const m = await lg.mark();
        const secs = (performance.now() - t0) / 1000;
        const cpu = cpuSeconds(server.pids) - c0;
        const lcpu = cpuSeconds([lg.pid]) - l0;
        const io1 = io(server.pids);
        const msgs = m.groups[0].msgs;
        const r = {
          msgs,
          usPerMsg: (cpu / msgs) * 1e6,
          mbps: m.groups[0].bytes / secs / 1e6,
          readsPerMsg: (io1.r - io0.r) / msgs,
          writesPerMsg: (io1.w - io0.w) / msgs,
          faultsPerMsg: (io1.f - io0.f) / msgs,
          serverPct: (cpu / secs) * 100,
          loadgenPct: (lcpu / secs) * 100,
        };
        const key = `${name} @ ${load === "js" ? "js loadgen" : load === "0" ? "C, one write" : `C, ${load} B writes`}`;
        const prev = results.get(key);
        if (!prev || r.usPerMsg < prev.usPerMsg) results.set(key, r);
        process.stderr.write(
          `round ${round + 1} ${key}: ${r.usPerMsg.toFixed(0)} us/msg, ${r.mbps.toFixed(0)} MB/s, ${r.readsPerMsg.toFixed(1)} reads/msg, ${r.writesPerMsg.toFixed(1)} writes/msg, ${r.faultsPerMsg.toFixed(1)} faults/msg, server ${r.serverPct.toFixed(0)}%, loadgen ${r.loadgenPct.toFixed(0)}%\n`,
        );
      } finally {
        await lg.stop();
        await server.stop();
      }
    }
  }
}
console.log(`\n${load}\n`);
console.log(
  "| server @ load | server CPU us/msg (best round) | MB/s | reads/msg | writes/msg | page faults/msg | server CPU % | loadgen CPU % |",
);
console.log("|---|---:|---:|---:|---:|---:|---:|---:|");
for (const [k, r] of [...results].sort()) {
  console.log(
    `| ${k} | ${r.usPerMsg.toFixed(0)} | ${r.mbps.toFixed(0)} | ${r.readsPerMsg.toFixed(1)} | ${r.writesPerMsg.toFixed(1)} | ${r.faultsPerMsg.toFixed(1)} | ${r.serverPct.toFixed(0)} | ${r.loadgenPct.toFixed(0)} |`,
  );
}
