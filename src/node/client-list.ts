/**
 * ClientList: a server's open connections, oldest first, as an intrusive doubly linked list (the
 * links live on the connections), and the `clients` Set made from it when first asked for.
 *
 * Why not a Set from the start: a JS Set that connections keep entering and leaving rehashes every
 * few additions, and each table it leaves behind keeps its entries and a pointer to the next
 * table. Once one of those tables sits in the old generation (promoted, or moved there by a full
 * GC), the scavenger treats it as a root until the next full GC: every table after it, and every
 * connection (socket, request...) they held, survives the young generation and is promoted. Under
 * a connect-upgrade-close load that was ~1.3 KB surviving per handshake, three times a bare
 * server's. The list's links are cleared when a connection leaves, so nothing points from a gone
 * connection to a newer one.
 *
 * Contract:
 * - `add` appends (a connection is listed at most once); `remove` is a no-op for one not listed.
 * - `forEach(visit)` visits the connections listed when it reaches them, oldest first: one removed
 *   before its turn is skipped, one added meanwhile is visited (a Set's iteration order and rules),
 *   also when `visit` adds or removes connections, or walks the list itself.
 * - `view()` is a Set of the same connections, the same object every time: made from the list on
 *   the first call, then kept in step by `add` and `remove` (its order: insertion, as the list's).
 */

/** The links a listed connection carries (read and written by its list only). */
export interface Listed {
  clientPrev: Listed | null;
  clientNext: Listed | null;
}

export class ClientList<C extends Listed> {
  #first: C | null = null;
  #last: C | null = null;
  #size = 0;
  /** The next connection of each walk in progress (innermost last); empty when nobody walks. */
  readonly #cursors: Array<C | null> = [];
  #view: Set<C> | undefined;

  get size(): number {
    return this.#size;
  }

  add(conn: C): void {
    if (this.#listed(conn)) return;
    const last = this.#last;
    conn.clientPrev = last;
    conn.clientNext = null;
    if (last === null) this.#first = conn;
    else last.clientNext = conn;
    this.#last = conn;
    this.#size++;
    // A walk at the last connection (no next yet) goes on to this one.
    const cursors = this.#cursors;
    for (let i = 0; i < cursors.length; i++) if (cursors[i] === null) cursors[i] = conn;
    this.#view?.add(conn);
  }

  remove(conn: C): void {
    if (!this.#listed(conn)) return;
    const next = conn.clientNext as C | null;
    const cursors = this.#cursors;
    for (let i = 0; i < cursors.length; i++) if (cursors[i] === conn) cursors[i] = next;
    const prev = conn.clientPrev as C | null;
    if (prev === null) this.#first = next;
    else prev.clientNext = next;
    if (next === null) this.#last = prev;
    else next.clientPrev = prev;
    conn.clientPrev = null;
    conn.clientNext = null;
    this.#size--;
    this.#view?.delete(conn);
  }

  forEach(visit: (conn: C) => void): void {
    const cursors = this.#cursors;
    const depth = cursors.length;
    cursors.push(this.#first);
    try {
      for (let conn = cursors[depth] as C | null; conn !== null; conn = cursors[depth] as C | null) {
        cursors[depth] = conn.clientNext as C | null;
        visit(conn);
      }
    } finally {
      cursors.length = depth;
    }
  }

  view(): Set<C> {
    if (this.#view === undefined) {
      const set = new Set<C>();
      for (let conn = this.#first; conn !== null; conn = conn.clientNext as C | null) set.add(conn);
      this.#view = set;
    }
    return this.#view;
  }

  #listed(conn: C): boolean {
    return conn.clientPrev !== null || this.#first === conn;
  }
}
