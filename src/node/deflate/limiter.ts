/**
 * A FIFO concurrency limiter for zlib work. zlib's async calls run on libuv's thread pool (4
 * threads by default, shared with fs and dns); thousands of concurrent deflates fragment memory
 * badly (nodejs/node#8871, ws#1202) and starve the pool. One limiter is shared by every
 * connection of a server (or of the process, by default), so the bound is global, not per
 * connection.
 *
 * Contract: `run(job)` starts `job` once fewer than `concurrency` jobs are running, in call
 * order, and settles like the job's promise. A job that throws synchronously rejects.
 */

/** Default concurrent zlib jobs: 10, as ws (above the 4 pool threads so they never idle). */
export const DEFAULT_ZLIB_CONCURRENCY = 10;

export class ZlibLimiter {
  readonly concurrency: number;
  #active = 0;
  #queue: Array<() => void> = [];
  #head = 0;

  constructor(concurrency: number = DEFAULT_ZLIB_CONCURRENCY) {
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError("concurrency must be an integer >= 1");
    this.concurrency = concurrency;
  }

  /** Jobs running now. */
  get active(): number {
    return this.#active;
  }

  /** Jobs waiting for a slot. */
  get pending(): number {
    return this.#queue.length - this.#head;
  }

  run<T>(job: () => Promise<T>): Promise<T> {
    if (this.#active < this.concurrency) {
      this.#active++;
      return this.#start(job);
    }
    return new Promise<void>((resolve) => {
      this.#queue.push(resolve);
    }).then(() => this.#start(job));
  }

  #start<T>(job: () => Promise<T>): Promise<T> {
    let promise: Promise<T>;
    try {
      promise = job();
    } catch (error) {
      promise = Promise.reject(error);
    }
    return promise.finally(() => this.#release());
  }

  #release(): void {
    if (this.#head < this.#queue.length) {
      // Hand the slot over directly: `active` stays the same.
      const next = this.#queue[this.#head]!;
      this.#queue[this.#head++] = undefined as unknown as () => void;
      if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
        this.#queue = this.#queue.slice(this.#head);
        this.#head = 0;
      }
      next();
    } else {
      this.#active--;
      if (this.#head !== 0) {
        this.#queue = [];
        this.#head = 0;
      }
    }
  }
}

let processLimiter: ZlibLimiter | undefined;

/** The limiter shared by every deflate extension created without its own `concurrency`. */
export function sharedZlibLimiter(): ZlibLimiter {
  processLimiter ??= new ZlibLimiter(DEFAULT_ZLIB_CONCURRENCY);
  return processLimiter;
}
