/**
 * The default clock: the global timers, `Date.now` and `Math.random` (jitter needs no
 * cryptographic quality). Looked up at call time, so fake timers installed later still apply.
 */
import type { Clock } from "./types.js";

export const systemClock: Clock = {
  setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
  now: () => Date.now(),
  random: () => Math.random(),
};
