// Process accounting from /proc (Linux only).
// Contract: `processTree(pid)` lists pid and its descendants; `cpuSeconds(pids)` sums user+sys CPU
// (utime+stime, /proc/PID/stat fields 14 and 15), `userSeconds(pids)` the user part alone, and `rssKB(pids)` sums resident memory
// (field 24), `io(pids)` read()/write() syscalls and minor faults. Processes that have exited
// count as zero.

import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

const CLK_TCK = 100; // getconf CLK_TCK on Linux
const PAGE_KB = 4; // getconf PAGESIZE / 1024

function statFields(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, "latin1");
    return s.slice(s.lastIndexOf(")") + 2).split(" "); // [0] = field 3 (state)
  } catch {
    return null;
  }
}

export function processTree(root) {
  const parent = new Map();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const f = statFields(name);
    if (f) parent.set(Number(name), Number(f[1]));
  }
  const out = [root];
  for (let i = 0; i < out.length; i++) for (const [pid, pp] of parent) if (pp === out[i]) out.push(pid);
  return out;
}

export function cpuSeconds(pids) {
  let ticks = 0;
  for (const pid of pids) {
    const f = statFields(pid);
    if (f) ticks += Number(f[11]) + Number(f[12]);
  }
  return ticks / CLK_TCK;
}

export function userSeconds(pids) {
  let ticks = 0;
  for (const pid of pids) {
    const f = statFields(pid);
    if (f) ticks += Number(f[11]);
  }
  return ticks / CLK_TCK;
}

export function rssKB(pids) {
  let pages = 0;
  for (const pid of pids) {
    const f = statFields(pid);
    if (f) pages += Number(f[21]);
  }
  return pages * PAGE_KB;
}

/** read()/write() syscalls (/proc/PID/io) and minor page faults (/proc/PID/stat field 10). */
export function io(pids) {
  let r = 0;
  let w = 0;
  let f = 0;
  for (const pid of pids) {
    try {
      const s = readFileSync(`/proc/${pid}/io`, "latin1");
      r += Number(/syscr: (\d+)/.exec(s)[1]);
      w += Number(/syscw: (\d+)/.exec(s)[1]);
      const st = readFileSync(`/proc/${pid}/stat`, "latin1");
      f += Number(st.slice(st.lastIndexOf(")") + 2).split(" ")[7]);
    } catch {}
  }
  return { r, w, f };
}

export function machine() {
  const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  const model = /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1] ?? "unknown";
  let bun = "unavailable";
  try {
    bun = execFileSync(new URL("../../node_modules/.bin/bun", import.meta.url).pathname, ["--version"], {
      encoding: "utf8",
    }).trim();
  } catch {}
  const mem = /MemTotal:\s*(\d+)/.exec(readFileSync("/proc/meminfo", "utf8"))?.[1];
  return {
    nproc: Number(execFileSync("nproc", { encoding: "utf8" }).trim()),
    cpu: model,
    memGiB: mem ? Math.round(Number(mem) / 1024 / 1024) : null,
    node: process.version,
    bun,
    kernel: readFileSync("/proc/sys/kernel/osrelease", "utf8").trim(),
    loadavg: readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" "),
    date: new Date().toISOString(),
  };
}

/** Machine-wide busy CPU seconds (all CPUs, everything but idle and iowait) from /proc/stat. */
export function machineBusySeconds() {
  const f = readFileSync("/proc/stat", "latin1").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return (total - f[3] - f[4]) / CLK_TCK;
}
