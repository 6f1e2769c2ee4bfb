/**
 * Helpers for the tests ported from ws's suite: mocha's `done` style on top of node:test
 * (a test settles when `done()` runs, fails on `done(err)` or on an assertion thrown inside an
 * event handler), bounded by a timeout so that a missing event fails instead of hanging.
 */
import type { AddressInfo } from "node:net";
import { UNIT } from "../helpers/time.js";

export type Done = (error?: unknown) => void;

/** Run `body(done)` as a test; asserts thrown in handlers are caught through uncaughtException. */
export function withDone(body: (done: Done) => void, ms = 100 * UNIT): () => Promise<void> {
  return () =>
    new Promise<void>((resolve, reject) => {
      let settled = false;
      const finish = (error?: unknown): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        process.off("uncaughtException", onUncaught);
        if (error) reject(error);
        else resolve();
      };
      const onUncaught = (error: unknown): void => finish(error);
      process.on("uncaughtException", onUncaught);
      const timer = setTimeout(() => finish(new Error(`done() not called within ${ms} ms`)), ms);
      try {
        body(finish);
      } catch (error) {
        finish(error);
      }
    });
}

export function port(server: { address(): AddressInfo | string | null }): number {
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("not listening on TCP");
  return address.port;
}

/** A listener for a path that must not be taken. */
export function unexpected(done: Done, what: string): () => void {
  return () => done(new Error(`Unexpected ${what}`));
}
