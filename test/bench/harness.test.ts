/**
 * The benchmark harness works end to end: a tiny run (one workload, ws and websocket-driver,
 * about a second each) writes results.json, results.md and chart.svg with numbers in them.
 * No timing assertions: the figures only have to exist and be positive.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";

const runner = fileURLToPath(new URL("../../bench/run.mjs", import.meta.url));
const out = mkdtempSync(join(tmpdir(), "wirecable-bench-"));
after(() => rmSync(out, { recursive: true, force: true }));

interface Row {
  server: string;
  error?: string;
  perSec: number;
  cpuUsPer: number;
  p50: number;
}

test("a tiny bench run writes results with numbers for each server", { timeout: 30_000 }, async () => {
  const child = spawn(
    process.execPath,
    [
      runner,
      "--only",
      "latency",
      "--servers",
      "ws,websocket-driver",
      "--window",
      "0.8",
      "--warmup",
      "0.2",
      "--out",
      out,
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr.on("data", (d) => {
    stderr += d;
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), 25_000);
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  clearTimeout(timer);
  assert.equal(code, 0, stderr);
  assert.match(stderr, /latency \/ ws: [\d,]+ msg\/s/);

  const run = JSON.parse(readFileSync(join(out, "results.json"), "utf8"));
  assert.ok(run.machine.nproc >= 1);
  const rows: Row[] = run.workloads[0].rows;
  assert.deepEqual(
    rows.map((r) => r.server),
    ["ws", "websocket-driver"],
  );
  for (const r of rows) {
    assert.equal(r.error, undefined);
    assert.ok(r.perSec > 0, `${r.server} msg/s`);
    assert.ok(r.cpuUsPer > 0, `${r.server} CPU/msg`);
    assert.ok(r.p50 > 0, `${r.server} p50`);
  }

  const md = readFileSync(join(out, "results.md"), "utf8");
  assert.match(md, /\| ws \| [\d,]+ \| [\d.]+ \| \d+/);
  assert.match(md, /\| websocket-driver \| [\d,]+ \|/);
  const svg = readFileSync(join(out, "chart.svg"), "utf8");
  assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.match(svg, /<rect [^>]*fill="#1c7ed6"/);
});
