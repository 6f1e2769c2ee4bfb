#!/usr/bin/env node
// What a server's garbage collector does per handshake under the handshake load (4 native load
// generators: connect, upgrade, reset; 16 in flight each, as handshake-ab.mjs): one server started
// with --trace-gc-nvp, its collections summed over the run and divided by the handshakes. Bytes
// that survive a scavenge are what the young generation copies (and then promotes): a server
// whose per-handshake objects stay reachable from old garbage shows it here long before it shows
// in CPU. Also CPU per handshake (utime, stime: /proc/PID/stat) and minor faults.
// Usage: node bench/handshake-gc.mjs [--seconds S] SERVER[,VAR:VALUE...]
//   e.g. node bench/handshake-gc.mjs wirecable,WIRECABLE_DIST:/tmp/b/dist ; node bench/handshake-gc.mjs floor
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { startNativeLoadgen } from "./lib/native-loadgen.mjs";
import { gcRecords, spawnServer } from "./lib/server-process.mjs";

const { values, positionals } = parseArgs({
  options: { seconds: { type: "string", default: "4" } },
  allowPositionals: true,
});
if (positionals.length !== 1) {
  console.error("usage: node bench/handshake-gc.mjs [--seconds S] SERVER[,VAR:VALUE...]");
  process.exit(2);
}
const [file, ...vars] = positionals[0].split(",");
const child = spawnServer(file, vars, ["--trace-gc-nvp"]);
let out = "";
child.stdout.on("data", (d) => {
  out += d;
});
const port = await new Promise((resolve, reject) => {
  child.on("exit", () => reject(new Error(`${file}: server exited`)));
  const poll = setInterval(() => {
    const m = /LISTENING (\d+)/.exec(out);
    if (m) {
      clearInterval(poll);
      resolve(Number(m[1]));
    }
  }, 20);
});

/** utime, stime (ticks of 10 ms) and minor faults of the server process. */
function stat(pid) {
  const s = readFileSync(`/proc/${pid}/stat`, "latin1");
  const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
  return { user: Number(f[11]), sys: Number(f[12]), minflt: Number(f[7]) };
}

const loadgens = Array.from({ length: 4 }, () => startNativeLoadgen());
const config = { host: "127.0.0.1", port, mode: "handshake", concurrency: 16, groups: [{ name: "hs", count: 0 }] };
await Promise.all(loadgens.map((lg) => lg.connect(config)));
const from = out.length; // collections before the load are not counted
const s0 = stat(child.pid);
await Promise.all(loadgens.map((lg) => lg.start()));
await sleep(Number(values.seconds) * 1000);
const marks = await Promise.all(loadgens.map((lg) => lg.mark()));
const s1 = stat(child.pid);
await Promise.all(loadgens.map((lg) => lg.stop()));
const n = marks.reduce((a, m) => a + m.handshakes, 0);
const exited = new Promise((resolve) => child.on("exit", resolve));
child.stdin.end(); // the server exits (its trace flushed)
await exited;

const sum = { allocated: 0, survived: 0, promoted: 0, scavenges: 0, scavengePause: 0, full: 0, fullPause: 0 };
for (const v of gcRecords(out.slice(from))) {
  sum.allocated += Number(v.allocated);
  if (v.gc === "s") {
    sum.scavenges++;
    sum.scavengePause += Number(v.pause);
    sum.survived += Number(v.new_space_survived);
    sum.promoted += Number(v.promoted);
  } else {
    sum.full++;
    sum.fullPause += Number(v.pause);
  }
}
const us = (ticks) => ((ticks * 1e4) / n).toFixed(1);
const per = (bytes) => (bytes / n).toFixed(0);
console.log(
  `${positionals[0]}: ${n} handshakes; CPU ${us(s1.user - s0.user + s1.sys - s0.sys)} us ` +
    `(user ${us(s1.user - s0.user)}, sys ${us(s1.sys - s0.sys)}); minor faults ${((s1.minflt - s0.minflt) / n).toFixed(2)}`,
);
console.log(
  `per handshake: allocated ${per(sum.allocated)} B, survived a scavenge ${per(sum.survived)} B, ` +
    `promoted ${per(sum.promoted)} B; ${sum.scavenges} scavenges (pause ${((sum.scavengePause * 1e3) / n).toFixed(2)} ` +
    `us/handshake), ${sum.full} full GCs (${((sum.fullPause * 1e3) / n).toFixed(2)} us/handshake)`,
);
process.exit(0);
