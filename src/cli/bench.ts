/**
 * `wirecable bench [--quick] [--only a,b] [--servers x,y] [--window S] [--warmup S] [--workers N]
 * [--repeat N] [--loadgen native|js] [--out DIR] [--cpu-prof DIR]`: the side-by-side benchmark suite
 * (bench/run.mjs) against ws, uWebSockets.js, Bun and websocket-driver. Runs it in a child Node process so the suite's own processes
 * (servers, load generators) inherit nothing from the CLI; exits with the suite's status.
 * Works from a checkout only (bench/ is not published): says so when bench/run.mjs is missing.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type Command, InvalidArgumentError } from "commander";

interface BenchOptions {
  quick: boolean;
  only?: string;
  servers?: string;
  window?: string;
  warmup?: string;
  workers?: string;
  repeat?: string;
  loadgen?: string;
  out?: string;
  cpuProf?: string;
}

/** Commander parsers: a clear error and a non-zero exit instead of NaN reaching the suite. */
function positiveNumber(value: string): string {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n <= 0)
    throw new InvalidArgumentError("expected a positive number of seconds.");
  return value;
}
function positiveInteger(value: string): string {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("expected a whole number of at least 1.");
  return value;
}

/** The suite's entry point: ../../bench/run.mjs from both src/cli/ and dist/cli/. */
const RUNNER = fileURLToPath(new URL("../../bench/run.mjs", import.meta.url));

export function registerBench(program: Command): void {
  program
    .command("bench")
    .description("run the side-by-side benchmark suite (writes bench/results/results.md and chart.svg)")
    .option("--quick", "short windows, small idle counts, skip the 100k and saturation runs", false)
    .option("--only <workloads>", "comma-separated workloads (small-echo, latency, large, conns-1000, ...)")
    .option("--servers <servers>", "comma-separated servers (wirecable, cli-echo, cli-broadcast, ws, uws, bun, ...)")
    .option("--window <seconds>", "measured window per run", positiveNumber)
    .option("--warmup <seconds>", "warm-up before each window", positiveNumber)
    .option("--workers <n>", "server processes for the idle-100k run", positiveInteger)
    .option("--repeat <n>", "interleaved rounds per traffic workload; each server keeps its best", positiveInteger)
    .option("--loadgen <kind>", "native (bench/lib/loadgen.c, C and epoll; the default) or js")
    .option("--out <dir>", "where to write results.json, results.md and chart.svg")
    .option("--cpu-prof <dir>", "run wirecable's server under node --cpu-prof, profiles into <dir>")
    .action(async (opts: BenchOptions) => {
      if (!existsSync(RUNNER)) {
        console.error(`wirecable bench: ${RUNNER} not found (the suite runs from a source checkout)`);
        process.exitCode = 1;
        return;
      }
      const args: string[] = [RUNNER];
      if (opts.quick) args.push("--quick");
      const pass: Array<[keyof BenchOptions, string]> = [
        ["only", "--only"],
        ["servers", "--servers"],
        ["window", "--window"],
        ["warmup", "--warmup"],
        ["workers", "--workers"],
        ["repeat", "--repeat"],
        ["loadgen", "--loadgen"],
        ["out", "--out"],
        ["cpuProf", "--cpu-prof"],
      ];
      for (const [key, flag] of pass) {
        const v = opts[key];
        if (typeof v === "string") args.push(flag, v);
      }
      const child = spawn(process.execPath, args, { stdio: "inherit" });
      const code = await new Promise<number>((resolve) => {
        child.on("exit", (c, signal) => resolve(c ?? (signal ? 1 : 0)));
        child.on("error", () => resolve(1));
      });
      process.exitCode = code;
    });
}

/** The same function under the name the other command files use. */
export const register = registerBench;
