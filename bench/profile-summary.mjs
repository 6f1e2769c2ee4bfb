#!/usr/bin/env node
// Summarise V8 .cpuprofile files (from `node --cpu-prof`): self time per function and per file.
// Usage: node bench/profile-summary.mjs PROFILE.cpuprofile [--top N]
// Prints markdown: the busy share (samples that are not "(idle)"), then the top functions by self
// time as a share of busy time, then the same grouped by source file. Self time of sample i is
// timeDeltas[i + 1], as Chrome DevTools attributes it.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

const { values, positionals } = parseArgs({
  options: { top: { type: "string", default: "25" } },
  allowPositionals: true,
});
const top = Number(values.top);
if (positionals.length === 0) {
  console.error("usage: node bench/profile-summary.mjs PROFILE.cpuprofile [--top N]");
  process.exit(2);
}

const short = (url) =>
  url
    .replace(/^file:\/\//, "")
    .replace(/^.*\/(dist|src|node_modules)\//, "$1/")
    .replace(/^node:/, "node:") || "(native)";

for (const file of positionals) {
  const prof = JSON.parse(readFileSync(file, "utf8"));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map();
  for (let i = 0; i < prof.samples.length; i++) {
    const dt = prof.timeDeltas[i + 1] ?? 0;
    self.set(prof.samples[i], (self.get(prof.samples[i]) ?? 0) + dt);
  }
  let total = 0;
  let idle = 0;
  const fn = new Map();
  const files = new Map();
  for (const [id, us] of self) {
    const cf = byId.get(id).callFrame;
    total += us;
    if (cf.functionName === "(idle)") {
      idle += us;
      continue;
    }
    const name = cf.functionName || "(anonymous)";
    const where = cf.url ? `${short(cf.url)}:${cf.lineNumber + 1}` : "";
    const key = `${name}\t${where}`;
    fn.set(key, (fn.get(key) ?? 0) + us);
    const f = cf.url ? short(cf.url) : name;
    files.set(f, (files.get(f) ?? 0) + us);
  }
  const busy = total - idle;
  const pct = (us) => `${((us / busy) * 100).toFixed(1)}%`;
  console.log(`### ${file.split("/").pop()}\n`);
  console.log(
    `Profile span ${(total / 1e6).toFixed(2)} s, busy ${(busy / 1e6).toFixed(2)} s (${((busy / total) * 100).toFixed(0)}%); shares below are of busy time.\n`,
  );
  console.log("| self | function | location |\n|---:|---|---|");
  for (const [key, us] of [...fn].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    const [name, where] = key.split("\t");
    console.log(`| ${pct(us)} | \`${name}\` | ${where} |`);
  }
  console.log("\n| self | file |\n|---:|---|");
  for (const [f, us] of [...files].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`| ${pct(us)} | ${f} |`);
  console.log("");
}
