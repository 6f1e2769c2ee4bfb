/**
 * The benchmark harness works end to end: tiny runs (one workload, two servers, about a second
 * each) write results.json, results.md and chart.svg with numbers in them, driven by the native
 * load generator (bench/lib/loadgen.c, compiled with gcc on first use) and by the JS one.
 * No timing assertions: the figures only have to exist and be positive.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { spawnTied } from "../helpers/tied-process.js";

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

async function tinyRun(dir: string, servers: string[], extra: string[]): Promise<{ rows: Row[]; stderr: string }> {
  const child = spawnTied(
    process.execPath,
    [
      runner,
      "--only",
      "latency",
      "--servers",
      servers.join(","),
      "--window",
      "0.8",
      "--warmup",
      "0.2",
      "--out",
      dir,
      ...extra,
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr.on("data", (d) => {
    stderr += d;
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), 50_000);
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  clearTimeout(timer);
  assert.equal(code, 0, stderr);
  const run = JSON.parse(readFileSync(join(dir, "results.json"), "utf8"));
  assert.ok(run.machine.nproc >= 1);
  const rows: Row[] = run.workloads[0].rows;
  assert.deepEqual(
    rows.map((r) => r.server),
    servers,
  );
  for (const r of rows) {
    assert.equal(r.error, undefined, `${r.server}: ${r.error}`);
    assert.ok(r.perSec > 0, `${r.server} msg/s`);
    assert.ok(r.cpuUsPer > 0, `${r.server} CPU/msg`);
    assert.ok(r.p50 > 0, `${r.server} p50`);
  }
  return { rows, stderr };
}

test("a tiny bench run (native load generator) writes results with numbers for each server", {
  timeout: 60_000,
}, async () => {
  const dir = join(out, "native");
  const { stderr } = await tinyRun(dir, ["ws", "uws"], []);
  assert.match(stderr, /latency \/ ws: [\d,]+ msg\/s/);
  assert.match(stderr, /latency \/ uws: [\d,]+ msg\/s/);
  const md = readFileSync(join(dir, "results.md"), "utf8");
  assert.match(md, /\| ws \| [\d,]+ \| [\d.]+ \| \d+/);
  assert.match(md, /\| uws \| [\d,]+ \|/);
  assert.match(md, /bench\/lib\/loadgen\.c/);
  const svg = readFileSync(join(dir, "chart.svg"), "utf8");
  assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.match(svg, /<rect [^>]*fill="#1c7ed6"/);
});

test("--loadgen js drives the same run with the Node load generator", { timeout: 60_000 }, async () => {
  const dir = join(out, "js");
  await tinyRun(dir, ["ws", "websocket-driver"], ["--loadgen", "js"]);
  assert.match(readFileSync(join(dir, "results.md"), "utf8"), /bench\/lib\/loadgen\.mjs/);
});

test("the CLI rows exec the bin; cli-echo-semi8's NODE_OPTIONS reaches it", { timeout: 30_000 }, async () => {
  const { startServer } = (await import(new URL("../../bench/lib/processes.mjs", import.meta.url).href)) as {
    startServer: (name: string) => Promise<{ pid: number; stop: () => Promise<void> }>;
  };
  for (const [name, flagged] of [
    ["cli-echo-semi8", true],
    ["cli-echo", false],
  ] as const) {
    const server = await startServer(name);
    try {
      const argv = readFileSync(`/proc/${server.pid}/cmdline`, "utf8").split("\0");
      // `env node` execs node with the bin as its script: no flags on the command line.
      assert.deepEqual(
        argv.slice(1, 3),
        [fileURLToPath(new URL("../../bin/wirecable.js", import.meta.url)), "echo"],
        argv.join(" "),
      );
      const environ = readFileSync(`/proc/${server.pid}/environ`, "utf8").split("\0");
      const options = environ.find((v) => v.startsWith("NODE_OPTIONS=")) ?? "";
      assert.equal(options.includes("--max-semi-space-size=8"), flagged, `${name}: ${options}`);
      assert.match(options, /--expose-gc --require "[^"]*gc-hook\.cjs"/);
    } finally {
      await server.stop();
    }
  }
});

test("a server row's own node flags reach its process (the -semi8 idle rows)", { timeout: 30_000 }, async () => {
  const { startServer } = (await import(new URL("../../bench/lib/processes.mjs", import.meta.url).href)) as {
    startServer: (name: string) => Promise<{ pids: number[]; stop: () => Promise<void> }>;
  };
  for (const [name, flagged] of [
    ["bare-semi8", true],
    ["bare", false],
  ] as const) {
    const server = await startServer(name);
    try {
      const cmdlines = server.pids.map((pid) => readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0"));
      const node = cmdlines.find((argv) => argv.some((a) => a.endsWith("bench/servers/bare.mjs")));
      assert.ok(node, `${name}: no node process among ${JSON.stringify(cmdlines)}`);
      assert.equal(node.includes("--max-semi-space-size=8"), flagged, `${name}: ${node.join(" ")}`);
    } finally {
      await server.stop();
    }
  }
});
