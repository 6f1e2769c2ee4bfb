/**
 * How long the fuzzers run. CI runs each target briefly (the defaults); a long run sets
 * WIRECABLE_FUZZ_RUNS (fast-check runs per property, and connections for the network fuzzers,
 * multiplied by WIRECABLE_FUZZ_SCALE for those) and WIRECABLE_FUZZ_SEED to replay a failure:
 *
 *   WIRECABLE_FUZZ_RUNS=200000 node scripts/run-tests.mjs test/fuzz        # about an hour
 *   WIRECABLE_FUZZ_SEED=1234 node scripts/run-tests.mjs test/fuzz/frame     # replay a seed
 *
 * fast-check prints the seed and the shrunk counterexample of any failure.
 */
import type fc from "fast-check";

const runs = Number(process.env.WIRECABLE_FUZZ_RUNS) || 0;
const seed = process.env.WIRECABLE_FUZZ_SEED === undefined ? undefined : Number(process.env.WIRECABLE_FUZZ_SEED);

/** fast-check parameters: `ciRuns` runs in CI, WIRECABLE_FUZZ_RUNS in a long run. */
export function fuzzParams(ciRuns: number): fc.Parameters<unknown> {
  return { numRuns: runs > 0 ? runs : ciRuns, ...(seed !== undefined ? { seed } : {}) };
}

/** A count for the network fuzzers: `ci` in CI, WIRECABLE_FUZZ_RUNS / 10 in a long run (at least `ci`). */
export function fuzzCount(ci: number): number {
  return runs > 0 ? Math.max(ci, Math.floor(runs / 10)) : ci;
}

/** Whether this is a long run (tests may then also run the slower properties). */
export const LONG_RUN = runs > 0;
