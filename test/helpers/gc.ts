/**
 * Whether memory is let go: `survivors(refs)` waits for the job that made the WeakRefs to end
 * (a WeakRef holds its target until then), runs a full GC and returns what is still alive
 * (undefined for each target collected). The caller drops its own references first.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

let gc: (() => void) | undefined;

/** A full garbage collection, exposed for the test process on first use. */
export function collectGarbage(): void {
  if (gc === undefined) {
    setFlagsFromString("--expose-gc");
    gc = runInNewContext("gc") as () => void;
  }
  gc();
}

export async function survivors(refs: WeakRef<object>[]): Promise<(object | undefined)[]> {
  await new Promise((resolve) => setImmediate(resolve));
  collectGarbage();
  return refs.map((ref) => ref.deref());
}
