/**
 * The stream history benchmark (bench/channels/history.ts) works end to end: a tiny run (20
 * subscribers, bursts of 20, each configuration once) writes its table with a figure for every
 * configuration, and the Redis columns say what the design promises: one round trip per
 * broadcast with history on as off (one script stamps, stores and publishes). No timing
 * assertions: deliveries/s and CPU only have to exist and be positive.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { spawnTied } from "../helpers/tied-process.js";

const bench = fileURLToPath(new URL("../../bench/channels/history.ts", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "wirecable-history-bench-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("a tiny history benchmark run writes a figure for every configuration", { timeout: 150_000 }, async () => {
  const out = join(dir, "history.md");
  const child = spawnTied(
    process.execPath,
    ["--import", "tsx", bench, "--subscribers", "20", "--burst", "20", "--out", out],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr!.on("data", (d) => {
    stderr += d;
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), 140_000);
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  clearTimeout(timer);
  assert.equal(code, 0, stderr);
  const rows = readFileSync(out, "utf8")
    .split("\n")
    .filter((line) => /^\| (memory|Redis),/.test(line))
    .map((line) => line.split("|").map((cell) => cell.trim()));
  assert.deepEqual(
    rows.map((r) => r[1]),
    ["memory, history off", "memory, history on", "Redis, history off", "Redis, history on"],
  );
  for (const [, name, perSec, cpu, trips, commands] of rows) {
    assert.ok(Number(perSec!.replaceAll(",", "")) > 0, `${name}: deliveries/s`);
    assert.ok(Number(cpu) > 0, `${name}: CPU per delivery`);
    if (name!.startsWith("Redis")) {
      assert.equal(Number(trips), 1, `${name}: Redis round trips per broadcast`);
      assert.ok(Number(commands) >= 1, `${name}: commands Redis ran per broadcast`);
    }
  }
});
