/**
 * ConnectionList: a cable server's connections (all of them, or the welcomed ones), oldest first,
 * as a doubly linked list of small entries, each kept by its connection. It is also the read-only
 * Set the server hands out (`CableServer.connections`).
 *
 * Why not a Set: a JS Set that connections keep entering and leaving rehashes every few
 * additions, and each table it leaves behind keeps its entries and a pointer to the next table.
 * Once one of those tables sits in the old generation, the scavenger treats it as a root until the
 * next full GC: every later table and every connection (transport, socket, request...) they held
 * survives the young generation and is promoted. An entry's links are cleared when it leaves, so
 * nothing points from a gone connection to a newer one.
 *
 * Contract:
 * - `add(item)` appends and returns the item's entry, which the caller keeps (`entryOf(item)` must
 *   return it until `remove`); `remove(entry)` unlinks it (a no-op for null or an entry not in this
 *   list).
 * - `forEach` walks with a Set's rules: an item removed before its turn is skipped, one added
 *   meanwhile is visited, also when the visit adds, removes or walks. Its place in the list (a
 *   cursor the list moves on removals) lives only while it runs.
 * - The iterators (`values`, `for...of`, spread) go over the items listed when iteration starts,
 *   skipping those removed meanwhile: they register nothing with the list, so one dropped half
 *   way (the server hands this list out as `connections`) costs the list nothing.
 */

/** One item's place in a list. */
export interface ListEntry<T> {
  readonly item: T;
  prev: ListEntry<T> | null;
  next: ListEntry<T> | null;
  list: ConnectionList<T> | null;
}

/** Where one walk goes next (null: past the last entry). */
interface Cursor<T> {
  at: ListEntry<T> | null;
}

export class ConnectionList<T> implements ReadonlySet<T> {
  #first: ListEntry<T> | null = null;
  #last: ListEntry<T> | null = null;
  #size = 0;
  /** The cursor of each walk in progress; empty when nobody walks. */
  readonly #cursors: Cursor<T>[] = [];
  readonly #entryOf: (item: T) => ListEntry<T> | null;

  constructor(entryOf: (item: T) => ListEntry<T> | null) {
    this.#entryOf = entryOf;
  }

  get size(): number {
    return this.#size;
  }

  /** Walks in progress (tests: 0 once every walk ended). @internal */
  get walking(): number {
    return this.#cursors.length;
  }

  add(item: T): ListEntry<T> {
    const last = this.#last;
    const entry: ListEntry<T> = { item, prev: last, next: null, list: this };
    if (last === null) this.#first = entry;
    else last.next = entry;
    this.#last = entry;
    this.#size++;
    // A walk past the last entry (no next yet) goes on to this one.
    for (const cursor of this.#cursors) if (cursor.at === null) cursor.at = entry;
    return entry;
  }

  remove(entry: ListEntry<T> | null): void {
    if (entry === null || entry.list !== this) return;
    const next = entry.next;
    for (const cursor of this.#cursors) if (cursor.at === entry) cursor.at = next;
    const prev = entry.prev;
    if (prev === null) this.#first = next;
    else prev.next = next;
    if (next === null) this.#last = prev;
    else next.prev = prev;
    entry.prev = null;
    entry.next = null;
    entry.list = null;
    this.#size--;
  }

  has(item: T): boolean {
    return typeof item === "object" && item !== null && this.#entryOf(item)?.list === this;
  }

  forEach(visit: (value: T, key: T, set: ReadonlySet<T>) => void, thisArg?: unknown): void {
    const cursor: Cursor<T> = { at: this.#first };
    const cursors = this.#cursors;
    cursors.push(cursor);
    try {
      for (let entry = cursor.at; entry !== null; entry = cursor.at) {
        cursor.at = entry.next;
        visit.call(thisArg, entry.item, entry.item, this);
      }
    } finally {
      // Nested walks end innermost first; a throw ends this one too.
      const at = cursors.lastIndexOf(cursor);
      if (at === cursors.length - 1) cursors.pop();
      else cursors.splice(at, 1);
    }
  }

  *values(): Generator<T, undefined, unknown> {
    const items: T[] = [];
    for (let entry = this.#first; entry !== null; entry = entry.next) items.push(entry.item);
    for (const item of items) if (this.has(item)) yield item;
    return undefined;
  }

  keys(): Generator<T, undefined, unknown> {
    return this.values();
  }

  *entries(): Generator<[T, T], undefined, unknown> {
    for (const item of this.values()) yield [item, item];
    return undefined;
  }

  [Symbol.iterator](): Generator<T, undefined, unknown> {
    return this.values();
  }
}
