#!/usr/bin/env node
// Runs the test suite with Node's own test runner (TypeScript through tsx).
// Usage: node scripts/run-tests.mjs [--all] [path-or-substring ...]
//   no filters: every test/**/*.test.ts; filters keep files whose path contains one of them.
import { spawn } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const args = process.argv.slice(2).filter((a) => a !== "--all");

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    if (name === "node_modules" || name.startsWith(".")) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith(".test.ts")) out.push(relative(root, p));
  }
  return out;
}

let files = walk(join(root, "test")).sort();
if (args.length > 0) files = files.filter((f) => args.some((a) => f.includes(a)));
if (files.length === 0) {
  console.error("no test files matched");
  process.exit(1);
}
const concurrency = process.env.TEST_CONCURRENCY ?? "2";
// A file whose tests pass but whose process never exits (a handle left open) is killed and
// counted as a failure after this long, instead of hanging CI.
// Scaled like every other bound of the suite (WIRECABLE_TEST_TIME_SCALE, test/helpers/time.ts).
const timeout = process.env.TEST_TIMEOUT_MS ?? String(240_000 * (Number(process.env.WIRECABLE_TEST_TIME_SCALE) || 1));
const child = spawn(
  process.execPath,
  [
    "--import",
    "tsx",
    "--test",
    `--test-concurrency=${concurrency}`,
    `--test-timeout=${timeout}`,
    "--test-reporter=spec",
    ...files,
  ],
  { cwd: root, stdio: "inherit", env: { ...process.env, NODE_ENV: "test" } },
);
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
