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

/** Unknown names in --only / --servers, checked against the suite's own lists before it starts. */
async function checkNames(opts: BenchOptions): Promise<string | undefined> {
  const lib = (file: string): string => new URL(`../../bench/lib/${file}`, import.meta.url).href;
  const { WORKLOADS } = (await import(lib("workloads.mjs"))) as { WORKLOADS: Array<{ name: string }> };
  const { SERVERS } = (await import(lib("processes.mjs"))) as { SERVERS: Record<string, unknown> };
  const lists: Array<[string, string | undefined, string[]]> = [
    ["--only <workloads>", opts.only, WORKLOADS.map((w) => w.name)],
    ["--servers <servers>", opts.servers, Object.keys(SERVERS)],
  ];
  for (const [flag, value, known] of lists) {
    if (value === undefined) continue;
    const names = value.split(",").map((s) => s.trim());
    const unknown = names.filter((n) => n !== "" && !known.includes(n));
    if (names.includes("") || unknown.length > 0) {
      return `option '${flag}' argument '${value}' is invalid. ${unknown.length > 0 ? `unknown: ${unknown.join(", ")}` : "an empty name"}; known: ${known.join(", ")}`;
    }
  }
  return undefined;
}

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
    .action(async (opts: BenchOptions, command: Command) => {
      if (!existsSync(RUNNER)) {
        command.error(
          "error: bench runs the benchmark suite of a source checkout (bench/ is not in the npm package): git clone the repository, then npm install && npm run bench",
        );
      }
      const problem = await checkNames(opts);
      if (problem !== undefined) command.error(`error: ${problem}`);
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
