/**
 * Reconnection delays: exponential backoff with "full jitter" (AWS Architecture Blog,
 * "Exponential Backoff And Jitter"): the ceiling grows as initial * factor^attempt up to max,
 * and the delay is uniform in [0, ceiling). Jitter spreads a fleet of clients that lost their
 * server at the same instant (a deploy), instead of bringing them back in synchronized waves.
 * Pure: the caller supplies the random number.
 */

export interface BackoffOptions {
  readonly initialDelay: number;
  readonly factor: number;
  readonly maxDelay: number;
  readonly jitter: "full" | "none";
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialDelay: 1000, factor: 2, maxDelay: 30_000, jitter: "full" };

/** The upper bound of the delay before retry number `attempt` (0-based). */
export function backoffCeiling(attempt: number, options: BackoffOptions): number {
  // Computed in a loop-free way that cannot overflow into Infinity * 0 = NaN.
  const exp = options.initialDelay * options.factor ** Math.max(0, attempt);
  return Math.min(options.maxDelay, Number.isFinite(exp) ? exp : options.maxDelay);
}

/** The delay before retry number `attempt` (0-based), given `random` uniform in [0, 1). */
export function backoffDelay(attempt: number, options: BackoffOptions, random: number): number {
  const ceiling = backoffCeiling(attempt, options);
  if (options.jitter === "none") return ceiling;
  return Math.floor(random * ceiling);
}
