/**
 * Backpressure: a fast producer (market ticks) and clients that may read slowly. Each client
 * has a bounded buffer that drops the OLDEST ticks when full: a slow client skips stale prices
 * and always catches up with the newest, and the server's memory per client stays bounded.
 *
 * The buffer is only filled when the socket itself is behind: a tick is sent directly while
 * `conn.bufferedAmount` is under HIGH_WATER, and buffered otherwise; `drain` empties it.
 * Run: npx tsx examples/backpressure/server.ts [port]    (try: node bin/wirecable.js connect ws://127.0.0.1:8082)
 */
import { pathToFileURL } from "node:url";
import { type Connection, WebSocketServer } from "../../src/node/index.js";

/** A FIFO of at most `capacity` items; pushing onto a full one evicts the oldest. */
export class DropOldestBuffer<T> {
  readonly #items: Array<T | undefined>;
  #head = 0;
  #size = 0;
  dropped = 0;
  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError("capacity must be an integer >= 1");
    this.#items = new Array(capacity);
  }
  get size(): number {
    return this.#size;
  }
  /** Returns true when the oldest item was evicted to make room. */
  push(item: T): boolean {
    const full = this.#size === this.capacity;
    if (full) {
      this.#head = (this.#head + 1) % this.capacity; // overwrite the oldest
      this.#size--;
      this.dropped++;
    }
    this.#items[(this.#head + this.#size) % this.capacity] = item;
    this.#size++;
    return full;
  }
  shift(): T | undefined {
    if (this.#size === 0) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.capacity;
    this.#size--;
    return item;
  }
}

export interface BackpressureOptions {
  port?: number;
  host?: string;
  /** Ticks kept per slow client. */
  capacity?: number;
  /** Bytes allowed in the socket's buffer before ticks are kept in ours instead. */
  highWater?: number;
  /** Ticks produced per batch (a batch every millisecond or so). */
  batch?: number;
}

export interface Stats {
  produced: number;
  dropped: number;
  maxBuffered: number;
}

export async function start(options: BackpressureOptions = {}): Promise<{ wss: WebSocketServer; stats: Stats }> {
  const capacity = options.capacity ?? 1000;
  const highWater = options.highWater ?? 64 * 1024;
  const batch = options.batch ?? 20;
  const stats: Stats = { produced: 0, dropped: 0, maxBuffered: 0 };
  const wss = new WebSocketServer({
    port: options.port ?? 8082,
    host: options.host ?? "127.0.0.1",
    // Our own buffer bounds memory; the connection's policy is the last line of defence.
    maxBufferedAmount: 8 * 1024 * 1024,
    backpressure: "close",
  });
  const feeds = new Set<{ conn: Connection; buffer: DropOldestBuffer<string>; flush(): void }>();

  wss.on("connection", (conn: Connection) => {
    const buffer = new DropOldestBuffer<string>(capacity);
    const flush = (): void => {
      while (buffer.size > 0 && conn.bufferedAmount < highWater) conn.send(buffer.shift()!);
    };
    const feed = { conn, buffer, flush };
    feeds.add(feed);
    conn.on("drain", flush);
    conn.on("close", () => feeds.delete(feed));
  });

  let seq = 0;
  const timer = setInterval(() => {
    for (let i = 0; i < batch; i++) {
      const tick = JSON.stringify({ seq: ++seq, price: 100 + Math.sin(seq / 50) * 5, at: Date.now() });
      stats.produced++;
      for (const feed of feeds) {
        if (feed.buffer.size === 0 && feed.conn.bufferedAmount < highWater) feed.conn.send(tick);
        else if (feed.buffer.push(tick)) stats.dropped++;
        stats.maxBuffered = Math.max(stats.maxBuffered, feed.buffer.size);
      }
    }
    for (const feed of feeds) feed.flush();
  }, 1);
  wss.on("close", () => clearInterval(timer));
  await wss.ready;
  return { wss, stats };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const { wss, stats } = await start({ port: Number(process.argv[2] ?? 8082) });
  console.log(`tick stream on ${wss.url}`);
  setInterval(() => console.log(JSON.stringify(stats)), 2000).unref();
  process.once("SIGINT", () => void wss.close().then(() => process.exit(0)));
}
