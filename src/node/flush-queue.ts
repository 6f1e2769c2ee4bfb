/**
 * Per-turn write batching. A connection that produces output marks itself dirty here; one
 * `setImmediate` per event-loop turn (shared by every dirty connection of the process) then
 * flushes each with a single write, so 100 sends in one turn cost one syscall, not 100.
 */
export interface Flushable {
  flushNow(): void;
}

let dirty: Flushable[] = [];
let spare: Flushable[] = [];
let scheduled = false;

function flushAll(): void {
  scheduled = false;
  const list = dirty;
  dirty = spare;
  for (let i = 0; i < list.length; i++) list[i]!.flushNow();
  list.length = 0;
  spare = list;
}

/** Queue `target.flushNow()` for the end of this turn. Call once per dirty period. */
export function markDirty(target: Flushable): void {
  dirty.push(target);
  if (!scheduled) {
    scheduled = true;
    setImmediate(flushAll);
  }
}
