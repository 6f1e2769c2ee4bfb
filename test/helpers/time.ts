/**
 * Time in tests, one home: every timeout is a multiple of {@link UNIT}, scaled by the one
 * environment variable WIRECABLE_TEST_TIME_SCALE (default 1; raise it on a slow machine), and
 * every wait is for an event or a condition, bounded.
 */
import { once } from "node:events";

/** WIRECABLE_TEST_TIME_SCALE: multiplies every timeout of the suite. */
export const TIME_SCALE = Number(process.env.WIRECABLE_TEST_TIME_SCALE) || 1;
/** One time unit in ms: 100 ms x TIME_SCALE. */
export const UNIT = 100 * TIME_SCALE;

/** A pause of `ms` (not scaled: pass multiples of UNIT). For "nothing happens meanwhile" checks only. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Reject if `promise` does not settle within `ms` (default 50 units). */
export function within<T>(promise: Promise<T>, ms = 50 * UNIT, what = "operation"): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
    }),
  ]);
}

/** The next `name` event of `emitter` (its arguments), bounded. */
export function event<T extends unknown[] = unknown[]>(
  emitter: NodeJS.EventEmitter,
  name: string,
  ms = 50 * UNIT,
): Promise<T> {
  return within(once(emitter, name) as Promise<T>, ms, `event "${name}"`);
}

/** Poll `check` every 5 ms until it holds; reject after `ms` (default 50 units) naming `what`. */
export async function until(check: () => boolean, what = "condition", ms = 50 * UNIT): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`${what} not reached within ${ms} ms`);
    await sleep(5);
  }
}
