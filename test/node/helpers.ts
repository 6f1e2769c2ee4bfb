/**
 * Shared helpers for the Node-layer tests: a time unit scaled by WIRECABLE_TEST_TIME_SCALE
 * (default 1; raise it on slow machines), bounded waits, and cleanup lists.
 */
import { once } from "node:events";
import type { AddressInfo } from "node:net";

/** One time unit in ms: 100 ms x WIRECABLE_TEST_TIME_SCALE. Timeouts in tests are multiples of it. */
export const UNIT = 100 * (Number(process.env.WIRECABLE_TEST_TIME_SCALE) || 1);

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

/** Wait for an event with a bound. */
export function event<T extends unknown[] = unknown[]>(
  emitter: NodeJS.EventEmitter,
  name: string,
  ms = 50 * UNIT,
): Promise<T> {
  return within(once(emitter, name) as Promise<T>, ms, `event "${name}"`);
}

export function portOf(address: AddressInfo | string | null): number {
  if (address === null || typeof address === "string") throw new Error("not listening on TCP");
  return address.port;
}

/** Poll `check` until true (bounded). */
export async function until(check: () => boolean, ms = 50 * UNIT, what = "condition"): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`${what} not reached within ${ms} ms`);
    await sleep(5);
  }
}
