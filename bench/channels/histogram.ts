/** Latency histogram for the fan-out benchmark: 10 µs buckets up to 10 s, shipped sparse over IPC. */
const BUCKETS = 1_000_000;

export class Histogram {
  readonly counts = new Uint32Array(BUCKETS + 1);
  total = 0;

  recordMs(ms: number): void {
    const b = Math.min(BUCKETS, Math.max(0, Math.floor(ms * 100)));
    this.counts[b]++;
    this.total++;
  }

  merge(pairs: Array<[number, number]>): void {
    for (const [i, c] of pairs) {
      this.counts[i] += c;
      this.total += c;
    }
  }

  /** Milliseconds below which a fraction `p` of the samples fall (bucket upper bound). */
  percentileMs(p: number): number {
    if (this.total === 0) return Number.NaN;
    const target = Math.max(1, Math.ceil(this.total * p));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i];
      if (seen >= target) return (i + 1) / 100;
    }
    return Number.NaN;
  }

  toJSON(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    for (let i = 0; i < this.counts.length; i++) if (this.counts[i] !== 0) out.push([i, this.counts[i]]);
    return out;
  }

  reset(): void {
    this.counts.fill(0);
    this.total = 0;
  }
}

/** Wall-clock milliseconds with sub-millisecond precision, comparable across local processes. */
export const nowMs = (): number => performance.timeOrigin + performance.now();
