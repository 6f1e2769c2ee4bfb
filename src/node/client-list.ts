/**
 * ClientList: a server's open connections, oldest first, as an intrusive doubly linked list (the
 * links live on the connections), and the read-only Set view of them that `wss.clients` returns.
 *
 * Why not a Set: a JS Set that connections keep entering and leaving rehashes every few
 * additions, and each table it leaves behind keeps its entries and a pointer to the next table.
 * Once one of those tables sits in the old generation (promoted, or moved there by a full GC), the
 * scavenger treats it as a root until the next full GC: every table after it, and every
 * connection (socket, request...) they held, survives the young generation and is promoted. Under
 * a connect-upgrade-close load that was ~1.3 KB surviving per handshake, three times a bare
 * server's. The list's links are cleared when a connection leaves, so nothing points from a gone
 * connection to a newer one.
 *
 * Contract:
 * - A connection is in one list at a time: the list whose `hook` it carries as `onFinish` (set by
 *   `add`, cleared by `remove`; the connection calls it when it is finished, which removes it).
 *   `add` of a listed connection, `remove` and `has` of one not in this list do nothing / false.
 * - `forEach(visit)` follows a Set's iteration rules, oldest first: a connection removed before its
 *   turn is skipped, one added meanwhile is visited, also when `visit` adds, removes or walks.
 * - `view()`: one {@link ReadonlySet} per list (never a Set: no hash table to churn) whose size,
 *   `has` and `forEach` are the list's; its iterators (`values`, `keys`, `entries`, for-of) visit
 *   the connections listed when the iteration starts, skipping those gone since.
 */

/** What a listed connection carries (written by its list only). */
export interface Listed {
  clientPrev: Listed | null;
  clientNext: Listed | null;
  /** The hook of the list it is in (see the contract); undefined when in none. */
  onFinish: ((conn: never) => void) | undefined;
}

export class ClientList<C extends Listed> {
  #first: C | null = null;
  #last: C | null = null;
  #size = 0;
  /** The next connection of each forEach in progress (innermost last); empty when nobody walks. */
  readonly #cursors: Array<C | null> = [];
  #view: ReadonlySet<C> | undefined;
  /** What a listed connection calls when it is finished: takes it out of this list. */
  readonly hook: (conn: never) => void = (conn: C): void => this.remove(conn);

  get size(): number {
    return this.#size;
  }

  /** @internal forEach walks in progress (0 when none: a throwing visit leaves none behind). */
  get walking(): number {
    return this.#cursors.length;
  }

  has(conn: C): boolean {
    return (conn.onFinish as unknown) === this.hook;
  }

  add(conn: C): void {
    if (conn.onFinish !== undefined) return; // listed (here or elsewhere)
    conn.onFinish = this.hook;
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
  }

  remove(conn: C): void {
    if (!this.has(conn)) return;
    conn.onFinish = undefined;
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

  /** The connections listed now, oldest first. */
  toArray(): C[] {
    const out: C[] = [];
    for (let conn = this.#first; conn !== null; conn = conn.clientNext as C | null) out.push(conn);
    return out;
  }

  view(): ReadonlySet<C> {
    this.#view ??= new ClientsView(this);
    return this.#view;
  }
}

/** The read-only Set view of a {@link ClientList} (see the module contract). */
class ClientsView<C extends Listed> implements ReadonlySet<C> {
  readonly #list: ClientList<C>;

  constructor(list: ClientList<C>) {
    this.#list = list;
  }

  get size(): number {
    return this.#list.size;
  }

  has(value: C): boolean {
    return typeof value === "object" && value !== null && this.#list.has(value);
  }

  forEach(callbackfn: (value: C, value2: C, set: ReadonlySet<C>) => void, thisArg?: unknown): void {
    this.#list.forEach((conn) => {
      callbackfn.call(thisArg, conn, conn, this);
    });
  }

  *values(): SetIterator<C> {
    const list = this.#list;
    for (const conn of list.toArray()) if (list.has(conn)) yield conn;
  }

  keys(): SetIterator<C> {
    return this.values();
  }

  *entries(): SetIterator<[C, C]> {
    for (const conn of this.values()) yield [conn, conn];
  }

  [Symbol.iterator](): SetIterator<C> {
    return this.values();
  }

  get [Symbol.toStringTag](): string {
    return "ClientSet";
  }

  /** `console.log(wss.clients)`: the connections, as a Set prints its entries. */
  [Symbol.for("nodejs.util.inspect.custom")](
    _depth: number,
    options: object,
    inspect: (value: unknown, options: object) => string,
  ): string {
    return `ClientSet(${this.size}) ${inspect(new Set(this.values()), options).replace(/^Set\(\d+\) /, "")}`;
  }
}

// ES2024's set methods (union, isSubsetOf, ...) where this Node's Set has them (22 on): computed
// on a Set of the connections open now, so that the view answers as a Set would.
for (const name of [
  "union",
  "intersection",
  "difference",
  "symmetricDifference",
  "isSubsetOf",
  "isSupersetOf",
  "isDisjointFrom",
]) {
  const method = (Set.prototype as unknown as Record<string, unknown>)[name];
  if (typeof method !== "function") continue;
  Object.defineProperty(ClientsView.prototype, name, {
    configurable: true,
    writable: true,
    value: function (this: ClientsView<Listed>, other: unknown): unknown {
      return method.call(new Set(this.values()), other);
    },
  });
}
