// A fixed-bucket latency histogram: 1 us buckets below 10 ms, 100 us buckets up to 1 s.
// Contract: `record(us)` is O(1) and allocation-free (the load generator calls it per message);
// `percentile(p)` answers from bucket upper bounds; `toJSON`/`fromJSON` let workers ship it.
const FINE = 10_000; // 1 us buckets: [0, 10 ms)
const COARSE = 10_000; // 100 us buckets: [10 ms, 1 s]

export class Histogram {
  counts = new Uint32Array(FINE + COARSE + 1);
  total = 0;

  record(us) {
    let b;
    if (us < FINE) b = us < 0 ? 0 : Math.floor(us);
    else b = Math.min(FINE + Math.floor((us - FINE) / 100), FINE + COARSE);
    this.counts[b]++;
    this.total++;
  }

  reset() {
    this.counts.fill(0);
    this.total = 0;
  }

  merge(other) {
    for (let i = 0; i < this.counts.length; i++) this.counts[i] += other.counts[i];
    this.total += other.total;
  }

  /** The latency in microseconds below which `p` (0..1) of the samples fall; NaN when empty. */
  percentile(p) {
    if (this.total === 0) return Number.NaN;
    const target = Math.max(1, Math.ceil(this.total * p));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i];
      if (seen >= target) return i < FINE ? i + 1 : FINE + (i - FINE + 1) * 100;
    }
    return Number.NaN;
  }

  /** Sparse form: [[bucket, count], ...]. */
  toJSON() {
    const out = [];
    for (let i = 0; i < this.counts.length; i++) if (this.counts[i] !== 0) out.push([i, this.counts[i]]);
    return out;
  }

  static fromJSON(pairs) {
    const h = new Histogram();
    for (const [i, c] of pairs) {
      h.counts[i] += c;
      h.total += c;
    }
    return h;
  }
}
