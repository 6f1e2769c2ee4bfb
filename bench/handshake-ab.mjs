#!/usr/bin/env node
// Handshake CPU, servers side by side in interleaved slices: the steadiest way to compare builds
// on this shared machine (a change in machine speed hits every server alike).
// Usage: node bench/handshake-ab.mjs [--slice S] [--rounds N] NAME=SERVER[,VAR:VALUE...] ...
//   e.g. node bench/handshake-ab.mjs a=wirecable b=wirecable,WIRECABLE_DIST:/path/to/dist ws=ws floor=floor
// Every server runs at once, each with its own 4 native load generators (connect, upgrade, reset;
// 16 handshakes in flight each, as the suite's `handshakes` workload). Only one server's load
// generators run at a time (the others are stopped with SIGSTOP): each takes a slice in turn,
// `--rounds` times. Per server it prints the CPU per handshake over all its slices (utime + stime
// of the process from /proc, every thread), the median and minimum slice, and the ratio to the
// first server, then the same CPU split into user and kernel time (utime, stime: JS, GC and
// Node's native code vs syscalls, wake-ups and the loopback TCP path run in the server's
// context). SERVER is a file of bench/servers/ (wirecable, ws, floor, bare...).
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { startNativeLoadgen } from "./lib/native-loadgen.mjs";
import { spawnServer } from "./lib/server-process.mjs";

const { values, positionals } = parseArgs({
  options: { slice: { type: "string", default: "0.7" }, rounds: { type: "string", default: "12" } },
  allowPositionals: true,
});
if (positionals.length === 0) {
  console.error("usage: node bench/handshake-ab.mjs [--slice S] [--rounds N] NAME=SERVER[,VAR:VALUE...] ...");
  process.exit(2);
}
const LOADGENS = 4;

const servers = [];
for (const spec of positionals) {
  const [name, rest = ""] = spec.split("=");
  const [file, ...vars] = rest.split(",");
  const child = spawnServer(file, vars);
  let out = "";
  const port = await new Promise((resolve, reject) => {
    child.stdout.on("data", (d) => {
      out += d;
      const m = /LISTENING (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.on("exit", () => reject(new Error(`${name}: server exited`)));
  });
  servers.push({ name, child, port, handshakes: 0, cpu: 0, user: 0, sys: 0, slices: [], loadgens: [] });
}

/** [user, system] CPU seconds of a process, every thread (/proc/PID/stat fields 14, 15; 100 Hz). */
function userSys(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return [Number(f[11]) / 100, Number(f[12]) / 100];
}

const stop = (s) => {
  for (const lg of s.loadgens) process.kill(lg.pid, "SIGSTOP");
};
const resume = (s) => {
  for (const lg of s.loadgens) process.kill(lg.pid, "SIGCONT");
};
for (const s of servers) {
  s.loadgens = Array.from({ length: LOADGENS }, () => startNativeLoadgen());
  const config = {
    host: "127.0.0.1",
    port: s.port,
    mode: "handshake",
    concurrency: 16,
    groups: [{ name: "hs", count: 0 }],
  };
  await Promise.all(s.loadgens.map((lg) => lg.connect(config)));
  await Promise.all(s.loadgens.map((lg) => lg.start()));
  stop(s);
}
for (const s of servers) {
  resume(s); // warm-up
  await sleep(1000);
  stop(s);
}
for (let round = 0; round < Number(values.rounds); round++) {
  for (const s of servers) {
    resume(s);
    await Promise.all(s.loadgens.map((lg) => lg.mark()));
    const [u0, s0] = userSys(s.child.pid);
    await sleep(Number(values.slice) * 1000);
    const marks = await Promise.all(s.loadgens.map((lg) => lg.mark()));
    const [u1, s1] = userSys(s.child.pid);
    const c0 = u0 + s0;
    const c1 = u1 + s1;
    stop(s);
    await sleep(100); // the stopped load's last handshakes finish outside any slice
    const n = marks.reduce((a, m) => a + m.handshakes, 0);
    s.handshakes += n;
    s.cpu += c1 - c0;
    s.user += u1 - u0;
    s.sys += s1 - s0;
    s.slices.push(((c1 - c0) / n) * 1e6);
  }
}
const usPer = (s) => (s.cpu / s.handshakes) * 1e6;
console.log(
  `| server | us/handshake | median slice | min slice | handshakes | vs ${servers[0].name} | user us | sys us |`,
);
console.log("|---|---:|---:|---:|---:|---:|---:|---:|");
for (const s of servers) {
  const sorted = [...s.slices].sort((a, b) => a - b);
  const row = [usPer(s), sorted[sorted.length >> 1], sorted[0]].map((v) => v.toFixed(1));
  console.log(
    `| ${s.name} | ${row.join(" | ")} | ${s.handshakes} | ${(usPer(s) / usPer(servers[0])).toFixed(3)} | ${((s.user / s.handshakes) * 1e6).toFixed(1)} | ${((s.sys / s.handshakes) * 1e6).toFixed(1)} |`,
  );
}
for (const s of servers) {
  resume(s);
  await Promise.all(s.loadgens.map((lg) => lg.stop()));
  s.child.stdin.end();
  s.child.kill();
}
process.exit(0);
